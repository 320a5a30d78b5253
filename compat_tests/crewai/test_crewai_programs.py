"""Unmodified crewai programs, run plainly and under ``aios run`` against the sim."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from compat_tests.harness import calls_by_agent, llm_calls, run_program, syscalls, tools_by_agent

pytest.importorskip("crewai")

PROGRAMS = Path(__file__).parent / "programs"


def _both(sim: object, program: str, **kwargs: object) -> tuple[object, object]:
    plain = run_program(sim, [str(PROGRAMS / program)], aios=False, **kwargs).check()  # type: ignore[arg-type]
    under = run_program(sim, [str(PROGRAMS / program)], aios=True, **kwargs).check()  # type: ignore[arg-type]
    assert under.stdout == plain.stdout
    assert under.report is not None, under.stderr
    # Every request the provider saw was one LLM syscall, and none went around the kernel.
    assert llm_calls(under.report) == under.sim_stats["requests"] == plain.sim_stats["requests"]
    assert all(r["status"] == "done" for r in syscalls(under.report))
    return plain, under


def test_single_agent_with_a_tool(sim: object) -> None:
    _, under = _both(sim, "single_agent_tool.py")
    report = under.report  # type: ignore[attr-defined]
    assert set(calls_by_agent(report, "llm")) == {"Counter"}
    assert tools_by_agent(report) == {"Counter": Counter({"word_count": 1})}
    assert report["groups"] == {"counting": ["Counter"]}


def test_two_agent_sequential_crew(sim: object) -> None:
    _, under = _both(sim, "two_agent_crew.py")
    report = under.report  # type: ignore[attr-defined]
    assert set(calls_by_agent(report, "llm")) == {"Researcher", "Writer"}
    assert tools_by_agent(report) == {"Researcher": Counter({"word_count": 1})}
    assert report["groups"] == {"newsroom": ["Researcher", "Writer"]}
    assert {r["framework"] for r in syscalls(report, "tool")} == {"crewai"}


def test_concurrent_crews_are_attributed_and_limited(slow_sim: object) -> None:
    plain, under = _both(slow_sim, "concurrent_crews.py")
    report = under.report  # type: ignore[attr-defined]
    scouts = {f"Scout {i}" for i in range(4)}
    assert set(calls_by_agent(report, "llm")) == scouts
    assert tools_by_agent(report) == {s: Counter({"lookup": 1}) for s in scouts}
    assert report["groups"] == {f"crew-{i}": [f"Scout {i}"] for i in range(4)}
    assert plain.sim_stats["max_in_flight"] > 1  # type: ignore[attr-defined]

    limited = run_program(
        slow_sim, [str(PROGRAMS / "concurrent_crews.py")], aios=True,  # type: ignore[arg-type]
        aios_args=["--max-concurrency", "1"],
    ).check()
    assert limited.stdout == plain.stdout  # type: ignore[attr-defined]
    assert limited.sim_stats["max_in_flight"] == 1
    assert llm_calls(limited.report) == limited.sim_stats["requests"]
