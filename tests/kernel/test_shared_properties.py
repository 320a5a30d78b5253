"""The scheduler state machine again, with two schedulers (two processes) sharing one state.

Operations land on either scheduler at random; after each one, both look again (as the wake-up
messages of the shared state make them do), and the machine checks across both: no queued call
anywhere could be admitted now, the slots held on the server are exactly the running calls,
no core ever runs more than its ``max_concurrency`` in total, and at the end everything ended
once and every slot and token came back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from aios.kernel.clock import ManualClock
from aios.kernel.cores import CoreSpec
from aios.kernel.policies import PolicyOptions, make_policy, policy_names
from aios.kernel.scheduler import Scheduler
from aios.kernel.shared import SharedCore, SharedLedger, SharedState
from aios.kernel.syscall import Status, Syscall
from aios.kernel.waiters import Waiter
from aios.runner.redis_server import LocalServer

from .test_scheduler_properties import AGENTS, CountingWaiter, core_specs, llm_call

URL: str = ""


@pytest.fixture(scope="module", autouse=True)
def _server(redis_server: LocalServer) -> Iterator[None]:
    # Hypothesis builds the machine itself: the URL reaches it through the module.
    global URL
    URL = redis_server.url
    yield


class SharedMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(1000.0)
        self.scheds: list[Scheduler] = []
        self.states: list[SharedState] = []
        self.finals: list[Syscall] = []
        self.syscalls: list[tuple[int, Syscall]] = []
        self.waiters: list[CountingWaiter] = []
        self.limits: dict[str, int | None] = {}

    @initialize(
        policy=st.sampled_from(policy_names()),
        specs=st.tuples(core_specs("c1"), core_specs("c2")),
    )
    def setup(self, policy: str, specs: tuple[CoreSpec, CoreSpec]) -> None:
        prefix = f"prop-{uuid.uuid4().hex[:10]}"
        options = PolicyOptions(aging_rate=0.5, weights={"b": 2.0}, las_first_level_s=0.5)
        for _ in range(2):
            # Leases outlive any clock jump here: expiry has tests of its own.
            state = SharedState(URL, prefix=prefix, lease_ttl_s=1e9, clock=self.clock)
            self.states.append(state)
            sched = Scheduler(
                make_policy(policy, options),
                self.clock,
                on_final=self.finals.append,
                ledger=SharedLedger(state),
                make_core=lambda spec, now, state=state: SharedCore(spec, state, now),
            )
            for spec in specs:
                sched.add_core(spec)
            self.scheds.append(sched)
        self.limits = {s.name: s.max_concurrency for s in specs}

    def _settle(self) -> None:
        """Deliver the wake-ups: each scheduler looks again until two rounds change nothing (a
        round can move a process's place in the shared order, which the next round acts on)."""
        quiet = 0
        for _ in range(8):
            before = sum(len(s.running) for s in self.scheds)
            for s in self.scheds:
                s.poke()
            quiet = quiet + 1 if sum(len(s.running) for s in self.scheds) == before else 0
            if quiet == 2:
                break

    def _with(self, status: Status) -> list[tuple[int, Syscall]]:
        return [(i, sc) for i, sc in self.syscalls if sc.status is status]

    def _waiter(self) -> Waiter:
        w = CountingWaiter()
        self.waiters.append(w)
        return w

    @rule(
        which=st.integers(0, 1),
        agent=st.sampled_from(AGENTS),
        priority=st.integers(min_value=-3, max_value=3),
        est_in=st.integers(min_value=0, max_value=300),
        est_out=st.integers(min_value=0, max_value=300),
        candidates=st.sampled_from([("c1",), ("c2",), ("c1", "c2")]),
    )
    def submit(
        self, which: int, agent: str, priority: int, est_in: int, est_out: int, candidates: tuple[str, ...]
    ) -> None:
        sc = llm_call(self.clock.now(), agent, priority, est_in, est_out, candidates)
        self.syscalls.append((which, sc))
        waiter = self.scheds[which].submit(sc, self._waiter)
        assert (waiter is None) == (sc.status is Status.RUNNING)
        self._settle()

    @precondition(lambda self: any(sc.status is Status.RUNNING for _, sc in self.syscalls))
    @rule(
        data=st.data(),
        status=st.sampled_from([Status.DONE, Status.FAILED, Status.CANCELLED]),
        usage=st.one_of(st.none(), st.tuples(st.integers(0, 400), st.integers(0, 400))),
    )
    def finish_running(self, data: st.DataObject, status: Status, usage: tuple[int, int] | None) -> None:
        which, sc = data.draw(st.sampled_from(self._with(Status.RUNNING)))
        if usage is not None:
            sc.input_tokens, sc.output_tokens = usage
        assert self.scheds[which].finish(
            sc, status, error=None if status is Status.DONE else "x", usage_known=usage is not None
        )
        self._settle()

    @precondition(lambda self: any(sc.status is Status.QUEUED for _, sc in self.syscalls))
    @rule(data=st.data())
    def cancel_queued(self, data: st.DataObject) -> None:
        which, sc = data.draw(st.sampled_from(self._with(Status.QUEUED)))
        assert self.scheds[which].finish(sc, Status.CANCELLED, error="cancelled", ran=False)
        self._settle()

    @precondition(lambda self: any(sc.status is Status.RUNNING for _, sc in self.syscalls))
    @rule(data=st.data(), pause=st.booleans())
    def retry(self, data: st.DataObject, pause: bool) -> None:
        which, sc = data.draw(st.sampled_from(self._with(Status.RUNNING)))
        s = self.scheds[which]
        s.retry_later(sc, delay=0.5, pause_core_until=self.clock.now() + 0.5 if pause else None)
        s.submit(sc, self._waiter)
        self._settle()

    @rule(dt=st.sampled_from([0.1, 0.7, 3.0, 30.0]))
    def advance(self, dt: float) -> None:
        self.clock.advance(dt)
        self._settle()

    @invariant()
    def work_conserving_across_processes(self) -> None:
        for s in self.scheds:
            assert s.admissible_now() == []

    @invariant()
    def slots_on_the_server_are_the_running_calls(self) -> None:
        if not self.scheds:
            return
        now = self.clock.now()
        for name, limit in self.limits.items():
            running = sum(1 for _, sc in self._with(Status.RUNNING) if sc.core_name == name)
            seen = self.scheds[0].cores[name].describe(now)["in_use"]
            assert seen == running, name
            assert limit is None or running <= limit, name

    @invariant()
    def everything_ends_once(self) -> None:
        assert len(self.finals) == sum(sc.status.final for _, sc in self.syscalls)
        assert all(len(w.wakes) <= 1 for w in self.waiters)

    def teardown(self) -> None:
        try:
            if not self.scheds:
                return
            for s in self.scheds:
                s.close()
                for sc in list(s.running):
                    s.finish(sc, Status.DONE)
            assert all(sc.status.final for _, sc in self.syscalls)
            assert sorted(sc.id for sc in self.finals) == sorted(sc.id for _, sc in self.syscalls)
            self.clock.advance(1e6)
            now = self.clock.now()
            for name in self.limits:
                state = self.scheds[0].cores[name].describe(now)
                assert state["in_use"] == 0
                for bucket, b in state["buckets"].items():
                    assert b["available"] == pytest.approx(b["capacity"]), (name, bucket)
                    assert b["pending"] == pytest.approx(0.0, abs=1e-6), (name, bucket)
        finally:
            for state in self.states:
                state.close()


SharedMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
test_shared_scheduler_state_machine = SharedMachine.TestCase

