"""The Kernel: gated calls sync and async, retries, tools, access rules, budgets, observers,
the report, cancellation, shutdown and leases bound to streams."""

from __future__ import annotations

import asyncio
import gc
import itertools
import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

from aios.errors import AccessDenied, BudgetExceeded, KernelShutdown, SyscallCancelled, ToolTimeout
from aios.kernel.clock import ManualClock
from aios.kernel.failures import Failure, Usage
from aios.kernel.kernel import Kernel
from aios.kernel.lease import Lease
from aios.kernel.syscall import Status, Syscall

from .conftest import MakeKernel

SYSCALL_KEYS = {
    "id",
    "kind",
    "agent",
    "framework",
    "model",
    "tool",
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "waiting_s",
    "turnaround_s",
    "input_tokens",
    "output_tokens",
    "retries",
    "error",
}
AGENT_KEYS = {
    "llm_calls",
    "tool_calls",
    "input_tokens",
    "output_tokens",
    "waiting_s",
    "turnaround_s",
    "errors",
}


def llm(k: Kernel, agent: str = "a", **kw: Any) -> Syscall:
    kw.setdefault("api", "openai.chat")
    kw.setdefault("model", "m")
    kw.setdefault("base_url", "http://127.0.0.1:9/v1")
    return k.llm_syscall(agent=agent, **kw)


def status(sc: Syscall) -> Status:
    """Read the status afresh (it changes under mypy's narrowed feet)."""
    return sc.status


def core_of(k: Kernel, sc: Syscall) -> Any:
    return k.scheduler.cores[sc.candidates[0]]


def bucket(k: Kernel, sc: Syscall, name: str) -> Any:
    """A rate bucket of ``sc``'s core as the kernel reports it (same on every backend)."""
    return core_of(k, sc).describe(k.clock.now())["buckets"][name]


def usage(result: Any) -> tuple[Usage | None, Mapping[str, str] | None]:
    return Usage(*result), None


class Boom(Exception):
    pass


def wait_until(pred: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.001)


# -- sync and async calls ------------------------------------------------------------------------------


def test_call_runs_once_and_accounts(make_kernel: MakeKernel) -> None:
    k = make_kernel()
    sc = llm(k, input_tokens=10, max_tokens=5, framework="openai")
    seen: list[Lease] = []

    def perform(lease: Lease) -> tuple[int, int]:
        seen.append(lease)
        assert lease.active and sc.status is Status.RUNNING
        return (12, 3)

    assert k.call(sc, perform, outcome=usage) == (12, 3)
    assert len(seen) == 1
    assert sc.status is Status.DONE
    assert (sc.input_tokens, sc.output_tokens) == (12, 3)
    report = k.report()
    (rec,) = report["syscalls"]
    assert rec["status"] == "done" and rec["agent"] == "a" and rec["framework"] == "openai"
    assert report["agents"]["a"]["llm_calls"] == 1
    assert report["agents"]["a"]["input_tokens"] == 12
    assert core_of(k, sc).in_use == 0


async def test_acall_runs_on_the_callers_loop(make_kernel: MakeKernel) -> None:
    k = make_kernel()
    sc = llm(k)
    loop = asyncio.get_running_loop()

    async def perform(lease: Lease) -> str:
        assert asyncio.get_running_loop() is loop
        await asyncio.sleep(0)
        return "ok"

    assert await k.acall(sc, perform) == "ok"
    assert sc.status is Status.DONE


async def test_acall_waits_without_blocking_the_loop(make_kernel: MakeKernel) -> None:
    k = make_kernel(max_concurrency=1)
    gate = asyncio.Event()
    order: list[str] = []

    async def hold(lease: Lease) -> None:
        order.append("first runs")
        await gate.wait()

    async def second(lease: Lease) -> None:
        order.append("second runs")

    t1 = asyncio.create_task(k.acall(llm(k), hold))
    await asyncio.sleep(0.01)
    t2 = asyncio.create_task(k.acall(llm(k), second))
    await asyncio.sleep(0.01)
    assert order == ["first runs"]  # the loop still runs: we got here
    gate.set()
    await asyncio.wait_for(asyncio.gather(t1, t2), 5)
    assert order == ["first runs", "second runs"]


def test_perform_failure_that_is_not_retryable_fails_the_syscall(make_kernel: MakeKernel) -> None:
    k = make_kernel()
    sc = llm(k)
    calls = 0

    def perform(lease: Lease) -> None:
        nonlocal calls
        calls += 1
        raise Boom("bad request")

    with pytest.raises(Boom):
        k.call(sc, perform)
    assert calls == 1
    assert sc.status is Status.FAILED and sc.error == "Boom: bad request"
    assert k.report()["agents"]["a"]["errors"] == 1


# -- retries -------------------------------------------------------------------------------------------


def test_retry_after_pauses_the_core_and_max_retries_is_respected(make_kernel: MakeKernel) -> None:
    k = make_kernel(retry={"max_retries": 2})
    sc = llm(k)
    core = core_of(k, sc)
    attempts: list[float] = []

    def classify(exc: BaseException) -> Failure:
        return Failure(True, "rate_limit", status=429, retry_after=0.02, pause_core=True)

    def perform(lease: Lease) -> None:
        attempts.append(time.monotonic())
        raise Boom("429")

    with pytest.raises(Boom) as info:
        k.call(sc, perform, classify=classify)
    assert len(attempts) == 3  # the first try and max_retries=2 retries
    assert sc.retries == 2 and sc.status is Status.FAILED
    assert core.describe(k.clock.now())["pauses"] == 2  # each 429 paused the whole core
    assert all(b - a >= 0.019 for a, b in itertools.pairwise(attempts))
    assert any("gave up after 2 retries" in note for note in info.value.__notes__)
    assert k.report()["syscalls"][0]["retries"] == 2


def test_a_retry_that_succeeds(make_kernel: MakeKernel) -> None:
    attempts = 0

    def perform(lease: Lease) -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ConnectionError("reset")  # classify_generic: retryable
        return "ok"

    k = make_kernel(retry={"base_delay": 0.001, "max_delay": 0.01})
    sc = llm(k)
    assert k.call(sc, perform) == "ok"
    assert attempts == 3 and sc.retries == 2 and sc.status is Status.DONE


def test_quota_failure_is_not_retried_and_says_why(make_kernel: MakeKernel) -> None:
    k = make_kernel()
    sc = llm(k)
    calls = 0

    def perform(lease: Lease) -> None:
        nonlocal calls
        calls += 1
        raise Boom("spend limit reached")

    with pytest.raises(Boom) as info:
        k.call(sc, perform, classify=lambda e: Failure(False, "quota", status=429))
    assert calls == 1 and sc.retries == 0 and sc.status is Status.FAILED
    assert any("quota or spend limit" in note for note in info.value.__notes__)


async def test_async_retries(make_kernel: MakeKernel) -> None:
    k = make_kernel(retry={"max_retries": 1, "base_delay": 0.001})
    sc = llm(k)
    calls = 0

    async def perform(lease: Lease) -> None:
        nonlocal calls
        calls += 1
        raise TimeoutError("slow")

    with pytest.raises(TimeoutError):
        await k.acall(sc, perform)
    assert calls == 2 and sc.retries == 1


def test_failure_headers_teach_the_core_its_limits(make_kernel: MakeKernel) -> None:
    k = make_kernel(retry={"max_retries": 0})
    sc = llm(k)
    headers = {"x-ratelimit-limit-requests": "100", "x-ratelimit-remaining-requests": "0"}

    with pytest.raises(Boom):
        k.call(
            sc, lambda lease: (_ for _ in ()).throw(Boom()), classify=lambda e: Failure(True, headers=headers)
        )
    assert bucket(k, sc, "requests")["capacity"] == 100


# -- tools ---------------------------------------------------------------------------------------------


def test_run_tool_counts_and_passes_arguments(make_kernel: MakeKernel) -> None:
    k = make_kernel()
    assert k.run_tool("add", lambda x, y: x + y, 2, y=3, agent="t") == 5
    rep = k.report()
    assert rep["agents"]["t"]["tool_calls"] == 1
    assert rep["syscalls"][0]["tool"] == "add" and rep["syscalls"][0]["kind"] == "tool"


def test_run_tool_timeout_raises_and_never_runs_twice(make_kernel: MakeKernel) -> None:
    k = make_kernel(tools={"slow": {"timeout": 0.05}})
    runs = 0
    release = threading.Event()

    def slow() -> None:
        nonlocal runs
        runs += 1
        release.wait(5)

    with pytest.raises(ToolTimeout, match=r"'slow'.*0\.05s.*tools\.slow\.timeout"):
        k.run_tool("slow", slow)
    release.set()
    assert runs == 1
    (rec,) = k.report()["syscalls"]
    assert rec["status"] == "failed" and rec["retries"] == 0 and "ToolTimeout" in rec["error"]
    assert isinstance(ToolTimeout("x"), TimeoutError)


async def test_arun_tool_timeout(make_kernel: MakeKernel) -> None:
    k = make_kernel(default_tool={"timeout": 0.05})
    runs = 0

    async def slow() -> None:
        nonlocal runs
        runs += 1
        await asyncio.sleep(5)

    with pytest.raises(ToolTimeout):
        await k.arun_tool("slow", slow)
    assert runs == 1
    assert k.report()["syscalls"][0]["status"] == "failed"


async def test_arun_tool_ok_and_tool_error_is_not_retried(make_kernel: MakeKernel) -> None:
    k = make_kernel()

    async def fine() -> int:
        return 7

    assert await k.arun_tool("fine", fine) == 7
    runs = 0

    async def broken() -> None:
        nonlocal runs
        runs += 1
        raise ConnectionError("side effect happened")  # retryable for an LLM, never for a tool

    with pytest.raises(ConnectionError):
        await k.arun_tool("broken", broken)
    assert runs == 1


def test_tool_concurrency_limit(make_kernel: MakeKernel) -> None:
    k = make_kernel(tools={"db": {"concurrency": 1}})
    active = 0
    peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.01)
        with lock:
            active -= 1

    threads = [threading.Thread(target=k.run_tool, args=("db", work)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert peak == 1
    assert k.report()["by_status"] == {"done": 5}


# -- access rules and budgets ----------------------------------------------------------------------------


def test_access_rules(make_kernel: MakeKernel) -> None:
    k = make_kernel(agents={"intern": {"allowed_models": ["gpt-4o-mini*"], "allowed_tools": ["search"]}})
    assert k.call(llm(k, "intern", model="gpt-4o-mini-2024"), lambda lease: 1) == 1
    ran = False

    def perform(lease: Lease) -> None:
        nonlocal ran
        ran = True

    with pytest.raises(AccessDenied, match=r"'intern' may not call model 'gpt-4o'.*allowed_models"):
        k.call(llm(k, "intern", model="gpt-4o"), perform)
    with pytest.raises(AccessDenied, match=r"may not run tool 'shell'.*allowed_tools"):
        k.run_tool("shell", perform, agent="intern")
    assert not ran
    assert k.run_tool("search", lambda: "hits", agent="intern") == "hits"
    assert k.call(llm(k, "boss", model="gpt-4o"), lambda lease: 2) == 2  # no rules for boss
    assert k.report()["by_status"] == {"done": 3, "failed": 2}


def test_token_budget(make_kernel: MakeKernel) -> None:
    k = make_kernel(agents={"a": {"token_budget": 100}})
    k.call(llm(k, input_tokens=40, max_tokens=50), lambda lease: (60, 50), outcome=usage)
    with pytest.raises(BudgetExceeded, match=r"over budget.* 110 are used.*`agents\.a\.token_budget`"):
        k.call(llm(k, max_tokens=1), lambda lease: (1, 1), outcome=usage)
    assert k.call(llm(k, "b"), lambda lease: (1, 1), outcome=usage) == (1, 1)  # others unaffected


# -- observers -----------------------------------------------------------------------------------------


class Recorder:
    def __init__(self, refuse: str | None = None) -> None:
        self.submitted: list[int] = []
        self.finished: list[tuple[int, str]] = []
        self.refuse = refuse

    def on_submit(self, sc: Syscall) -> None:
        if sc.agent == self.refuse:
            raise AccessDenied(f"{sc.agent} is refused")
        self.submitted.append(sc.id)

    def on_finish(self, sc: Syscall) -> None:
        self.finished.append((sc.id, sc.status.value))
        raise RuntimeError("an observer bug must not reach the caller")


def test_observers_see_every_syscall_and_may_refuse(make_kernel: MakeKernel) -> None:
    k = make_kernel()
    rec = Recorder(refuse="evil")
    k.add_observer(rec)
    k.add_observer(object())  # hooks are optional
    sc = llm(k)
    assert k.call(sc, lambda lease: "x") == "x"
    assert rec.submitted == [sc.id] and rec.finished == [(sc.id, "done")]
    bad = llm(k, "evil")
    with pytest.raises(AccessDenied):
        k.call(bad, lambda lease: "never")
    assert bad.status is Status.FAILED and (bad.id, "failed") in rec.finished
    k.remove_observer(rec)
    k.call(llm(k), lambda lease: None)
    assert len(rec.finished) == 2


# -- report --------------------------------------------------------------------------------------------


def test_report_schema(make_kernel: MakeKernel) -> None:
    k = make_kernel()
    k.call(llm(k, "x"), lambda lease: (3, 4), outcome=usage)
    k.run_tool("t", lambda: None, agent="x")
    with pytest.raises(Boom):
        k.call(llm(k, "y"), lambda lease: (_ for _ in ()).throw(Boom()))
    rep = k.report()
    assert len(rep["syscalls"]) == 3
    for rec in rep["syscalls"]:
        assert set(rec) >= SYSCALL_KEYS, SYSCALL_KEYS - set(rec)
        assert rec["waiting_s"] >= 0 and rec["turnaround_s"] >= 0
        assert rec["created_at"] <= rec["started_at"] <= rec["finished_at"]
    assert set(rep["agents"]) == {"x", "y"}
    for tally in rep["agents"].values():
        assert set(tally) >= AGENT_KEYS, AGENT_KEYS - set(tally)
    x = rep["agents"]["x"]
    assert (x["llm_calls"], x["tool_calls"], x["input_tokens"], x["output_tokens"], x["errors"]) == (
        1,
        1,
        3,
        4,
        0,
    )
    assert rep["agents"]["y"]["errors"] == 1
    assert rep["policy"] == "fifo"
    stats = k.stats()
    assert stats["queued"] == 0 and stats["running"] == 0 and stats["by_status"] == {"done": 2, "failed": 1}


# -- cancellation ----------------------------------------------------------------------------------------


async def test_cancelling_a_queued_task_gives_back_its_place(make_kernel: MakeKernel) -> None:
    clock = ManualClock()
    k = make_kernel(
        clock=clock,
        cores=[{"name": "c", "api": "openai", "max_concurrency": 1, "tpm": 1000, "rate_margin_s": 0}],
    )
    gate = asyncio.Event()

    async def hold(lease: Lease) -> None:
        await gate.wait()

    first = llm(k, input_tokens=100, max_tokens=100)
    t1 = asyncio.create_task(k.acall(first, hold))
    await asyncio.sleep(0.01)
    queued = llm(k, input_tokens=100, max_tokens=100)
    t2 = asyncio.create_task(k.acall(queued, hold))
    await asyncio.sleep(0.01)
    assert queued.status is Status.QUEUED
    core = core_of(k, queued)
    t2.cancel()
    with pytest.raises(asyncio.CancelledError):
        await t2
    assert status(queued) is Status.CANCELLED
    assert len(k.policy) == 0 and core.in_use == 1
    gate.set()
    await asyncio.wait_for(t1, 5)
    assert core.in_use == 0
    # Only the call that ran was charged: 200 of 1000 tokens, back after 12 s of refill.
    assert bucket(k, queued, "tokens")["available"] == pytest.approx(800)
    clock.advance(12.0)
    assert bucket(k, queued, "tokens")["available"] == pytest.approx(1000)


async def test_cancelling_a_running_task_ends_its_syscall(make_kernel: MakeKernel) -> None:
    k = make_kernel(max_concurrency=1)
    started = asyncio.Event()

    async def forever(lease: Lease) -> None:
        started.set()
        await asyncio.sleep(100)

    sc = llm(k)
    task = asyncio.create_task(k.acall(sc, forever))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sc.status is Status.CANCELLED and "cancelled" in (sc.error or "")
    assert core_of(k, sc).in_use == 0
    # The slot is free for the next caller.
    assert await asyncio.wait_for(k.acall(llm(k), _async_value), 5) == "v"


async def _async_value(lease: Lease) -> str:
    return "v"


async def test_cancelled_after_admission_before_running_refunds(make_kernel: MakeKernel) -> None:
    """A task cancelled between being admitted and resuming gives back slot and tokens."""
    clock = ManualClock()
    k = make_kernel(clock=clock, cores=[{"name": "c", "api": "openai", "max_concurrency": 1, "tpm": 1000}])
    holder = llm(k, input_tokens=10, max_tokens=10)
    lease = k.acquire(holder)  # a sync caller holds the only slot
    sc = llm(k, input_tokens=100, max_tokens=100)
    task = asyncio.create_task(k.acall(sc, _async_value))
    await asyncio.sleep(0.01)
    assert sc.status is Status.QUEUED
    lease.succeed()  # admits sc from this thread; its task has not resumed yet
    assert status(sc) is Status.RUNNING
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    core = core_of(k, sc)
    assert status(sc) is Status.CANCELLED and core.in_use == 0
    assert bucket(k, sc, "tokens")["available"] == pytest.approx(1000 - 20)


def test_sync_waiter_is_woken_by_shutdown(make_kernel: MakeKernel) -> None:
    k = make_kernel(max_concurrency=1)
    lease = k.acquire(llm(k))
    errors: list[BaseException] = []
    queued = llm(k)

    def caller() -> None:
        try:
            k.call(queued, lambda lease: "never")
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=caller)
    t.start()
    wait_until(lambda: queued.status is Status.QUEUED and queued.waiter is not None)
    k.shutdown()
    t.join(5)
    assert not t.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], KernelShutdown)
    assert queued.status is Status.CANCELLED
    lease.succeed()  # a call running at shutdown still ends normally
    assert lease.syscall.status is Status.DONE
    with pytest.raises(KernelShutdown):
        k.call(llm(k), lambda lease: None)
    k.shutdown()  # twice is fine


def test_async_waiters_on_foreign_loops_are_woken_by_shutdown(make_kernel: MakeKernel) -> None:
    k = make_kernel(max_concurrency=1)
    lease = k.acquire(llm(k))
    results: list[BaseException | str] = []
    ready = threading.Barrier(3)

    def loop_thread() -> None:
        async def main() -> None:
            async def one() -> None:
                try:
                    await k.acall(llm(k), _async_value)
                    results.append("ran")
                except BaseException as exc:
                    results.append(exc)

            tasks = [asyncio.create_task(one()) for _ in range(5)]
            await asyncio.sleep(0.01)
            ready.wait(5)
            await asyncio.wait_for(asyncio.gather(*tasks), 5)

        asyncio.run(main())

    threads = [threading.Thread(target=loop_thread) for _ in range(2)]
    for t in threads:
        t.start()
    ready.wait(5)
    wait_until(lambda: len(k.policy) == 10)
    k.shutdown()
    for t in threads:
        t.join(10)
        assert not t.is_alive()
    assert len(results) == 10 and all(isinstance(r, KernelShutdown) for r in results)
    lease.succeed()


def test_sync_cancel_of_a_queued_syscall_raises_syscall_cancelled(make_kernel: MakeKernel) -> None:
    k = make_kernel(max_concurrency=1)
    lease = k.acquire(llm(k))
    queued = llm(k)
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            k.acquire(queued)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=caller)
    t.start()
    wait_until(lambda: queued.waiter is not None)
    k._finish(queued, Status.CANCELLED, error="cancelled by an operator", ran=False)
    t.join(5)
    assert len(errors) == 1 and isinstance(errors[0], SyscallCancelled)
    lease.succeed()


# -- leases -----------------------------------------------------------------------------------------------


def test_lease_bound_to_a_collected_object_ends_cancelled(make_kernel: MakeKernel) -> None:
    k = make_kernel(max_concurrency=1)
    sc = llm(k)

    class Stream:
        pass

    def perform(lease: Lease) -> Stream:
        stream = Stream()
        lease.bind(stream)
        return stream

    stream = k.call(sc, perform, hold=True)
    assert sc.status is Status.RUNNING and core_of(k, sc).in_use == 1
    del stream
    gc.collect()
    assert status(sc) is Status.CANCELLED and "garbage-collected" in (sc.error or "")
    assert core_of(k, sc).in_use == 0


class Holder:
    pass


def test_lease_ends_once(make_kernel: MakeKernel) -> None:
    k = make_kernel()
    sc = llm(k)
    lease = k.acquire(sc)
    finalizer = lease.bind(Holder())  # collected at once: cancels
    assert not finalizer.alive
    assert sc.status is Status.CANCELLED
    lease.succeed()
    lease.fail("late")
    assert sc.status is Status.CANCELLED and k.report()["by_status"] == {"cancelled": 1}
    sc2 = llm(k)
    lease2 = k.acquire(sc2)
    holder = Holder()
    lease2.bind(holder)
    lease2.succeed(usage=Usage(5, 6))
    del holder
    gc.collect()
    assert sc2.status is Status.DONE and (sc2.input_tokens, sc2.output_tokens) == (5, 6)


def test_a_rejection_with_rate_headers_keeps_its_request_charge(make_kernel: MakeKernel) -> None:
    """The provider said 0 requests remain: our bucket must not get the rejected call's charge back,
    or the retry would be sent before the provider's bucket has refilled."""
    k = make_kernel(
        retry={"max_retries": 1},
        cores=[{"name": "p", "api": "openai", "rpm": 60, "rate_margin_s": 0}],
        routes=[{"match": "*", "core": "p"}],
    )
    sc = llm(k)
    attempts: list[float] = []

    def classify(exc: BaseException) -> Failure:
        headers = {"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0"}
        return Failure(True, "rate_limit", status=429, retry_after=0.0, headers=headers)

    def perform(lease: Lease) -> None:
        attempts.append(time.monotonic())
        raise Boom("429")

    with pytest.raises(Boom):
        k.call(sc, perform, classify=classify)
    # 60 rpm refills one request a second: the retry waited for it instead of going out at once.
    assert len(attempts) == 2
    assert attempts[1] - attempts[0] >= 0.9
    assert bucket(k, sc, "requests")["available"] < 1
