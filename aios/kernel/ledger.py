"""Budgets by reservation: a call reserves its estimate at admission and settles it at the end.

A budget line is any quantity with a limit that calls consume: an agent's tokens, its cost in
dollars, a run's number of LLM calls. Checking usage *before* a call and adding it *after*
lets every concurrent call pass the check at once; reserving the estimate in the same step as
the check is what keeps usage within the limit (plus whatever a provider reports above the
estimate). The in-process ledger lives here; a shared one (Redis) implements the same protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Charge:
    """One budget line a syscall reserves at admission."""

    #: The ledger key, e.g. ``agent:planner:tokens`` or ``run:ab12:llm_calls``.
    key: str
    #: The estimate reserved (tokens, dollars, calls).
    amount: float
    #: The budget of ``key``.
    limit: float
    #: The configuration key that sets ``limit``, named in the error when it is spent.
    setting: str
    #: What ``amount`` counts, for messages: ``tokens``, ``USD``, ``LLM calls``.
    unit: str = "tokens"


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Why a reservation did not fit: the first charge over its limit, and the line's state."""

    charge: Charge
    used: float
    #: Reserved by calls in flight, which may give part of it back when they settle.
    reserved: float

    @property
    def may_fit_later(self) -> bool:
        """Whether waiting can help: calls in flight hold reservations that may be returned."""
        return self.reserved > 0 and self.used + self.charge.amount <= self.charge.limit

    def describe(self) -> str:
        c = self.charge
        left = max(0.0, c.limit - self.used)
        return (
            f"the call needs {_fmt(c.amount)} {c.unit} of `{c.setting}` = {_fmt(c.limit)}, "
            f"but {_fmt(self.used)} are used and {_fmt(self.reserved)} reserved by calls in "
            f"flight ({_fmt(left)} left); raise `{c.setting}`"
            + (" or lower the call's max_tokens" if c.unit == "tokens" else "")
        )


class Ledger(Protocol):
    """Where budget lines are kept: in this process, or shared by every process of a kernel."""

    def reserve(self, charges: Sequence[Charge], holder: str = "") -> Shortfall | None:
        """Reserve every charge, or none of them, for ``holder`` (one attempt of one call).
        ``None`` when reserved, else the first line that does not fit (checked and reserved in
        one atomic step)."""

    def settle(self, charges: Sequence[Charge], actual: Sequence[float], holder: str = "") -> None:
        """End ``holder``'s reservation of ``charges``: each line's reserved amount goes,
        ``actual`` (what was really used, 0 for an attempt that never ran) is added to its use."""

    def line(self, key: str) -> tuple[float, float]:
        """``(used, reserved)`` of one line."""


class LocalLedger:
    """The in-process ledger. Callers serialise access (the scheduler's lock)."""

    def __init__(self) -> None:
        self._used: dict[str, float] = {}
        self._reserved: dict[str, float] = {}

    def reserve(self, charges: Sequence[Charge], holder: str = "") -> Shortfall | None:
        for c in charges:
            used, reserved = self.line(c.key)
            if used + reserved + c.amount > c.limit:
                return Shortfall(c, used, reserved)
        for c in charges:
            self._reserved[c.key] = self._reserved.get(c.key, 0.0) + c.amount
        return None

    def settle(self, charges: Sequence[Charge], actual: Sequence[float], holder: str = "") -> None:
        for c, used in zip(charges, actual, strict=True):
            self._reserved[c.key] = self._reserved.get(c.key, 0.0) - c.amount
            self._used[c.key] = self._used.get(c.key, 0.0) + used

    def line(self, key: str) -> tuple[float, float]:
        return self._used.get(key, 0.0), self._reserved.get(key, 0.0)

    def lines(self) -> dict[str, tuple[float, float]]:
        keys = self._used.keys() | self._reserved.keys()
        return {k: self.line(k) for k in sorted(keys)}


def _fmt(x: float) -> str:
    return f"{x:.6g}"
