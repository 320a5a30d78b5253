"""How much of the queue the scheduler looks at, and what the accounting keeps per core.

With thousands of agents waiting on a full LLM core, a tool call (whose core is open) used to
make the scheduler walk the whole queue to reach it, on every submit and every finish: the
cost of a call grew with the number of agents waiting. These tests count the queued syscalls
the policy hands out (a real policy, counting what it yields), not time.
"""

from __future__ import annotations

from collections.abc import Iterator

from aios.kernel.accounting import SAMPLE_SIZE, Accounting, Sample, percentile
from aios.kernel.clock import ManualClock
from aios.kernel.cores import CoreSpec
from aios.kernel.policies.fifo import FifoPolicy
from aios.kernel.scheduler import Scheduler
from aios.kernel.syscall import Kind, Status, Syscall
from aios.kernel.waiters import Waiter
from tests.kernel.conftest import Wakes


class CountingFifo(FifoPolicy):
    """First come, first served, counting every queued syscall a scan is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.looked_at = 0

    def ordered(self) -> Iterator[Syscall]:
        for sc in super().ordered():
            self.looked_at += 1
            yield sc


def _call(now: float, agent: str, kind: Kind, core: str) -> Syscall:
    return Syscall(kind=kind, agent=agent, created_at=now, est_output_tokens=8, candidates=(core,))


def test_calls_for_an_open_core_do_not_walk_the_calls_waiting_on_a_full_one() -> None:
    clock = ManualClock(100.0)
    policy = CountingFifo()
    finals: list[Syscall] = []
    sched = Scheduler(policy, clock, on_final=finals.append)
    sched.add_core(CoreSpec(name="llm", api="inproc", max_concurrency=1))
    sched.add_core(CoreSpec(name="tools", api="tool"))
    wakes = Wakes()

    def waiter() -> Waiter:
        return wakes

    first = _call(clock.now(), "a0", Kind.LLM, "llm")
    assert sched.submit(first, waiter) is None  # the one slot
    waiting = [_call(clock.now(), f"a{i}", Kind.LLM, "llm") for i in range(1, 501)]
    for sc in waiting:
        assert sched.submit(sc, waiter) is not None
    before = policy.looked_at
    tools = [_call(clock.now(), f"a{i}", Kind.TOOL, "tools") for i in range(200)]
    for sc in tools:
        assert sched.submit(sc, waiter) is None  # admitted at once: its core is open
        assert sched.finish(sc, Status.DONE)
    # Walking the queue would hand out 500 waiting calls per submit and per finish (200,000).
    assert policy.looked_at - before <= 2 * len(tools)
    # ...and the queue still moves, in order: each finish admits the next waiting LLM call.
    assert sched.finish(first, Status.DONE)
    assert waiting[0].status is Status.RUNNING and wakes.count == 1
    for i, sc in enumerate(waiting):
        assert sc.status is Status.RUNNING
        assert sched.finish(sc, Status.DONE)
        if i + 1 < len(waiting):
            assert waiting[i + 1].status is Status.RUNNING
    assert len(finals) == 1 + len(waiting) + len(tools)
    assert sched.admissible_now() == [] and len(policy) == 0


def test_a_call_refused_before_it_was_queued_leaves_the_counts_alone() -> None:
    clock = ManualClock(100.0)
    policy = CountingFifo()
    sched = Scheduler(policy, clock)
    sched.add_core(CoreSpec(name="llm", api="inproc", max_concurrency=1))
    never = _call(clock.now(), "x", Kind.LLM, "llm")
    assert sched.finish(never, Status.FAILED, error="refused", ran=False)  # never submitted
    running = _call(clock.now(), "a", Kind.LLM, "llm")
    queued = _call(clock.now(), "b", Kind.LLM, "llm")
    assert sched.submit(running, Wakes) is None
    assert sched.submit(queued, Wakes) is not None
    assert sched.finish(running, Status.DONE)
    assert queued.status is Status.RUNNING  # the count of calls naming "llm" was still right


def test_the_sample_keeps_exact_sums_and_a_bounded_uniform_sample() -> None:
    small = Sample()
    values = [i * 0.001 for i in range(1000)]
    for v in values:
        small.add(v)
    assert small.values == values  # below the bound every value is kept: percentiles are exact
    big = Sample()
    n = 10 * SAMPLE_SIZE
    for i in range(n):
        big.add(float(i))
    assert big.count == n and big.total == float(sum(range(n)))
    assert len(big.values) == SAMPLE_SIZE
    # A uniform sample of 0..n-1: its median lies near n/2 (a sample of the first or last
    # values only would be far off).
    assert abs(percentile(big.values, 50) - n / 2) < n * 0.05


def test_a_core_report_sums_every_call_beyond_the_sample() -> None:
    acc = Accounting()
    n = SAMPLE_SIZE + 1000
    for _ in range(n):
        sc = _call(0.0, "a", Kind.LLM, "llm")
        sc.core_name = "llm"
        sc.status = Status.DONE
        sc.waited_s = 1.0
        sc.finished_at = 2.0
        acc.record(sc)
    core = acc.report()["cores"]["llm"]
    assert core["llm_calls"] == n
    assert core["waiting_s"] == float(n) and core["waiting_p95_s"] == 1.0
    assert core["turnaround_s"] == 2.0 * n
    assert len(acc.cores["llm"].waits.values) == SAMPLE_SIZE
