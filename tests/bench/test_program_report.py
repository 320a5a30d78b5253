"""The figures of ``aios bench SCRIPT`` from copies' results: re-runs, causes, cost, verdict."""

from __future__ import annotations

import pytest

from aios.bench import program_report
from aios.bench.program import Batch, CopyResult, Mode, Plan, Program

LABELS = {"without": "without aios", "with": "with aios"}


def _copy(i: int, code: int | None, *, error: str | None = None, wall: float = 1.0) -> CopyResult:
    return CopyResult(
        copy=i,
        exit_code=code,
        wall_s=wall,
        requests=2,
        by_status={"200": 1, "429": 1} if code else {"200": 2},
        boot_s=[0.1],
        llm_calls=2,
        input_tokens=10,
        output_tokens=5,
        tokens_by_model={"gpt-4o-mini": [10, 5]},
        llm_errors=["RateLimitError"] if error and "RateLimit" in error else [],
        error=error,
        log="",
    )


def _batches(mode: str) -> list[Batch]:
    main = Batch(
        mode,
        0,
        0,
        [
            _copy(0, 0, wall=2.0),
            _copy(1, 1, error="openai.RateLimitError: Error code: 429"),
            _copy(2, 1, error="ValueError: bad input"),
        ],
        makespan_s=3.0,
        sim_stats=None,
    )
    rerun = Batch(mode, 0, 1, [_copy(1, 0, wall=4.0)], makespan_s=4.0, sim_stats=None)
    return [main, rerun]


def test_a_copy_failing_on_its_own_keeps_all_done_open() -> None:
    run = program_report.summarize(_batches("without"), LABELS)
    assert (run["succeeded"], run["failed_llm"], run["failed_program"]) == (1, 1, 1)
    assert run["errors"] == ["RateLimitError", "ValueError"]
    assert run["all_done_s"] is None and run["all_done_at_least_s"] == 7.0
    assert run["rate_limited_429"] == 2 and run["wasted_requests"] == 2 and run["requests"] == 6


def test_all_done_adds_the_reruns_once_every_copy_succeeded() -> None:
    batches = _batches("with")
    batches[0].copies.pop()  # no copy failing on its own
    run = program_report.summarize(batches, LABELS)
    assert run["all_done_s"] == 7.0 and run["rerun_rounds"] == 1
    assert run["completion_times"] == [2.0]


def test_cost_comes_from_the_shipped_prices_and_needs_one_for_every_model() -> None:
    price = program_report.PRICES.lookup("gpt-4o-mini")
    assert price is not None
    per_copy = price.cost(10, 5)  # each copy's tokens_by_model
    assert program_report.summarize(_batches("with"), LABELS)["cost_usd"] == pytest.approx(3 * per_copy)
    assert program_report.cost_usd({"gpt-4o-mini": [10, 5], "a-model-nobody-prices": [1, 1]}) is None


def test_the_verdict_tells_the_causes_apart() -> None:
    plan = Plan(
        Program("app.py", None),
        [Mode("without", "without aios", "observe"), Mode("with", "with aios", "aios")],
        copies=3,
    )
    result = program_report.build(plan, [*_batches("without"), *_batches("with")])
    text = result["verdict"]
    assert (
        "Without aios 1 of 3 copies succeeded; 1 failed on an LLM call (RateLimitError, ValueError)"
        not in text
    )
    assert "1 failed on an LLM call" in text and "1 failed on their own" in text
    assert "that is the program, not the provider" in text
    assert "observe mode" in text
