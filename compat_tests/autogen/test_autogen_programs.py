"""AutoGen programs, unchanged, run plain and under ``aios run`` against the sim."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("autogen_agentchat")

from aios.sim.process import SimServer
from compat_tests.harness import Run, calls_by_agent, llm_calls, run_program, syscalls, tools_by_agent

PROGRAMS = Path(__file__).parent / "programs"


def both(sim: SimServer, program: str) -> tuple[Run, Run]:
    argv = [str(PROGRAMS / program)]
    plain = run_program(sim, argv, aios=False).check()
    under = run_program(sim, argv, aios=True).check()
    assert under.stdout == plain.stdout
    assert under.report is not None, under.stderr
    # One logical LLM call is one syscall: exactly the requests the provider saw.
    assert llm_calls(under.report) == under.sim_stats["requests"] == plain.sim_stats["requests"]
    assert {r["status"] for r in syscalls(under.report)} == {"done"}
    return plain, under


def test_single_agent_with_tools_and_streaming(sim: SimServer) -> None:
    _, run = both(sim, "agent_tools.py")
    assert set(calls_by_agent(run.report)) == {"weather_agent", "stream_agent"}
    assert calls_by_agent(run.report)["weather_agent"] == 1
    tools = {agent: dict(counts) for agent, counts in tools_by_agent(run.report).items()}
    # get_weather is sync: autogen runs it in an executor thread, and it is still the agent's.
    assert tools == {"weather_agent": {"get_weather": 1, "get_time": 1}, "stream_agent": {"get_time": 1}}
    assert {r["group"] for r in syscalls(run.report)} == {None}


def test_team_calls_are_the_members_in_the_team_group(sim: SimServer) -> None:
    plain, run = both(sim, "team.py")
    assert "stop: Maximum number of messages 6 reached" in plain.stdout
    assert set(calls_by_agent(run.report)) == {"writer", "researcher"}
    assert set(tools_by_agent(run.report)) == {"researcher"}
    assert {r["group"] for r in syscalls(run.report)} == {"newsroom"}
    assert run.report["groups"] == {"newsroom": ["researcher", "writer"]}


def test_max_concurrency_one_serializes_concurrent_agents(slow_sim: SimServer) -> None:
    argv = [str(PROGRAMS / "concurrent_agents.py")]
    plain = run_program(slow_sim, argv, aios=False).check()
    limited = run_program(slow_sim, argv, aios=True, aios_args=["--max-concurrency", "1"]).check()
    assert limited.stdout == plain.stdout
    assert plain.sim_stats["max_in_flight"] > 1
    assert limited.sim_stats["max_in_flight"] == 1
    assert limited.report is not None
    assert calls_by_agent(limited.report) == {f"guide_{c}": 1 for c in ("lima", "oslo", "pune", "rome")}
    assert llm_calls(limited.report) == limited.sim_stats["requests"] == 4
