"""``las`` keeps a finished call's slot briefly for the same agent's next call."""

from __future__ import annotations

import math

from aios.kernel.clock import ManualClock
from aios.kernel.cores import CoreSpec
from aios.kernel.policies import PolicyOptions, make_policy
from aios.kernel.scheduler import Scheduler
from aios.kernel.syscall import Kind, Status, Syscall


class Waiter:
    def __init__(self) -> None:
        self.woken = 0

    def wake(self, error: BaseException | None) -> None:
        self.woken += 1


def setup(hold: float) -> tuple[Scheduler, ManualClock, list[float]]:
    clock = ManualClock()
    timers: list[float] = []
    policy = make_policy("las", PolicyOptions(las_hold_s=hold))
    s = Scheduler(policy, clock, arm_timer=timers.append)
    s.add_core(CoreSpec("c", api="openai", max_concurrency=1))
    return s, clock, timers


def call(agent: str, clock: ManualClock) -> Syscall:
    return Syscall(kind=Kind.LLM, agent=agent, created_at=clock.now(), candidates=("c",))


def test_the_agent_that_just_finished_gets_its_slot_back_within_the_hold() -> None:
    s, clock, timers = setup(hold=0.05)
    a1 = call("a", clock)
    assert s.submit(a1, Waiter) is None  # a runs
    b1 = call("b", clock)
    assert s.submit(b1, Waiter) is not None  # b waits for the slot
    clock.advance(1.0)
    s.finish(a1, Status.DONE)
    assert b1.status is Status.QUEUED  # the slot is kept for a's next call...
    assert timers and timers[-1] == clock.now() + 0.05  # ...for 50 ms, and a timer will look again
    clock.advance(0.01)
    a2 = call("a", clock)
    assert s.submit(a2, Waiter) is None  # a's next call takes its slot at once
    assert s.admissible_now() == []


def test_a_hold_that_is_not_used_expires_and_the_queue_moves_on() -> None:
    s, clock, _ = setup(hold=0.05)
    a1, b1 = call("a", clock), call("b", clock)
    s.submit(a1, Waiter)
    s.submit(b1, Waiter)
    clock.advance(1.0)
    s.finish(a1, Status.DONE)
    assert b1.status is Status.QUEUED
    clock.advance(0.05)
    s.poke()  # the kernel's timer fires at the hold's end
    assert b1.status is Status.RUNNING
    assert s.cores["c"].holds == {}


def test_no_hold_after_a_failure_or_with_the_hold_off() -> None:
    for hold, status in ((0.05, Status.FAILED), (0.0, Status.DONE)):
        s, clock, _ = setup(hold=hold)
        a1, b1 = call("a", clock), call("b", clock)
        s.submit(a1, Waiter)
        s.submit(b1, Waiter)
        s.finish(a1, status, error="x" if status is Status.FAILED else None)
        assert b1.status is Status.RUNNING, (hold, status)


def test_agents_past_the_first_level_are_not_waited_for() -> None:
    s, clock, _ = setup(hold=0.05)
    a1, b1 = call("a", clock), call("b", clock)
    s.submit(a1, Waiter)
    s.submit(b1, Waiter)
    clock.advance(60.0)  # a has had a minute of service: well past the first level (10 s)
    s.finish(a1, Status.DONE)
    assert b1.status is Status.RUNNING
    assert math.isinf(s.cores["c"].holds.get("a", math.inf))


def test_a_call_blocked_by_someone_elses_hold_does_not_block_the_holder() -> None:
    s, clock, _ = setup(hold=0.05)
    c1 = call("c", clock)
    a1 = call("a", clock)
    s.submit(c1, Waiter)  # c arrived first: las puts it ahead of a
    s.submit(a1, Waiter)
    s.finish(c1, Status.DONE)  # the slot is kept for c's next call for 50 ms...
    clock.advance(0.05)
    s.poke()  # ...which does not come: a's call takes it
    assert a1.status is Status.RUNNING
    s.finish(a1, Status.DONE)  # the slot is now kept for a
    c2, a2 = call("c", clock), call("a", clock)
    s.submit(c2, Waiter)  # c is first in las order but must wait for a's hold
    assert c2.status is Status.QUEUED
    s.submit(a2, Waiter)  # a, behind c in order, uses the slot kept for it
    assert a2.status is Status.RUNNING
    assert s.admissible_now() == []
