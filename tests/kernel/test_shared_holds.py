"""A slot the shared state keeps for one agent refuses the others' calls, not that agent's.

Found by the shared state machine (``test_shared_properties``): process 1 ends agent b's call
on a one-slot core under ``las``, which keeps the slot for b's next call; process 0 then
queues a call of agent a (refused: the slot is b's) and one of b. The refusal of a's call
said nothing about b's, yet the scan treated it as a refusal for its size and skipped b's
call as no smaller, so b waited although the kept slot was its own.
"""

from __future__ import annotations

import uuid

from aios.kernel.clock import ManualClock
from aios.kernel.cores import CoreSpec
from aios.kernel.policies import PolicyOptions, make_policy
from aios.kernel.scheduler import Scheduler
from aios.kernel.shared import SharedCore, SharedLedger, SharedState
from aios.kernel.syscall import Status
from aios.kernel.waiters import Waiter

from .test_scheduler_properties import CountingWaiter, llm_call


def _waiter() -> Waiter:
    return CountingWaiter()


def test_a_slot_kept_for_an_agent_admits_that_agents_queued_call(redis_url: str) -> None:
    clock = ManualClock(1000.0)
    prefix = f"holds-{uuid.uuid4().hex[:10]}"
    spec = CoreSpec(name="c1", api="openai", max_concurrency=1)
    scheds: list[Scheduler] = []
    states: list[SharedState] = []
    for _ in range(2):
        state = SharedState(redis_url, prefix=prefix, lease_ttl_s=1e9, clock=clock)
        states.append(state)
        sched = Scheduler(
            make_policy("las", PolicyOptions(las_hold_s=0.05)),
            clock,
            ledger=SharedLedger(state),
            make_core=lambda s, now, state=state: SharedCore(s, state, now),
        )
        sched.add_core(spec)
        scheds.append(sched)
    try:
        first = llm_call(clock.now(), "b", 0, 0, 0, ("c1",))
        assert scheds[1].submit(first, _waiter) is None
        assert scheds[1].finish(first, Status.DONE)  # the slot is now kept for b for 0.05 s

        other = llm_call(clock.now(), "a", 0, 0, 0, ("c1",))
        assert scheds[0].submit(other, _waiter) is not None  # a waits: the slot is b's
        same = llm_call(clock.now(), "b", 0, 0, 0, ("c1",))
        scheds[0].submit(same, _waiter)

        assert same.status is Status.RUNNING
        assert other.status is Status.QUEUED
        assert scheds[0].admissible_now() == []
    finally:
        for sched in scheds:
            sched.close()
        for state in states:
            state.close()
