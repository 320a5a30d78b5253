"""openai-agents programs run unchanged, plainly and under ``aios run``, against the sim."""

from __future__ import annotations

from pathlib import Path

import pytest

from aios.sim.process import SimServer
from compat_tests.harness import Run, calls_by_agent, llm_calls, run_program, syscalls, tools_by_agent

pytest.importorskip("agents")

PROGRAMS = Path(__file__).parent / "programs"
SINGLE = str(PROGRAMS / "single_agent_tools.py")
TRIAGE = str(PROGRAMS / "triage_handoff.py")
REQUESTS = 6  # in triage_handoff.py: three billing, three shipping


def plain_and_aios(sim: SimServer, argv: list[str]) -> tuple[Run, Run]:
    plain = run_program(sim, argv, aios=False).check()
    under = run_program(sim, argv, aios=True).check()
    return plain, under


@pytest.mark.parametrize("mode", ["sync", "async", "stream", "chat"])
def test_single_agent_with_tools(sim: SimServer, mode: str) -> None:
    plain, under = plain_and_aios(sim, [SINGLE, mode])
    assert under.stdout == plain.stdout
    assert "weather in Lisbon: sunny" in plain.stdout and "time in Lisbon: 14:05" in plain.stdout
    assert under.report is not None
    # One round of both tools, then the answer: two model calls, each a syscall of the agent.
    assert calls_by_agent(under.report) == {"assistant": 2}
    assert llm_calls(under.report) == under.sim_stats["requests"] == plain.sim_stats["requests"]
    assert tools_by_agent(under.report) == {"assistant": {"get_weather": 1, "get_local_time": 1}}
    assert {r["status"] for r in syscalls(under.report)} == {"done"}
    endpoint = "POST /v1/chat/completions" if mode == "chat" else "POST /v1/responses"
    assert set(under.sim_stats["by_endpoint"]) == {endpoint}


def test_triage_handoffs_run_concurrently(sim: SimServer) -> None:
    plain, under = plain_and_aios(sim, [TRIAGE])
    assert under.stdout == plain.stdout
    lines = plain.stdout.splitlines()
    assert len(lines) == REQUESTS
    assert all(f"-> {line[1:].split(']')[0]}:" in line for line in lines)  # routed by topic
    assert under.report is not None
    # Triage decides once per request; each specialist then calls its tool and answers.
    assert calls_by_agent(under.report) == {"triage": 6, "billing": 6, "shipping": 6}
    assert llm_calls(under.report) == under.sim_stats["requests"] == plain.sim_stats["requests"]
    assert tools_by_agent(under.report) == {"billing": {"lookup_invoice": 3}, "shipping": {"track_parcel": 3}}


def test_max_concurrency_one_serialises_the_concurrent_program(slow_sim: SimServer) -> None:
    plain = run_program(slow_sim, [TRIAGE], aios=False).check()
    assert plain.sim_stats["max_in_flight"] > 1
    limited = run_program(slow_sim, [TRIAGE], aios=True, aios_args=["--max-concurrency", "1"]).check()
    assert limited.sim_stats["max_in_flight"] == 1
    assert limited.stdout == plain.stdout
    assert llm_calls(limited.report) == limited.sim_stats["requests"] == 3 * REQUESTS
