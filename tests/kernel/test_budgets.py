"""Budgets by reservation: checked and reserved in one step at admission, settled at the end."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest

from aios.errors import BudgetExceeded
from aios.kernel.failures import Usage
from aios.kernel.kernel import Kernel
from aios.kernel.lease import Lease
from aios.kernel.ledger import Charge, LocalLedger
from aios.kernel.syscall import Status, Syscall

from .conftest import MakeKernel


def llm(k: Kernel, agent: str = "a", **kw: Any) -> Syscall:
    kw.setdefault("api", "openai.chat")
    kw.setdefault("model", "m")
    kw.setdefault("base_url", "http://127.0.0.1:9/v1")
    return k.llm_syscall(agent=agent, **kw)


def reported(result: Any) -> tuple[Usage | None, Mapping[str, str] | None]:
    return Usage(*result), None


def charge(amount: float, limit: float = 10.0) -> Charge:
    return Charge("agent:a:tokens", amount, limit, "agents.a.token_budget")


def test_ledger_reserves_all_or_nothing_and_settles_actual_use() -> None:
    ledger = LocalLedger()
    other = Charge("run:r:llm_calls", 1, 1, "max_llm_calls", unit="LLM calls")
    assert ledger.reserve([charge(6), other]) is None
    short = ledger.reserve([charge(1), other])
    assert short is not None and short.charge.key == "run:r:llm_calls"
    assert ledger.line("agent:a:tokens") == (0.0, 6.0)  # the first line was not reserved twice
    assert short.may_fit_later  # the call in flight may end without running and give it back
    short = ledger.reserve([charge(5)])
    assert short is not None and short.may_fit_later and short.reserved == 6
    ledger.settle([charge(6), other], [2.0, 1.0])
    assert ledger.line("agent:a:tokens") == (2.0, 0.0)
    assert ledger.reserve([charge(5)]) is None
    assert "agents.a.token_budget" in (ledger.reserve([charge(9)]) or pytest.fail()).describe()


def test_a_call_that_can_never_fit_fails_at_once(make_kernel: MakeKernel) -> None:
    k = make_kernel(agents={"a": {"token_budget": 100}})
    sc = llm(k, input_tokens=10, max_tokens=200)
    with pytest.raises(BudgetExceeded, match=r"needs 210 tokens of `agents\.a\.token_budget` = 100"):
        k.call(sc, lambda lease: (1, 1), outcome=reported)
    assert sc.status is Status.FAILED and "BudgetExceeded" in (sc.error or "")
    assert k.report()["agents"]["a"]["errors"] == 1  # the refused call is accounted, not lost


def test_concurrent_calls_never_overshoot_the_token_budget(make_kernel: MakeKernel) -> None:
    """100 threads at once against a budget of 300 tokens: each reserves 30 before it runs."""
    k = make_kernel(agents={"a": {"token_budget": 300}}, max_concurrency=100)
    gate = threading.Barrier(100)
    outcomes: list[str] = []

    def agent() -> None:
        gate.wait()
        try:
            k.call(llm(k, input_tokens=10, max_tokens=20), lambda lease: (10, 20), outcome=reported)
            outcomes.append("done")
        except BudgetExceeded:
            outcomes.append("refused")

    threads = [threading.Thread(target=agent) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    tally = k.report()["agents"]["a"]
    assert len(outcomes) == 100
    assert outcomes.count("done") == 10
    assert tally["input_tokens"] + tally["output_tokens"] == 300


def test_a_call_waits_while_calls_in_flight_may_give_tokens_back(make_kernel: MakeKernel) -> None:
    k = make_kernel(agents={"a": {"token_budget": 100}}, max_concurrency=4)
    first = llm(k, max_tokens=80)
    lease = k.acquire(first)
    second = llm(k, max_tokens=50)
    got: list[Lease] = []
    waiter = threading.Thread(target=lambda: got.append(k.acquire(second)))
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive() and second.status is Status.QUEUED  # 80 reserved + 50 > 100: waits
    lease.succeed(usage=Usage(5, 5))  # used 10 of its 80: the rest comes back
    waiter.join(5)
    assert got and second.status is Status.RUNNING
    got[0].succeed(usage=Usage(10, 40))
    assert k.scheduler.ledger.line("agent:a:tokens") == (60.0, 0.0)


def test_a_queued_call_is_checked_again_when_admitted(make_kernel: MakeKernel) -> None:
    """Within budget at submit, over it by the time its turn comes: it fails, never runs."""
    k = make_kernel(
        agents={"a": {"token_budget": 100}},
        cores=[{"name": "one", "api": "openai", "max_concurrency": 1, "learn_limits": False}],
        routes=[{"match": "*", "core": "one"}],
    )
    first = llm(k, max_tokens=40)
    lease = k.acquire(first)
    second = llm(k, max_tokens=40)  # fits next to the first (40 + 40 <= 100): it waits for the slot
    errors: list[BaseException] = []

    def run() -> None:
        try:
            k.acquire(second)
        except BudgetExceeded as exc:
            errors.append(exc)

    waiter = threading.Thread(target=run)
    waiter.start()
    waiter.join(0.3)
    assert second.status is Status.QUEUED
    lease.succeed(usage=Usage(30, 60))  # used 90, more than its estimate
    waiter.join(5)
    assert len(errors) == 1 and second.status is Status.FAILED
    assert "90 are used" in str(errors[0])


async def test_async_callers_get_the_budget_error_too(make_kernel: MakeKernel) -> None:
    k = make_kernel(agents={"a": {"token_budget": 10}})

    async def perform(lease: Lease) -> tuple[int, int]:
        return (1, 1)

    with pytest.raises(BudgetExceeded):
        await k.acall(llm(k, max_tokens=20), perform, outcome=reported)
