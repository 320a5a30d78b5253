"""An ordinary multi-file project (package, relative imports, .env) started with ``aios run -m``."""

from __future__ import annotations

from pathlib import Path

import pytest

from compat_tests.harness import llm_calls, run_program

pytest.importorskip("openai")

PROJECT = Path(__file__).parent / "projects" / "support_bot"
ARGV = ["-m", "support_bot.main"]


def test_same_output_and_every_request_is_a_syscall(sim) -> None:  # type: ignore[no-untyped-def]
    plain = run_program(sim, ARGV, aios=False, cwd=PROJECT).check()
    assert plain.sim_stats["requests"] == 4
    under = run_program(sim, ARGV, aios=True, cwd=PROJECT).check()
    assert under.stdout == plain.stdout
    assert under.stdout.startswith("Helper answered 4 questions\n")
    assert llm_calls(under.report) == under.sim_stats["requests"] == 4
    assert under.report is not None
    assert {r["status"] for r in under.report["syscalls"]} == {"done"}
    out_tokens = sum(a["output_tokens"] for a in under.report["agents"].values())
    assert out_tokens == under.sim_stats["output_tokens"]


def test_max_concurrency_caps_requests_in_flight(slow_sim) -> None:  # type: ignore[no-untyped-def]
    plain = run_program(slow_sim, ARGV, aios=False, cwd=PROJECT).check()
    assert plain.sim_stats["max_in_flight"] > 1  # four worker threads overlap without aios
    capped = run_program(slow_sim, ARGV, aios=True, aios_args=["--max-concurrency", "1"], cwd=PROJECT).check()
    assert capped.stdout == plain.stdout
    assert capped.sim_stats["max_in_flight"] == 1
    assert llm_calls(capped.report) == capped.sim_stats["requests"] == 4
    waits = [r["waiting_s"] for r in capped.report["syscalls"]] if capped.report else []
    assert max(waits) > 0.1  # calls queued behind each other in the kernel
