"""Property test of ``las`` inside the scheduler: never an agent with more service first.

Hypothesis interleaves submissions of several agents, clock advances and finishes on one core
with few slots. Every time the scheduler admits a call, no agent still waiting may be in a
lower level than the admitted call's agent (with the first level at 0 s, levels are the
attained seconds themselves: strict least attained service).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aios.kernel.clock import ManualClock
from aios.kernel.cores import CoreSpec
from aios.kernel.policies import LasPolicy, PolicyOptions
from aios.kernel.scheduler import Scheduler
from aios.kernel.syscall import Kind, Status, Syscall

AGENTS = ("a", "b", "c", "d")


class Waiter:
    def wake(self, error: BaseException | None) -> None:
        pass


class CheckedLas(LasPolicy):
    """``las`` that records, at each admission, the admitted level and the waiting levels."""

    def __init__(self, options: PolicyOptions) -> None:
        super().__init__(options)
        self.violations: list[tuple[str, float, str, float]] = []
        self.admissions = 0

    def on_dispatch(self, sc: Syscall, now: float) -> None:
        self.admissions += 1
        mine = self.level(sc.agent)
        for other in self.queues:  # ``sc`` was removed just before: these still wait
            if other != sc.agent and self.level(other) < mine:
                self.violations.append((sc.agent, mine, other, self.level(other)))
        super().on_dispatch(sc, now)


ops = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), st.sampled_from(AGENTS)),
        st.tuples(st.just("finish"), st.integers(0, 7), st.floats(0.0, 3.0)),
        st.tuples(st.just("tick"), st.floats(0.0, 0.1)),  # the kernel's timer: holds may lapse
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(
    ops=ops,
    first_level=st.sampled_from([0.0, 0.25, 1.0]),
    hold=st.sampled_from([0.0, 0.05]),
    slots=st.integers(1, 3),
)
def test_las_never_admits_more_served_agents_ahead_of_less_served_waiting_ones(
    ops: list[tuple[object, ...]], first_level: float, hold: float, slots: int
) -> None:
    clock = ManualClock()
    policy = CheckedLas(PolicyOptions(las_first_level_s=first_level, las_hold_s=hold))
    s = Scheduler(policy, clock, arm_timer=lambda at: None)
    s.add_core(CoreSpec("c", api="openai", max_concurrency=slots))
    calls: list[Syscall] = []
    for op in ops:
        if op[0] == "submit":
            agent = str(op[1])
            sc = Syscall(kind=Kind.LLM, agent=agent, created_at=clock.now(), candidates=("c",))
            calls.append(sc)
            s.submit(sc, Waiter)
        elif op[0] == "tick":
            clock.advance(float(op[1]))  # type: ignore[arg-type]
            s.poke()
        else:
            running = [c for c in calls if c.status is Status.RUNNING]
            if running:
                clock.advance(float(op[2]))  # type: ignore[arg-type]
                s.finish(running[int(op[1]) % len(running)], Status.DONE)  # type: ignore[call-overload]
    clock.advance(hold)  # every hold lapses, as the kernel's timer would see
    s.poke()
    assert policy.violations == []
    # Nothing left admissible: the checks above covered every admission that could happen.
    assert s.admissible_now() == []
