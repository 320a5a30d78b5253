"""A core whose admission state is shared: the same limits for every process using the state."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from aios.kernel.cores import (
    BUCKETS,
    Core,
    CoreSpec,
    actual,
    charge,
    configured_limits,
    is_rejection,
    probes_limits,
    rate_limits_in,
    refunds_unused,
)
from aios.kernel.shared.state import SharedState
from aios.kernel.syscall import Syscall

_SHORT = {"requests": "r", "tokens": "t", "input_tokens": "i", "output_tokens": "o"}
_LONG = {v: k for k, v in _SHORT.items()}
#: A call held back by another process's better-ranked call is woken by that call's admission;
#: this is only the fallback should that message be lost.
_ORDER_RECHECK_S = 0.25


class SharedCore:
    """The scheduler's view of a core kept in a shared state (same methods as :class:`Core`).

    Every decision is one script run on the server; nothing is read and then written from here.
    If the server is lost and ``redis_unavailable = "local"``, the core carries on as a plain
    per-process :class:`Core`.
    """

    def __init__(self, spec: CoreSpec, state: SharedState, now: float) -> None:
        self.spec = spec
        self.state = state
        self.local = Core(spec, now=now)
        self.keys = state.core_keys(spec.name)
        self.channel = state.wake_channel(spec.name)
        limits = configured_limits(spec)
        self._configured = [limits.get(b, 0) for b in BUCKETS]
        self._probe = "1" if probes_limits(spec) else "0"
        self._refunds = "1" if refunds_unused(spec) else "0"
        #: This process's calls holding a slot here (through the shared state).
        self._mine = 0
        #: Whether this process has a call registered in the shared waiting order.
        self.waiting = False
        #: Whether the last refusal holds for a call of any size (see ``AdmissionCore``).
        self.closed_to_all = False
        #: Whether the last refusal was for slots kept for other agents (see ``AdmissionCore``).
        self.held_for_others = False
        #: Admission is a round trip to the server: cheap local checks go first.
        self.decides_locally = False
        self._cooldown_until = 0.0
        self._attempts = 0
        self._first_of_scan = True
        #: Where the shared order stands (``order_floor`` in common.lua) as of this process's
        #: last admission try or heartbeat; None before the first admission anywhere.
        self.served_rank: float | None = None
        self.set_floor(state.run(state.misc_script, self.keys, ["floor", state.process]))
        state.watch_floor(self.keys, self.set_floor)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def in_use(self) -> int:
        return self._mine + self.local.in_use

    @property
    def probing(self) -> bool:
        return self.local.probing if self.state.degraded else self._probe == "1"

    # -- admission -------------------------------------------------------------------------------
    def open_until(self, now: float) -> float:
        if self.state.degraded:
            return self.local.open_until(now)
        return self._cooldown_until if self._cooldown_until > now else 0.0

    def held_from(self, sc: Syscall, now: float) -> float:
        return self.local.held_from(sc, now) if self.state.degraded else 0.0

    def wait_for(self, sc: Syscall, now: float) -> float:
        """Read-only: 0 if ``sc`` would be admitted now (ignoring other processes' order)."""
        if self.state.degraded:
            return self.local.wait_for(sc, now)
        result = self._admit(sc, now, rank=0.0, lease="-", dry=True)
        if result is None:
            return self.local.wait_for(sc, now)
        return 0.0 if int(result[0]) == 0 else self._time(result[1], now)

    def set_floor(self, reply: Any) -> None:
        if reply:  # None: the server is lost; empty: nothing admitted here yet
            self.served_rank = float(reply)

    def begin_scan(self) -> None:
        self._first_of_scan = True

    def try_admit(self, sc: Syscall, now: float, rank: float = 0.0) -> float:
        self.closed_to_all = self.held_for_others = False
        if self.state.degraded:
            return self.local.try_admit(sc, now, rank)
        self._attempts += 1
        lease = f"{self.state.process}:{sc.id}:{self._attempts}"
        result = self._admit(sc, now, rank=rank, lease=lease, dry=False)
        self._first_of_scan = False
        if result is None:  # the server was lost just now: decide locally
            self.waiting = False
            return self.local.try_admit(sc, now, rank)
        code = int(result[0])
        if len(result) > 2:
            self.set_floor(result[2])
        if code == 0:
            self.waiting = False
            self._mine += 1
            sc.lease_id = lease
            self.state.hold_lease(self.keys, lease)
            sc.pending_charges = _parse(result[1]) or None  # in flight until the answer
            return 0.0
        self.waiting = True
        # Slots, cool-down or request bucket (3), or another process's turn (2, and this
        # process's later calls rank no better): none of its other calls need a round trip.
        self.closed_to_all = code in (2, 3)
        self.held_for_others = code == 4
        if code == 2:
            return now + _ORDER_RECHECK_S
        return self._time(result[1], now)

    def _admit(self, sc: Syscall, now: float, *, rank: float, lease: str, dry: bool) -> Any:
        cap = self.spec.max_concurrency
        return self.state.run(
            self.state.admit_script,
            self.keys,
            [
                now,
                lease,
                self.state.process,
                rank,
                self.state.ttl,
                -1 if cap is None else cap,
                self.spec.rate_window_s,
                self.spec.rate_margin_s,
                self._probe,
                *self._configured,
                *(charge(b, sc) for b in BUCKETS),
                sc.agent,
                "1" if dry else "0",
                self.channel,
                "1" if self._first_of_scan else "0",
            ],
            admission=not dry,
        )

    @staticmethod
    def _time(text: Any, now: float) -> float:
        t = float(text)
        return math.inf if t < 0 else max(t, now + 1e-6)

    def withdraw(self) -> None:
        """This process has no call waiting here any more: stop holding a place in the order."""
        self.waiting = False
        self.state.run(
            self.state.misc_script, self.keys, ["withdraw", self.state.process, self.channel]
        )

    # -- a call's life -----------------------------------------------------------------------------
    def release(self, sc: Syscall, now: float, *, ran: bool, usage_known: bool) -> None:
        lease, sc.lease_id = sc.lease_id, None
        if lease is None:
            self.local.release(sc, now, ran=ran, usage_known=usage_known)
            return
        self._mine -= 1
        sc.pending_charges = sc.charged = None
        self.state.drop_lease(self.keys, lease)
        self.state.run(
            self.state.release_script,
            self.keys,
            [
                now,
                self.spec.rate_window_s,
                lease,
                "1" if ran else "0",
                "1" if usage_known else "0",
                self._refunds,
                *(actual(b, sc) for b in BUCKETS),
                self.channel,
                self.state.process,
            ],
        )
        if ran:
            self._probe = "0"

    def pause(self, until: float) -> None:
        self._cooldown_until = max(self._cooldown_until, until)
        self.local.pause(until)
        self.state.run(self.state.misc_script, self.keys, ["pause", until])

    def hold(self, agent: str, until: float) -> None:
        self.local.hold(agent, until)
        if self.spec.max_concurrency is not None:
            self.state.run(self.state.misc_script, self.keys, ["hold", agent, until])

    def learn(self, headers: Mapping[str, str], now: float, sc: Syscall | None = None) -> None:
        """As ``Core.learn``: the answered call's charges enter the buckets, then the limits."""
        self.local.learn(headers, now, sc if sc is not None and sc.lease_id is None else None)
        lease, slack, rejected = "-", 0.0, is_rejection(headers)
        if sc is not None and sc.lease_id is not None and sc.pending_charges is not None:
            lease, charges, sc.pending_charges = sc.lease_id, sc.pending_charges, None
            sc.charged = None if rejected else charges
            if sc.attempt_started_at is not None:
                slack = now - sc.attempt_started_at
        announced = rate_limits_in(headers) if self.spec.learn_limits else None
        if announced is None and lease == "-" and self._probe == "0":
            return  # nothing to learn, nothing arrived
        if self.spec.learn_limits:
            self._probe = "0"  # the provider answered: what it says of its limits is all we learn
        configured = configured_limits(self.spec)
        args: list[Any] = [now, self.spec.rate_window_s, self.channel, self.state.process]
        for b in BUCKETS:
            limit, remaining = (announced or {}).get(b, (-1, None))
            args += [limit, -1 if remaining is None else remaining, "1" if b in configured else "0"]
        self.state.run(
            self.state.learn_script, self.keys, [*args, lease, slack, "1" if rejected else "0"]
        )

    # -- inspection --------------------------------------------------------------------------------
    def describe(self, now: float) -> dict[str, Any]:
        raw = None
        if not self.state.degraded:
            raw = self.state.run(self.state.misc_script, self.keys, ["describe", now])
        if raw is None:
            return {**self.local.describe(now), "shared": False}
        view = core_view(raw, now, self.spec.rate_window_s)
        return {
            "api": self.spec.api,
            "base_url": self.spec.base_url,
            "max_concurrency": self.spec.max_concurrency,
            **view,
            "in_use_here": self._mine,
        }

    def __repr__(self) -> str:
        return f"<SharedCore {self.name!r} in_use_here={self._mine}>"


def core_view(raw: list[Any], now: float, window: float | None = None) -> dict[str, Any]:
    """A core's state, as ``describe`` returns it, in the shape of ``Core.describe``."""
    fields = dict(zip(raw[::2], raw[1::2], strict=True))
    window = window or float(fields.get("window") or 60.0)
    buckets = {}
    for short, name in _LONG.items():
        cap = fields.get(f"{short}:cap")
        if cap is None:
            continue
        capacity = float(cap)
        level = float(fields.get(f"{short}:lvl") or cap)
        last = float(fields.get(f"{short}:t") or now)
        level = min(capacity, level + max(0.0, now - last) * capacity / window)
        buckets[name] = {
            "capacity": capacity,
            "available": round(level, 3),
            "learned": fields.get(f"{short}:learned") == "1",
            "pending": float(fields.get(f"{short}:pend") or 0),
        }
    cap = int(float(fields.get("cap") or -1))
    return {
        "max_concurrency": None if cap < 0 else cap,
        "in_use": int(fields["in_use"]),
        "waiting_processes": int(fields["waiting_processes"]),
        "admitted": int(float(fields.get("admitted", 0))),
        "cooling_down_s": max(0.0, float(fields.get("cool", 0)) - now),
        "pauses": int(float(fields.get("paused", 0))),
        "probing": fields.get("probing") == "1",
        "contended": fields.get("contended") == "1",
        "buckets": buckets,
        "shared": True,
    }


def _parse(record: str) -> dict[str, float]:
    """``P r=1 t=300`` (as the admission script records charges; ``C`` once charged) ->
    ``{"requests": 1, "tokens": 300}``."""
    out: dict[str, float] = {}
    for part in record.split()[1:]:
        short, _, amount = part.partition("=")
        out[_LONG[short]] = float(amount)
    return out
