"""Time sources. The kernel reads time only through a Clock so tests can drive it by hand."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...


class MonotonicClock:
    """The real clock."""

    def now(self) -> float:
        return time.monotonic()


def reader(clock: Clock) -> Callable[[], float]:
    """``clock.now``; for the real clock, ``time.monotonic`` itself (a Python call less per
    reading on the per-call path)."""
    return time.monotonic if type(clock) is MonotonicClock else clock.now


class ManualClock:
    """A clock that only moves when told to; thread-safe."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"a clock cannot go back: advance({seconds!r})")
        with self._lock:
            self._now += seconds
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now:.6f})"
