"""``aios bench`` on real framework programs, 4 copies at once against a rate-limited sim.

Each test takes half a minute or more (4 framework processes per mode), hence the longer timeouts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import PROGRAMS, assert_agrees_with_sim, run_bench

# Two requests a second after a burst of 3 (the sim's minute lasts 1.5 s): 4 copies exceed it.
COPIES = 4
LIMITS = ["--copies", str(COPIES), "--rpm", "3", "--time-scale", "40"]


def _check(result: dict, llm_calls_per_copy: int) -> None:
    assert_agrees_with_sim(result)
    by_mode = {r["mode"]: r for r in result["runs"]}
    assert set(by_mode) == {"without", "with"}
    with_aios = by_mode["with"]
    # The kernel knows the sim's limits: every copy gets through, whatever the copies without it did.
    assert with_aios["succeeded"] == COPIES, with_aios["batches"][0]["copies"]
    assert with_aios["llm_calls"] >= COPIES * llm_calls_per_copy
    # The tokens aios accounted are the tokens the sim served.
    assert with_aios["input_tokens"] == with_aios["sim"]["input_tokens"]
    assert with_aios["output_tokens"] == with_aios["sim"]["output_tokens"]
    for run in result["runs"]:
        for copy in run["batches"][0]["copies"]:
            assert copy["ok"] or copy["cause"] == "llm", copy  # these programs only fail on the provider
    assert "With aios" in result["verdict"] and "Without aios" in result["verdict"]
    assert "observe mode" in result["_stdout"]


@pytest.mark.timeout(420)
def test_langchain_agent(out: Path) -> None:
    result = run_bench([*LIMITS, "--reruns", "1", str(PROGRAMS / "langchain_agent.py"), "{copy}"], out)
    _check(result, llm_calls_per_copy=2)


@pytest.mark.timeout(420)
def test_openai_agents_handoff(out: Path) -> None:
    result = run_bench([*LIMITS, "--reruns", "0", str(PROGRAMS / "agents_handoff.py")], out)
    _check(result, llm_calls_per_copy=3)


@pytest.mark.timeout(600)
def test_crewai_crew(out: Path) -> None:
    pytest.importorskip("crewai")
    result = run_bench([*LIMITS, "--reruns", "0", str(PROGRAMS / "crewai_crew.py")], out)
    _check(result, llm_calls_per_copy=2)
