"""Unit tests of the five built-in scheduling policies: ordering, pushes/removals, retries."""

from __future__ import annotations

import pytest

from aios.errors import ConfigError
from aios.kernel.clock import ManualClock
from aios.kernel.cores import CoreSpec
from aios.kernel.policies import (
    BUILTIN_POLICIES,
    FairPolicy,
    FifoPolicy,
    LasPolicy,
    Policy,
    PolicyOptions,
    PriorityPolicy,
    RoundRobinPolicy,
    make_policy,
    policy_names,
    register_policy,
)
from aios.kernel.scheduler import Scheduler
from aios.kernel.syscall import Kind, Status, Syscall
from aios.kernel.waiters import ThreadWaiter

from .conftest import MakeSyscall


def order(policy: Policy) -> list[Syscall]:
    return list(policy.ordered())


def admit(policy: Policy, sc: Syscall, now: float = 0.0) -> None:
    """What the scheduler does when it admits ``sc``."""
    policy.remove(sc)
    policy.on_dispatch(sc, now)


# -- registry ---------------------------------------------------------------------------------------


def test_registry_knows_the_five_builtins() -> None:
    assert policy_names() == sorted(["fair", "fifo", "las", "priority", "round-robin"])
    for cls in BUILTIN_POLICIES:
        assert type(make_policy(cls.name)) is cls


def test_unknown_policy_is_a_config_error_naming_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"'lottery'.*fair, fifo, las, priority, round-robin"):
        make_policy("lottery")


def test_register_policy_validates() -> None:
    with pytest.raises(TypeError, match="must subclass"):
        register_policy(object, source="plugin-x")  # type: ignore[arg-type]

    class Clash(FifoPolicy):
        name = "fifo"

    with pytest.raises(ValueError, match="already provides"):
        register_policy(Clash, source="plugin-x")
    register_policy(FifoPolicy)  # re-registering the same class is harmless


@pytest.mark.parametrize("cls", BUILTIN_POLICIES)
def test_push_remove_len_for_every_policy(cls: type[Policy], make_sc: MakeSyscall) -> None:
    p = cls(PolicyOptions())
    scs = [make_sc(agent) for agent in "abab"]
    for sc in scs:
        p.push(sc)
    assert len(p) == 4
    assert sorted(s.seq for s in p.ordered()) == [s.seq for s in scs]
    p.remove(scs[1])
    p.remove(scs[1])  # removing twice is a no-op
    assert len(p) == 3
    assert scs[1] not in order(p)
    for sc in (scs[0], scs[2], scs[3]):
        p.remove(sc)
    assert len(p) == 0
    assert order(p) == []
    assert p.describe()["queued"] == 0


# -- fifo -------------------------------------------------------------------------------------------


def test_fifo_orders_by_submission(make_sc: MakeSyscall) -> None:
    p = FifoPolicy()
    scs = [make_sc(agent, priority=prio) for agent, prio in [("a", 0), ("b", 9), ("a", -3)]]
    for sc in reversed(scs):  # push order does not matter: the submission number does
        p.push(sc)
    assert order(p) == scs


def test_fifo_retry_keeps_its_place(make_sc: MakeSyscall) -> None:
    p = FifoPolicy()
    first, second, third = make_sc(), make_sc(), make_sc()
    for sc in (first, second, third):
        p.push(sc)
    admit(p, first)
    assert order(p) == [second, third]
    p.push(first)  # re-queued for a retry: it was submitted first, so it goes first again
    assert order(p) == [first, second, third]


# -- priority with aging ---------------------------------------------------------------------------


def test_priority_higher_first_then_older_first(make_sc: MakeSyscall) -> None:
    p = PriorityPolicy(PolicyOptions(aging_rate=0.0))
    low = make_sc(priority=0)
    high = make_sc(priority=5)
    high2 = make_sc(priority=5)
    mid = make_sc(priority=2)
    for sc in (low, high, high2, mid):
        p.push(sc)
    assert order(p) == [high, high2, mid, low]


def test_priority_aging_lets_an_old_low_priority_call_overtake(make_sc: MakeSyscall) -> None:
    p = PriorityPolicy(PolicyOptions(aging_rate=1.0))
    old_low = make_sc(priority=0, created_at=0.0)
    p.push(old_low)
    # A newcomer 3 s later with priority 5 still outranks it (5 > 0 + 3 s of aging)...
    early_high = make_sc(priority=5, created_at=3.0)
    p.push(early_high)
    assert order(p) == [early_high, old_low]
    # ...one arriving after 10 s does not (5 < 0 + 10).
    late_high = make_sc(priority=5, created_at=10.0)
    p.push(late_high)
    assert order(p) == [early_high, old_low, late_high]


def test_priority_aging_rate_scales(make_sc: MakeSyscall) -> None:
    p = PriorityPolicy(PolicyOptions(aging_rate=10.0))
    old_low = make_sc(priority=0, created_at=0.0)
    high = make_sc(priority=5, created_at=1.0)  # 1 s of aging at 10/s is worth 10 > 5
    p.push(high)
    p.push(old_low)
    assert order(p) == [old_low, high]


def test_priority_retry_keeps_its_place(make_sc: MakeSyscall) -> None:
    p = PriorityPolicy(PolicyOptions(aging_rate=0.0))
    a = make_sc(priority=3)
    b = make_sc(priority=3)
    c = make_sc(priority=1)
    for sc in (a, b, c):
        p.push(sc)
    admit(p, a)
    p.push(a)
    assert order(p) == [a, b, c]


# -- round-robin -----------------------------------------------------------------------------------


def test_round_robin_interleaves_agents(make_sc: MakeSyscall) -> None:
    p = RoundRobinPolicy()
    a1, a2, a3, b1, b2, c1 = (make_sc(x) for x in ["a", "a", "a", "b", "b", "c"])
    for sc in (a1, a2, a3, b1, b2, c1):
        p.push(sc)
    assert order(p) == [a1, b1, c1, a2, b2, a3]


def test_round_robin_served_agent_goes_to_the_back(make_sc: MakeSyscall) -> None:
    p = RoundRobinPolicy()
    a1, a2, b1, b2, c1 = (make_sc(x) for x in ["a", "a", "b", "b", "c"])
    for sc in (a1, a2, b1, b2, c1):
        p.push(sc)
    admit(p, a1)
    assert order(p)[:3] == [b1, c1, a2]
    admit(p, b1)
    assert order(p) == [c1, a2, b2]
    admit(p, c1)  # c has nothing left: it leaves the ring
    assert order(p) == [a2, b2]
    c2 = make_sc("c")
    p.push(c2)  # c comes back at the end of the ring
    assert order(p) == [a2, b2, c2]


def test_round_robin_serves_a_full_cycle_before_repeating(make_sc: MakeSyscall) -> None:
    p = RoundRobinPolicy()
    for agent in "aaaabbbbcccc":
        p.push(make_sc(agent))
    served = []
    while len(p):
        sc = next(p.ordered())
        admit(p, sc)
        served.append(sc.agent)
    assert "".join(served) == "abc" * 4


def test_round_robin_retry_keeps_its_place_in_its_agent_queue(make_sc: MakeSyscall) -> None:
    p = RoundRobinPolicy()
    a1, a2, b1 = make_sc("a"), make_sc("a"), make_sc("b")
    for sc in (a1, a2, b1):
        p.push(sc)
    admit(p, a1)
    p.push(a1)  # retry: ahead of a's later call, but a already had its turn
    assert order(p) == [b1, a1, a2]


# -- fair (VTC) ------------------------------------------------------------------------------------


def test_fair_least_served_agent_first(make_sc: MakeSyscall) -> None:
    p = FairPolicy(PolicyOptions(input_token_weight=1.0, output_token_weight=2.0))
    a1, a2 = make_sc("a", est_in=100), make_sc("a", est_in=100)
    b1, b2 = make_sc("b", est_in=10), make_sc("b", est_in=10)
    for sc in (a1, a2, b1, b2):
        p.push(sc)
    assert order(p)[0] is a1  # equal counters: the agent that arrived first
    admit(p, a1)
    assert p.counters["a"] == 100  # charged its input tokens at admission
    assert order(p)[0] is b1
    admit(p, b1)
    assert p.counters["b"] == 10
    assert order(p)[0] is b2  # b is still behind a
    # a's call ends: the estimate is corrected to real usage, output tokens weigh twice.
    a1.input_tokens, a1.output_tokens = 80, 50
    a1.usage_known = True
    p.on_finish(a1, 1.0)
    assert p.counters["a"] == pytest.approx(80 + 2 * 50)


def test_fair_unknown_usage_keeps_the_admission_charge(make_sc: MakeSyscall) -> None:
    p = FairPolicy()
    sc = make_sc("a", est_in=100)
    p.push(sc)
    admit(p, sc)
    p.on_finish(sc, 1.0)  # the call reported no usage
    assert p.counters["a"] == pytest.approx(100)


def test_fair_weights_divide_the_charge(make_sc: MakeSyscall) -> None:
    p = FairPolicy(PolicyOptions(weights={"heavy": 4.0}))
    h, light = make_sc("heavy", est_in=400), make_sc("light", est_in=400)
    p.push(h)
    p.push(light)
    admit(p, h)
    admit(p, light)
    assert p.counters["heavy"] == pytest.approx(100.0)
    assert p.counters["light"] == pytest.approx(400.0)
    h2, l2 = make_sc("heavy", est_in=1), make_sc("light", est_in=1)
    p.push(l2)
    p.push(h2)
    assert order(p) == [h2, l2]


def test_fair_idle_agent_earns_no_credit(make_sc: MakeSyscall) -> None:
    p = FairPolicy()
    a = [make_sc("a", est_in=100) for _ in range(5)]
    b = [make_sc("b", est_in=100) for _ in range(5)]
    for sc in a + b:
        p.push(sc)
    for sc in a[:3] + b[:2]:
        admit(p, sc)
    assert p.counters == {"a": 300.0, "b": 200.0}
    late = make_sc("late", est_in=100)
    p.push(late)  # lifted to the least counter among the backlogged agents
    assert p.counters["late"] == 200.0
    assert order(p)[0] is b[2]  # b (200, arrived earlier) ties with late and goes first


def test_fair_retry_keeps_its_place(make_sc: MakeSyscall) -> None:
    p = FairPolicy()
    a1, a2 = make_sc("a", est_in=5), make_sc("a", est_in=5)
    p.push(a1)
    p.push(a2)
    admit(p, a1)
    a1.attempt_ran = False  # what the scheduler records when a slot comes back unused
    p.on_finish(a1, 1.0)  # gave back before its retry, nothing was used
    p.push(a1)
    assert order(p) == [a1, a2]
    assert p.counters["a"] == 0.0


# -- least attained service -----------------------------------------------------------------------


def _served(p: LasPolicy, sc: Syscall, start: float, end: float) -> None:
    admit(p, sc, start)
    sc.started_at = start
    sc.attempt_started_at = start
    p.on_finish(sc, end)


def test_las_levels() -> None:
    p = LasPolicy(PolicyOptions(las_first_level_s=1.0))
    for served, level in [(0.0, 0), (0.99, 0), (1.0, 1), (1.99, 1), (2.0, 2), (3.9, 2), (4.0, 3)]:
        p.attained["x"] = served
        assert p.level("x") == level, served


def test_las_least_served_agent_first(make_sc: MakeSyscall) -> None:
    p = LasPolicy(PolicyOptions(las_first_level_s=1.0))
    a1, a2, b1 = make_sc("a"), make_sc("a"), make_sc("b")
    for sc in (a1, a2, b1):
        p.push(sc)
    assert order(p) == [a1, a2, b1]  # same level 0: the agent that came first keeps going
    _served(p, a1, 0.0, 0.5)
    assert p.attained["a"] == pytest.approx(0.5)
    assert order(p) == [a2, b1]  # still level 0
    _served(p, a2, 0.5, 2.5)
    a3 = make_sc("a")
    p.push(a3)
    assert p.level("a") == 2
    assert order(p) == [b1, a3]  # a has had more service: b goes first


def test_las_pure_mode_compares_seconds(make_sc: MakeSyscall) -> None:
    p = LasPolicy(PolicyOptions(las_first_level_s=0.0))
    a1, b1 = make_sc("a"), make_sc("b")
    p.push(a1)
    p.push(b1)
    p.attained.update(a=0.3, b=0.2)
    assert order(p) == [b1, a1]


def test_las_retry_keeps_its_place(make_sc: MakeSyscall) -> None:
    p = LasPolicy()
    a1, a2 = make_sc("a"), make_sc("a")
    p.push(a1)
    p.push(a2)
    admit(p, a1)
    p.push(a1)
    assert order(p) == [a1, a2]


def test_las_counts_each_attempt_once_across_retries() -> None:
    """Service is the time spent running: a retry's backoff is not service."""
    clock = ManualClock()
    policy = LasPolicy(PolicyOptions(las_first_level_s=1.0))
    s = Scheduler(policy, clock)
    s.add_core(CoreSpec("c", api="openai", max_concurrency=1))

    sc = Syscall(kind=Kind.LLM, agent="a", created_at=0.0, candidates=("c",))
    assert s.submit(sc, ThreadWaiter) is None
    clock.advance(0.25)  # first attempt runs 0.25 s, then fails
    s.retry_later(sc, delay=10.0, pause_core_until=None)
    assert s.submit(sc, ThreadWaiter) is not None
    clock.advance(10.0)
    s.poke()
    assert sc.status is Status.RUNNING
    clock.advance(0.25)  # second attempt runs 0.25 s
    s.finish(sc, Status.DONE)
    assert sc.service_s == pytest.approx(0.5)
    assert policy.attained["a"] == pytest.approx(0.5)
