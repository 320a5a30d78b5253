"""Property tests of the scheduler core, driven directly with a manual clock.

A hypothesis state machine interleaves submit / finish (done, failed, cancelled) / retry /
clock advance / poke at random, over random cores (slots, request and token buckets), for every
built-in policy, and checks after every step that the scheduler is work-conserving and keeps
its books, and at the end that everything terminated and every slot and token came back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from aios.kernel.clock import ManualClock
from aios.kernel.cores import CoreSpec
from aios.kernel.policies import FairPolicy, PolicyOptions, PriorityPolicy, make_policy, policy_names
from aios.kernel.scheduler import Scheduler
from aios.kernel.syscall import Kind, Status, Syscall
from aios.kernel.waiters import Waiter

AGENTS = ("a", "b", "c")


class CountingWaiter:
    """A ``Waiter`` that remembers every wake (the kernel's own waiters block or need a loop)."""

    def __init__(self) -> None:
        self.wakes: list[BaseException | None] = []

    def wake(self, error: BaseException | None) -> None:
        self.wakes.append(error)


class FakeTimer:
    """Stands in for the kernel's timer loop: one pending timer, the earliest one asked for."""

    def __init__(self) -> None:
        self.at = math.inf
        self.armed = 0

    def arm(self, at: float) -> None:
        self.armed += 1
        self.at = min(self.at, at)


def llm_call(
    now: float, agent: str, priority: int, est_in: int, est_out: int, candidates: tuple[str, ...]
) -> Syscall:
    """An LLM syscall as the machines submit it."""
    return Syscall(
        kind=Kind.LLM,
        agent=agent,
        created_at=now,
        priority=priority,
        est_input_tokens=est_in,
        est_output_tokens=est_out,
        candidates=candidates,
    )


optional_limit = st.one_of(st.none(), st.integers(min_value=1, max_value=400))


@st.composite
def core_specs(draw: st.DrawFn, name: str) -> CoreSpec:
    return CoreSpec(
        name=name,
        api="openai",
        max_concurrency=draw(st.one_of(st.none(), st.integers(min_value=1, max_value=3))),
        rpm=draw(st.one_of(st.none(), st.integers(min_value=1, max_value=30))),
        tpm=draw(optional_limit),
        input_tpm=draw(optional_limit),
        output_tpm=draw(optional_limit),
    )


class SchedulerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(1000.0)
        self.timer = FakeTimer()
        self.finals: list[Syscall] = []
        self.syscalls: list[Syscall] = []
        self.waiters: list[CountingWaiter] = []
        self.sched: Scheduler | None = None

    # -- setup -------------------------------------------------------------------------------------
    @initialize(
        policy=st.sampled_from(policy_names()),
        specs=st.tuples(core_specs("c1"), core_specs("c2")),
        aging=st.sampled_from([0.0, 0.5, 5.0]),
    )
    def setup(self, policy: str, specs: tuple[CoreSpec, CoreSpec], aging: float) -> None:
        options = PolicyOptions(aging_rate=aging, weights={"b": 2.0}, las_first_level_s=0.5)
        self.sched = Scheduler(
            make_policy(policy, options), self.clock, on_final=self.finals.append, arm_timer=self.timer.arm
        )
        for spec in specs:
            self.sched.add_core(spec)

    @property
    def s(self) -> Scheduler:
        assert self.sched is not None
        return self.sched

    def _waiter(self) -> Waiter:
        w = CountingWaiter()
        self.waiters.append(w)
        return w

    def _with(self, status: Status) -> list[Syscall]:
        return [sc for sc in self.syscalls if sc.status is status]

    # -- operations --------------------------------------------------------------------------------
    @rule(
        agent=st.sampled_from(AGENTS),
        priority=st.integers(min_value=-3, max_value=3),
        est_in=st.integers(min_value=0, max_value=300),
        est_out=st.integers(min_value=0, max_value=300),
        candidates=st.sampled_from([("c1",), ("c2",), ("c1", "c2"), ("c2", "c1")]),
    )
    def submit(
        self, agent: str, priority: int, est_in: int, est_out: int, candidates: tuple[str, ...]
    ) -> None:
        sc = llm_call(self.clock.now(), agent, priority, est_in, est_out, candidates)
        self.syscalls.append(sc)
        waiter = self.s.submit(sc, self._waiter)
        assert (waiter is None) == (sc.status is Status.RUNNING)

    @precondition(lambda self: any(sc.status is Status.RUNNING for sc in self.syscalls))
    @rule(
        data=st.data(),
        status=st.sampled_from([Status.DONE, Status.FAILED, Status.CANCELLED]),
        usage=st.one_of(st.none(), st.tuples(st.integers(0, 400), st.integers(0, 400))),
    )
    def finish_running(self, data: st.DataObject, status: Status, usage: tuple[int, int] | None) -> None:
        sc = data.draw(st.sampled_from(self._with(Status.RUNNING)))
        if usage is not None:
            sc.input_tokens, sc.output_tokens = usage
        assert self.s.finish(
            sc, status, error=None if status is Status.DONE else "x", usage_known=usage is not None
        )
        assert not self.s.finish(sc, Status.DONE)  # only the first end counts

    @precondition(
        lambda self: any(
            sc.pending_charges is not None and sc.status is Status.RUNNING for sc in self.syscalls
        )
    )
    @rule(data=st.data())
    def provider_answers(self, data: st.DataObject) -> None:
        """The caller sends an admitted call and the provider answers: its rate charge, in flight
        until now, enters the buckets."""
        in_flight = [sc for sc in self._with(Status.RUNNING) if sc.pending_charges is not None]
        sc = data.draw(st.sampled_from(in_flight))
        assert sc.core_name is not None
        self.s.learn(sc.core_name, {}, sc)
        assert sc.pending_charges is None

    @precondition(lambda self: any(sc.status is Status.QUEUED for sc in self.syscalls))
    @rule(data=st.data())
    def cancel_queued(self, data: st.DataObject) -> None:
        sc = data.draw(st.sampled_from(self._with(Status.QUEUED)))
        waiter = sc.waiter
        assert isinstance(waiter, CountingWaiter)
        assert self.s.finish(sc, Status.CANCELLED, error="cancelled", ran=False)
        assert len(waiter.wakes) == 1 and waiter.wakes[0] is not None

    @precondition(lambda self: any(sc.status is Status.RUNNING for sc in self.syscalls))
    @rule(
        data=st.data(),
        delay=st.sampled_from([0.0, 0.01, 0.5, 3.0]),
        pause=st.booleans(),
    )
    def retry(self, data: st.DataObject, delay: float, pause: bool) -> None:
        sc = data.draw(st.sampled_from(self._with(Status.RUNNING)))
        retries = sc.retries
        until = self.clock.now() + delay if pause else None
        self.s.retry_later(sc, delay=delay, pause_core_until=until)
        self.s.submit(sc, self._waiter)
        assert sc.retries == retries + 1

    @rule(dt=st.sampled_from([0.001, 0.1, 0.7, 2.0, 30.0]))
    def advance(self, dt: float) -> None:
        self.clock.advance(dt)
        if self.timer.at <= self.clock.now():  # the kernel's timer fires
            self.timer.at = math.inf
            self.s.poke()

    @rule()
    def poke(self) -> None:
        self.s.poke()

    # -- invariants --------------------------------------------------------------------------------
    @invariant()
    def work_conserving(self) -> None:
        if self.sched is not None:
            assert self.s.admissible_now() == []

    @invariant()
    def a_timer_is_armed_for_anything_waiting_on_time(self) -> None:
        if self.sched is None or not len(self.s.policy):
            return
        # A queued call that only time (a bucket, a cool-down, its backoff) can unblock needs a
        # timer, or it would wait forever; one waiting for a slot is woken by the release.
        now = self.clock.now()
        needs_time = False
        for sc in self.s.policy.ordered():
            for name in sc.candidates:
                t = self.s.cores[name].wait_for(sc, now)
                if t != math.inf and (t or sc.not_before > now):
                    needs_time = True
        if needs_time:
            assert self.timer.at < math.inf

    @invariant()
    def books_balance(self) -> None:
        if self.sched is None:
            return
        running = self._with(Status.RUNNING)
        assert set(running) == self.s.running
        for name, core in self.s.cores.items():
            on_core = [sc for sc in running if sc.core is core]
            assert core.in_use == len(on_core), name
            for bucket in core.buckets:
                in_flight = sum((sc.pending_charges or {}).get(bucket, 0.0) for sc in on_core)
                assert core.pending.get(bucket, 0.0) == pytest.approx(in_flight), (name, bucket)
            limit = core.spec.max_concurrency
            assert limit is None or core.in_use <= limit
        queued = self._with(Status.QUEUED)
        assert len(self.s.policy) == len(queued)
        assert set(self.s.policy.ordered()) == set(queued)
        assert all(sc.waiter is not None for sc in queued)
        assert len(self.finals) == sum(sc.status.final for sc in self.syscalls)
        for w in self.waiters:
            assert len(w.wakes) <= 1

    def teardown(self) -> None:
        if self.sched is None:
            return
        s = self.s
        cancelled = s.close()
        assert all(sc.status is Status.CANCELLED for sc in cancelled)
        for sc in list(s.running):
            s.finish(sc, Status.DONE)
        # Every syscall ended, exactly once, and every waiter woke exactly once.
        assert all(sc.status.final for sc in self.syscalls)
        assert sorted(sc.id for sc in self.finals) == sorted(sc.id for sc in self.syscalls)
        assert all(len(w.wakes) == 1 for w in self.waiters)
        # Slots and tokens come back once time passes.
        self.clock.advance(1e9)
        now = self.clock.now()
        for core in s.cores.values():
            assert core.in_use == 0
            assert core.open_until(now) == 0
            for name, bucket in core.buckets.items():
                assert bucket.available(now) == pytest.approx(bucket.capacity), name
        assert len(s.policy) == 0 and not s.running


SchedulerMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestScheduler = SchedulerMachine.TestCase


# -- no starvation under priority aging -----------------------------------------------------------


def _run_priority_stream(
    aging_rate: float, high: int, gap: float, service: float, horizon: float
) -> float | None:
    """A low-priority call at t=0, then a high-priority call every ``gap`` seconds on one slot.

    Each admitted call runs ``service`` seconds. Returns when the low one was admitted, if ever.
    """
    clock = ManualClock()
    s = Scheduler(PriorityPolicy(PolicyOptions(aging_rate=aging_rate)), clock)
    s.add_core(CoreSpec("c", api="openai", max_concurrency=1))
    blocker = Syscall(kind=Kind.LLM, agent="hi", created_at=0.0, priority=high, candidates=("c",))
    s.submit(blocker, CountingWaiter)  # keeps the slot busy so that the low one must queue
    low = Syscall(kind=Kind.LLM, agent="lo", created_at=0.0, priority=0, candidates=("c",))
    s.submit(low, CountingWaiter)
    next_arrival = 0.0
    while clock.now() < horizon:
        if low.status is Status.RUNNING:
            return low.started_at
        # Next event: an arrival or the running call ending, whichever is first.
        (running,) = s.running
        ends = running.started_at + service  # type: ignore[operator]
        t = min(next_arrival, ends)
        clock.advance(max(0.0, t - clock.now()))
        if t == ends:
            s.finish(running, Status.DONE)
        else:
            sc = Syscall(kind=Kind.LLM, agent="hi", created_at=clock.now(), priority=high, candidates=("c",))
            s.submit(sc, CountingWaiter)
            next_arrival += gap
    return low.started_at if low.status is Status.RUNNING else None


@settings(max_examples=100, deadline=None)
@given(
    aging_rate=st.floats(min_value=0.5, max_value=10.0),
    high=st.integers(min_value=1, max_value=20),
    gap=st.floats(min_value=0.05, max_value=2.0),
    service=st.floats(min_value=0.05, max_value=2.0),
)
def test_priority_aging_never_starves(aging_rate: float, high: int, gap: float, service: float) -> None:
    # The low call outranks every high call created after high/aging_rate seconds; the ones
    # created before that (one every ``gap``) run first, ``service`` seconds each.
    catch_up = high / aging_rate
    bound = catch_up + (catch_up / gap + 2) * service + gap
    started = _run_priority_stream(aging_rate, high, gap, service, horizon=bound + 10 * service + 1)
    assert started is not None, "the low-priority call starved"
    assert started <= bound + 1e-9


def test_without_aging_a_stream_of_high_priority_calls_does_starve() -> None:
    # The same harness with aging off: shows the bound above is what aging buys.
    assert _run_priority_stream(0.0, high=5, gap=0.5, service=1.0, horizon=200.0) is None


# -- VTC fairness bound ----------------------------------------------------------------------------


@dataclass
class Job:
    est_in: int
    out: int


jobs = st.lists(
    st.builds(Job, est_in=st.integers(1, 200), out=st.integers(0, 200)), min_size=60, max_size=150
)


@settings(max_examples=100, deadline=None)
@given(
    a_jobs=jobs,
    b_jobs=jobs,
    slots=st.integers(min_value=1, max_value=4),
    picks=st.lists(st.integers(min_value=0, max_value=10), min_size=200, max_size=200),
)
def test_vtc_counters_stay_within_a_bound_while_both_are_backlogged(
    a_jobs: list[Job], b_jobs: list[Job], slots: int, picks: list[int]
) -> None:
    options = PolicyOptions(input_token_weight=1.0, output_token_weight=2.0)
    policy = FairPolicy(options)
    clock = ManualClock()
    s = Scheduler(policy, clock)
    s.add_core(CoreSpec("c", api="openai", max_concurrency=slots))
    feeds = {"a": iter(a_jobs), "b": iter(b_jobs)}
    outs: dict[int, int] = {}
    # The most one request can cost in the counter: its input plus its weighted output.
    max_cost = max(
        j.est_in * options.input_token_weight + j.out * options.output_token_weight for j in a_jobs + b_jobs
    )

    def feed(agent: str) -> bool:
        job = next(feeds[agent], None)
        if job is None:
            return False
        sc = Syscall(
            kind=Kind.LLM, agent=agent, created_at=clock.now(), est_input_tokens=job.est_in, candidates=("c",)
        )
        outs[sc.id] = job.out
        s.submit(sc, CountingWaiter)
        return True

    for agent in ("a", "b", "a", "b"):
        feed(agent)
    widest = 0.0
    for pick in picks:
        # Keep both agents backlogged: each always has two calls queued.
        queued = {agent: sum(1 for sc in policy.ordered() if sc.agent == agent) for agent in feeds}
        if any(n < 2 and not feed(agent) for agent, n in queued.items()):
            break
        queued = {agent: sum(1 for sc in policy.ordered() if sc.agent == agent) for agent in feeds}
        if min(queued.values()) < 2:
            if not all(feed(agent) for agent, n in queued.items() if n < 2):
                break
        running = sorted(s.running, key=lambda sc: sc.id)
        sc = running[pick % len(running)]
        sc.input_tokens, sc.output_tokens = sc.est_input_tokens, outs[sc.id]
        clock.advance(0.1)
        s.finish(sc, Status.DONE, usage_known=True)
        gap = abs(policy.counters["a"] - policy.counters["b"])
        widest = max(widest, gap)
        assert gap <= (slots + 1) * max_cost, (gap, slots, max_cost)
    assert set(policy.counters) == {"a", "b"}


# -- regressions found by the machine ----------------------------------------------------------------


def test_a_call_blocked_on_one_bucket_does_not_hold_back_a_call_that_fits() -> None:
    """A call too big for the input bucket must not block a later one with less input."""
    clock = ManualClock()
    s = Scheduler(make_policy("fifo"), clock)
    s.add_core(CoreSpec("c", api="openai", input_tpm=100, output_tpm=1000, rate_margin_s=0.0))

    def call(est_in: int, est_out: int) -> Syscall:
        sc = Syscall(kind=Kind.LLM, agent="a", created_at=0.0, candidates=("c",))
        sc.est_input_tokens, sc.est_output_tokens = est_in, est_out
        s.submit(sc, CountingWaiter)
        return sc

    call(50, 0)  # leaves 50 input tokens
    too_big = call(90, 10)
    fits = call(10, 200)  # more tokens in total, but only 10 of input
    assert too_big.status is Status.QUEUED
    assert fits.status is Status.RUNNING
    assert s.admissible_now() == []
