"""The scheduler core: a policy orders the queue, admission checks cores, waiters get woken.

Invariants (tested directly in tests/kernel/test_scheduler_properties.py):
- work-conserving: after every operation, no queued syscall could be admitted right now;
- every syscall ends ``done``, ``failed`` or ``cancelled``, and its waiter is woken exactly once;
- a core's slots and buckets return to full once nothing runs and time has passed.

All state sits behind one lock, so sync callers on any thread and tasks on any event loop can
submit and finish without hopping threads: an uncontended admission costs a few microseconds.
Timers (rate buckets refilling, cool-downs, retry backoff) are armed through ``arm_timer``, which
the kernel backs with its own event loop; tests drive ``poke()`` with a manual clock instead.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aios.errors import BudgetExceeded, KernelShutdown, SharedStateUnavailable
from aios.kernel.clock import Clock, reader
from aios.kernel.cores import AdmissionCore, Core, CoreSpec
from aios.kernel.ledger import Charge, Ledger, LocalLedger
from aios.kernel.policies import Policy
from aios.kernel.syscall import CANCELLED, DONE, FAILED, FINAL, QUEUED, RUNNING, Status, Syscall
from aios.kernel.waiters import Waiter

FinalHook = Callable[[Syscall], None]
#: Builds the core of a spec (``now`` is the clock's time): in-process, or in a shared state.
MakeCore = Callable[[CoreSpec, float], AdmissionCore]
#: What an attempt that ran really used of one budget line it reserved.
Measure = Callable[[Syscall, Charge], float]
#: Syscalls to wake: admitted ones with ``None``, refused ones with the error for their callers.
Woken = Sequence[tuple[Syscall, BaseException | None]]
Refused = Sequence[tuple[Syscall, BaseException]]
#: Most dispatches wake nothing or refuse nothing: they share this instead of a new list each.
_NOTHING: tuple[()] = ()


def estimate_stands(sc: Syscall, charge: Charge) -> float:
    """The default measure: the reserved estimate is what was used."""
    return charge.amount


class Scheduler:
    def __init__(
        self,
        policy: Policy,
        clock: Clock,
        *,
        on_final: FinalHook | None = None,
        arm_timer: Callable[[float], None] | None = None,
        ledger: Ledger | None = None,
        measure: Measure = estimate_stands,
        make_core: MakeCore | None = None,
        immediate: bool = False,
    ) -> None:
        self.policy = policy
        #: Observe mode: every submitted syscall runs at once, whatever its core's state.
        self.immediate = immediate
        self.clock = clock
        self._now = reader(clock)
        self.ledger: Ledger = ledger if ledger is not None else LocalLedger()
        self._measure = measure
        self._make_core: MakeCore = make_core or (lambda spec, now: Core(spec, now=now))
        self.cores: dict[str, AdmissionCore] = {}
        self.running: set[Syscall] = set()
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._on_final = on_final
        self._arm_timer = arm_timer
        self._armed_at = math.inf
        self._closed = False
        #: The syscall whose own caller is submitting it: admitted now, it is sent at once.
        self._submitting: Syscall | None = None
        #: Queued syscalls, and how many of them name each core: a scan for an open core no
        #: queued call names would walk the whole queue for nothing (thousands of calls
        #: waiting on a full LLM core while the tool core is open).
        self._queued: set[Syscall] = set()
        self._queued_on: dict[str, int] = {}

    # -- cores ---------------------------------------------------------------------------------
    def add_core(self, spec: CoreSpec) -> AdmissionCore:
        with self._lock:
            core = self.cores.get(spec.name)
            if core is None:
                core = self.cores[spec.name] = self._make_core(spec, self.clock.now())
            return core

    def core(self, name: str) -> AdmissionCore | None:
        return self.cores.get(name)

    def busy(self) -> bool:
        """Whether some thread is inside the scheduler's lock right now."""
        return self._lock.locked()

    def learn(self, core_name: str, headers: Any, sc: Syscall | None = None) -> None:
        """Adopt what a response (to ``sc``, if known) says of its core's limits; what waits may
        fit now (a slow start ended, a limit grew)."""
        with self._lock:
            core = self.cores.get(core_name)
            if core is None:
                return
            now = self._now()
            core.learn(headers, now, sc)
            if not self._queued:
                return
            woken = self._dispatch(now)
        self._wake(woken)

    # -- submission ----------------------------------------------------------------------------
    def submit(self, sc: Syscall, make_waiter: Callable[[], Waiter]) -> Waiter | None:
        """Queue ``sc`` (new, or running and asking for a retry). ``None`` means it runs now."""
        with self._lock:
            if self._closed:
                raise KernelShutdown("the aios kernel has shut down; no new calls are accepted")
            now = self._now()
            if sc.status is RUNNING:
                self._give_back(sc, now, ran=False)
            elif sc.status in FINAL:
                raise ValueError(f"{sc!r} has already ended; it cannot be queued again")
            if not sc.seq:
                sc.seq = next(self._seq)
            sc.status = QUEUED
            sc.queued_at = now
            if self.immediate:  # on no core's books: nothing to wait for, nothing to give back
                self._admit(sc, None, now)
                self.policy.on_dispatch(sc, now)
                return None
            self.policy.push(sc)
            if (
                not self._queued
                and sc.not_before <= now
                and not sc.charges
                and self._admit_alone(sc, now)
            ):
                return None
            self._track(sc)
            self._submitting = sc
            try:
                woken = self._dispatch(now)
            finally:
                self._submitting = None
            waiter = None
            if sc.status is QUEUED:
                waiter = sc.waiter = make_waiter()
        refusal = self._wake(woken, skip=sc)
        if refusal is not None:
            raise refusal
        return waiter

    def retry_later(self, sc: Syscall, *, delay: float, pause_core_until: float | None) -> None:
        """Before a retry: pause the core the call failed on (429/529), and set the backoff."""
        with self._lock:
            now = self.clock.now()
            sc.not_before = now + max(0.0, delay)
            if pause_core_until is not None and sc.core is not None:
                sc.core.pause(pause_core_until)
            sc.retries += 1

    # -- ending --------------------------------------------------------------------------------
    def finish(
        self,
        sc: Syscall,
        status: Status,
        *,
        error: str | None = None,
        ran: bool = True,
        usage_known: bool = False,
        wake_with: BaseException | None = None,
        headers: Any = None,
    ) -> bool:
        """End ``sc`` (idempotent: only the first call counts). Returns whether this call ended it.

        ``headers`` (the answer's, for a call that succeeded) are learned first, as ``learn``
        would, under the same lock and at the same time: one pass instead of two per call."""
        if status not in FINAL:
            raise ValueError(f"finish() needs a final status, not {status.value!r}")
        waiter = None
        with self._lock:
            now = self._now()
            if headers is not None:
                core = self.cores.get(sc.core_name) if sc.core_name is not None else None
                if core is not None:
                    core.learn(headers, now, sc)
            ended = sc.status not in FINAL
            if ended:
                if sc.status is RUNNING:
                    core = sc.core
                    self._give_back(sc, now, ran=ran, usage_known=usage_known)
                    hold = self.policy.hold_after(sc, now) if status is DONE else 0.0
                    if hold > 0 and core is not None:
                        core.hold(sc.agent, now + hold)
                else:
                    self._dequeue(sc)
                    sc.waited_s += now - sc.queued_at
                    waiter = sc.waiter
                sc.status = status
                sc.error = error
                sc.finished_at = now
                sc.waiter = None
                woken = self._dispatch(now)
                if self._on_final is not None:
                    self._on_final(sc)
            elif headers is not None and self._queued:
                woken = self._dispatch(now)  # what the answer's limits let in now
            else:
                return False
        if waiter is not None:
            waiter.wake(wake_with or KernelShutdown(error or "the syscall ended before it ran"))
        if woken:
            self._wake(woken)
        return ended

    def _give_back(self, sc: Syscall, now: float, *, ran: bool, usage_known: bool = False) -> None:
        core = sc.core
        # The budget first: releasing the slot wakes the other processes sharing the state, and
        # a call of theirs waiting for this reservation must find it settled.
        if sc.budget_held:
            sc.budget_held = False
            used = [self._measure(sc, c) if ran else 0.0 for c in sc.charges]
            self.ledger.settle(sc.charges, used, str(sc.id))
        if core is not None:
            # After a rejection that told us the provider's remaining counts, our buckets already
            # match the provider's: refunding this attempt's charge would put us ahead of it.
            synced, sc.provider_synced = sc.provider_synced, False
            core.release(sc, now, ran=ran or synced, usage_known=usage_known)
        self.running.discard(sc)
        sc.attempt_ran = ran
        self.policy.on_finish(sc, now)  # before the attempt's start is dropped: LAS reads it
        attempt, sc.attempt_started_at = sc.attempt_started_at, None
        if attempt is not None:
            sc.service_s += now - attempt
        sc.core = None

    def _admit_alone(self, sc: Syscall, now: float) -> bool:
        """Admit ``sc`` now if it may run, when no other call of this process waits (the usual
        case): the decision a scan of a queue holding only ``sc`` makes, without the queue's
        bookkeeping. ``sc`` is in the policy already; if it stays there, False (the full scan
        then decides, budget lines and backoff included, which this path leaves to it)."""
        policy = self.policy
        cores = self.cores
        names: Iterable[str] = sc.candidates
        if sc.avoid_core is not None:
            names = self._candidates(sc)
        refused = False
        for name in names:
            core = cores.get(name)
            if core is None:
                continue
            if not core.decides_locally:  # (a local core's ``try_admit`` checks both itself)
                if core.open_until(now) or core.held_from(sc, now):
                    continue
                core.begin_scan()
            try:
                if core.try_admit(sc, now, policy.rank(sc)):
                    refused = True
                    continue
            except SharedStateUnavailable:
                return False  # the scan meets it again and fails the call as it always does
            policy.remove(sc)
            self._admit(sc, core, now)
            policy.on_dispatch(sc, now)
            if refused:  # a core that refused may have put this process in its waiting order
                self._withdraw_idle(now)
            return True
        return False

    # -- the queue -----------------------------------------------------------------------------
    def _track(self, sc: Syscall) -> None:
        """Count ``sc`` (already in the policy) as queued, and the cores it names."""
        self._queued.add(sc)
        counts = self._queued_on
        for name in sc.candidates:
            counts[name] = counts.get(name, 0) + 1

    def _dequeue(self, sc: Syscall) -> None:
        self.policy.remove(sc)
        if sc not in self._queued:
            return  # ended before it was ever queued (refused at submission)
        self._queued.remove(sc)
        counts = self._queued_on
        for name in sc.candidates:
            left = counts[name] - 1
            if left:
                counts[name] = left
            else:
                del counts[name]

    # -- dispatch ------------------------------------------------------------------------------
    def poke(self) -> None:
        """Admit whatever can run now (timers call this when a bucket or cool-down allows)."""
        with self._lock:
            self._armed_at = math.inf
            woken = self._dispatch(self.clock.now())
        self._wake(woken)

    def _dispatch(self, now: float) -> Woken:
        """Admit what can run now. Returns the syscalls to wake: admitted ones with ``None``,
        and those whose budget can never fit with the error to raise in their callers."""
        if self._closed:
            return _NOTHING
        if not self._queued:  # nothing to admit, no timer to arm
            self._withdraw_idle(now)
            return _NOTHING
        woken: list[tuple[Syscall, BaseException | None]] | None = None
        wake_at = math.inf
        policy = self.policy
        queued = self._queued  # what the policy holds (``len(policy)`` costs a call or two)
        while queued:
            chosen, wake_at, refused = self._choose(now, wake_at)
            if refused:
                if woken is None:
                    woken = []
                for sc, error in refused:
                    self._end_queued(sc, now, FAILED, f"{type(error).__name__}: {error}")
                    woken.append((sc, error))
            if chosen is None:
                if refused:
                    continue
                break
            sc, core = chosen
            self._dequeue(sc)
            self._admit(sc, core, now)
            policy.on_dispatch(sc, now)
            if woken is None:
                woken = []
            woken.append((sc, None))
        if wake_at < self._armed_at and wake_at < math.inf and self._arm_timer is not None:
            self._armed_at = wake_at
            self._arm_timer(wake_at)
        self._withdraw_idle(now)
        return _NOTHING if woken is None else woken

    def _withdraw_idle(self, now: float) -> None:
        """Leave the shared waiting order of every core this process no longer waits on (a
        call backing off before its retry holds no place either: it is not trying)."""
        for core in self.cores.values():
            if core.waiting:
                break
        else:
            return  # the usual case, checked without building a list on every dispatch
        registered = [c for c in self.cores.values() if c.waiting]
        wanted = {
            name for sc in self.policy.ordered() if sc.not_before <= now for name in sc.candidates
        }
        for core in registered:
            if core.name not in wanted:
                core.withdraw()

    def _choose(
        self, now: float, wake_at: float
    ) -> tuple[tuple[Syscall, AdmissionCore] | None, float, Refused]:
        """The next syscall to admit, with its slot and budget already reserved; also the
        earliest time something else may fit, and the syscalls whose budget never will.

        Runs on every submit and finish that finds work queued, so the per-pass bookkeeping
        below is only built once something needs it."""
        # Per pass, a core's own state (slots, cool-down, request bucket) is looked at once.
        closed: dict[str, float] | None = None
        # Open cores some queued syscall names, and how many name them: only these can admit.
        wanted: list[tuple[str, int]] | None = None
        cores = self.cores
        queued_on = self._queued_on
        for name, core in cores.items():
            until = core.open_until(now)
            if until:
                if closed is None:
                    closed = {}
                closed[name] = until
                if until < wake_at:
                    wake_at = until
            elif name in queued_on:
                if wanted is None:
                    wanted = []
                wanted.append((name, queued_on[name]))
        if wanted is None:
            return None, wake_at, _NOTHING
        # Only these cores can be tried in this pass (the others are closed or named by no call).
        alone = True  # whether the call being submitted is the only one naming an open core
        sub = self._submitting
        for name, n in wanted:
            cores[name].begin_scan()
            if n != 1 or sub is None or name not in sub.candidates:
                alone = False
        policy = self.policy
        # When only the call being submitted names an open core, the others wait on full ones,
        # and the scan would skip every one of them to reach it at the end of the queue.
        order: Iterable[Syscall] = (sub,) if alone and sub in self._queued else policy.ordered()
        # Per core, (input, output) estimates found too big for its token buckets: a syscall at
        # least as big in both is too big as well (charges grow with each), so it is skipped.
        token_blocked: dict[str, list[tuple[int, int]]] | None = None
        budget_blocked: set[str] | None = None  # budget keys found full this pass
        for sc in order:
            if sc.not_before > now:
                wake_at = min(wake_at, sc.not_before)
                continue
            names: Iterable[str] = sc.candidates
            if sc.avoid_core is not None:
                names = self._candidates(sc)
            for name in names:
                if closed is not None and name in closed:
                    continue
                found = cores.get(name)
                if found is None:
                    continue
                core = found
                held_until = core.held_from(sc, now)
                if held_until:  # a slot kept for another agent: says nothing about token sizes
                    wake_at = min(wake_at, held_until)
                    continue
                est_in, est_out = sc.est_input_tokens, sc.est_output_tokens
                blocked = None if token_blocked is None else token_blocked.get(name)
                if blocked is not None and any(est_in >= i and est_out >= o for i, o in blocked):
                    continue
                if (
                    budget_blocked is not None
                    and sc.charges
                    and any(c.key in budget_blocked for c in sc.charges)
                ):
                    break  # waits for calls in flight to settle; a finish dispatches again
                t = math.inf
                try:
                    t = core.try_admit(sc, now, policy.rank(sc))
                    shortfall = None
                    if not t and sc.charges:
                        shortfall = self.ledger.reserve(sc.charges, str(sc.id))
                except SharedStateUnavailable as exc:
                    if not t:
                        core.release(sc, now, ran=False, usage_known=False)
                    return None, wake_at, [(sc, exc)]
                if not t:
                    if shortfall is None:
                        sc.budget_held = bool(sc.charges)
                        return (sc, core), wake_at, _NOTHING
                    core.release(sc, now, ran=False, usage_known=False)  # undo the slot
                    if shortfall.may_fit_later:
                        if budget_blocked is None:
                            budget_blocked = set()
                        budget_blocked.add(shortfall.charge.key)
                    else:
                        over = BudgetExceeded(f"agent {sc.agent!r} is over budget: {shortfall.describe()}")
                        return None, wake_at, [(sc, over)]
                    break
                wake_at = min(wake_at, t)
                if core.closed_to_all:  # no other call fits here either before ``t``
                    if closed is None:
                        closed = {}
                    closed[name] = t
                    continue
                if core.held_for_others:  # as ``held_from`` above: says nothing about sizes
                    continue
                if blocked is None:
                    if token_blocked is None:
                        token_blocked = {}
                    token_blocked[name] = [(est_in, est_out)]
                elif len(blocked) < 8:
                    blocked.append((est_in, est_out))
        return None, wake_at, _NOTHING

    @staticmethod
    def _candidates(sc: Syscall) -> Iterable[str]:
        if sc.avoid_core is None or len(sc.candidates) < 2:
            return sc.candidates
        # After a failure on one core, try the others first, that one last.
        return [c for c in sc.candidates if c != sc.avoid_core] + [sc.avoid_core]

    def _admit(self, sc: Syscall, core: AdmissionCore | None, now: float) -> None:
        """Mark ``sc`` running on ``core`` (whose slot ``try_admit`` already reserved)."""
        sc.status = RUNNING
        sc.core = core
        sc.core_name = core.name if core is not None else sc.candidates[0]
        sc.waited_s += now - sc.queued_at
        if sc.started_at is None:
            sc.started_at = now
        sc.attempt_started_at = now
        self.running.add(sc)

    def _end_queued(self, sc: Syscall, now: float, status: Status, error: str) -> None:
        """End a queued syscall under the lock (its waiter is woken by the caller)."""
        self._dequeue(sc)
        sc.waited_s += now - sc.queued_at
        sc.status = status
        sc.error = error
        sc.finished_at = now
        if self._on_final is not None:
            self._on_final(sc)

    @staticmethod
    def _wake(woken: Woken, skip: Syscall | None = None) -> BaseException | None:
        """Wake the waiters of ``woken``; returns the error meant for ``skip`` (the submitter,
        which has no waiter yet), if any."""
        mine: BaseException | None = None
        for sc, error in woken:
            if sc is skip:
                mine = error
                continue
            waiter, sc.waiter = sc.waiter, None
            if waiter is not None:
                waiter.wake(error)
        return mine

    # -- shutdown and inspection -----------------------------------------------------------------
    def close(self) -> list[Syscall]:
        """Refuse new work and cancel everything queued; running syscalls end as their callers finish."""
        with self._lock:
            self._closed = True
            queued = list(self.policy.ordered())
        for sc in queued:
            self.finish(
                sc,
                CANCELLED,
                error="the aios kernel shut down before this call could run",
                ran=False,
            )
        return queued

    @property
    def lock(self) -> threading.Lock:
        """Held while reading state that finishing syscalls change (accounting)."""
        return self._lock

    @property
    def closed(self) -> bool:
        return self._closed

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            now = self.clock.now()
            return {
                "queued": len(self.policy),
                "running": len(self.running),
                "policy": self.policy.describe(),
                "cores": {name: core.describe(now) for name, core in self.cores.items()},
            }

    def admissible_now(self) -> list[Syscall]:
        """Queued syscalls that could start right now (empty whenever the invariant holds)."""
        with self._lock:
            now = self.clock.now()
            found = []
            for sc in self.policy.ordered():
                if sc.not_before > now:
                    continue
                for name in sc.candidates:
                    core = self.cores.get(name)
                    if core is not None and not core.wait_for(sc, now):
                        found.append(sc)
                        break
            return found

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<Scheduler {self.policy.name} {state} queued={len(self.policy)} "
            f"running={len(self.running)} cores={len(self.cores)}>"
        )
