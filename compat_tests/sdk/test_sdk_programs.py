"""Plain openai/anthropic SDK programs run unchanged, plainly and under ``aios run``."""

from __future__ import annotations

from pathlib import Path

import pytest

from aios.sim.process import SimServer
from compat_tests.harness import Run, calls_by_agent, llm_calls, run_program, syscalls

pytest.importorskip("openai")
pytest.importorskip("anthropic")

PROGRAMS = Path(__file__).parent / "programs"
#: program -> (the framework its LLM syscalls are attributed to, LLM calls it makes)
CASES = {
    "openai_tool_loop.py": ("openai", 2),
    "openai_async_concurrent.py": ("openai", 8),
    "openai_streaming.py": ("openai", 4),
    "anthropic_tool_loop.py": ("anthropic", 3),
}


def _both(sim: SimServer, program: str, aios_args: tuple[str, ...] = ()) -> tuple[Run, Run]:
    argv = [str(PROGRAMS / program)]
    plain = run_program(sim, argv, aios=False).check()
    under = run_program(sim, argv, aios=True, aios_args=aios_args).check()
    return plain, under


@pytest.mark.parametrize("program", sorted(CASES))
def test_same_output_and_every_call_is_a_syscall(sim: SimServer, program: str) -> None:
    framework, calls = CASES[program]
    plain, under = _both(sim, program)
    assert under.stdout == plain.stdout
    assert plain.sim_stats["requests"] == under.sim_stats["requests"] == calls
    assert llm_calls(under.report) == under.sim_stats["requests"]
    records = syscalls(under.report, "llm")
    assert {r["framework"] for r in records} == {framework}
    assert {r["status"] for r in records} == {"done"}
    # The program's name is the agent when nothing names one.
    assert calls_by_agent(under.report) == {Path(program).stem: calls}
    # Usage read from responses and streams adds up to what the provider counted (streams
    # without a usage chunk report none, so only programs that always get usage compare equal).
    if program != "openai_streaming.py":
        assert sum(r["input_tokens"] for r in records) == under.sim_stats["input_tokens"]
        assert sum(r["output_tokens"] for r in records) == under.sim_stats["output_tokens"]


def test_max_concurrency_one_serialises_the_concurrent_program(slow_sim: SimServer) -> None:
    plain, under = _both(slow_sim, "openai_async_concurrent.py", ("--max-concurrency", "1"))
    assert under.stdout == plain.stdout
    assert plain.sim_stats["max_in_flight"] > 1
    assert under.sim_stats["max_in_flight"] == 1
    assert llm_calls(under.report) == under.sim_stats["requests"] == 8
