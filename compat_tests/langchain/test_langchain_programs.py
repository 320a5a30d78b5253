"""langchain / langgraph programs, unchanged, run plain and under ``aios run`` against the sim."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("langchain")

from aios.sim.process import SimServer
from compat_tests.harness import Run, calls_by_agent, llm_calls, run_program, syscalls, tools_by_agent

PROGRAMS = Path(__file__).parent / "programs"
GUIDES = [f"guide_{c}" for c in ("lima", "oslo", "pune", "rome")]


def both(sim: SimServer, program: str, aios_args: tuple[str, ...] = ()) -> tuple[Run, Run]:
    argv = [str(PROGRAMS / program)]
    plain = run_program(sim, argv, aios=False).check()
    under = run_program(sim, argv, aios=True, aios_args=aios_args).check()
    assert under.stdout == plain.stdout
    assert under.report is not None, under.stderr
    # One logical LLM call is one syscall: exactly the requests the provider saw.
    assert llm_calls(under.report) == under.sim_stats["requests"] == plain.sim_stats["requests"]
    assert {r["status"] for r in syscalls(under.report)} == {"done"}
    return plain, under


def _tools(run: Run) -> dict[str, dict[str, int]]:
    return {agent: dict(counts) for agent, counts in tools_by_agent(run.report).items()}


def test_named_agents_with_tools_sync_invoke(sim: SimServer) -> None:
    plain, run = both(sim, "agents_tools.py")
    assert plain.stdout.splitlines()[0].startswith("researcher 5 ['add', 'multiply']")
    assert calls_by_agent(run.report) == {"researcher": 2, "writer": 2}
    assert _tools(run) == {"researcher": {"add": 1, "multiply": 1}, "writer": {"word_count": 1}}


def test_concurrent_agents_with_sync_and_async_tools(sim: SimServer) -> None:
    _, run = both(sim, "concurrent_agents.py")
    assert calls_by_agent(run.report) == {name: 2 for name in GUIDES}
    assert _tools(run) == {name: {"population": 1, "local_time": 1} for name in GUIDES}
    assert calls_by_agent(run.report, "tool") == {name: 2 for name in GUIDES}


def test_message_streaming_and_bare_model_streams(sim: SimServer) -> None:
    plain, run = both(sim, "stream_messages.py")
    assert plain.stdout.splitlines()[0] == "agent ['model', 'tools', 'model'] True"
    # The agent's calls are its own; the bare model's streams belong to the program.
    assert calls_by_agent(run.report) == {"streamer": 2, "stream_messages": 2}
    assert _tools(run) == {"streamer": {"lookup": 1}}
    streams = [r for r in syscalls(run.report, "llm") if r["agent"] == "stream_messages"]
    assert len(streams) == 2


def test_max_concurrency_one_serializes_concurrent_agents(slow_sim: SimServer) -> None:
    argv = [str(PROGRAMS / "concurrent_agents.py")]
    plain = run_program(slow_sim, argv, aios=False).check()
    limited = run_program(slow_sim, argv, aios=True, aios_args=["--max-concurrency", "1"]).check()
    assert limited.stdout == plain.stdout
    assert plain.sim_stats["max_in_flight"] > 1
    assert limited.sim_stats["max_in_flight"] == 1
    assert limited.report is not None
    assert calls_by_agent(limited.report) == {name: 2 for name in GUIDES}
    assert llm_calls(limited.report) == limited.sim_stats["requests"] == 8
