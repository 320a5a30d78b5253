"""Continuously refilling token buckets, the way OpenAI and Anthropic meter requests and tokens."""

from __future__ import annotations

import math


class TokenBucket:
    """A bucket of ``capacity`` units that refills at ``capacity / period`` units a second.

    The level may go below zero when a settled charge turns out larger than its estimate, as a
    provider's own counter does; it then refills from there.
    """

    __slots__ = ("_last", "capacity", "level", "period", "rate")

    def __init__(self, capacity: float, *, period: float = 60.0, now: float = 0.0) -> None:
        if capacity <= 0:
            raise ValueError(f"a bucket needs a positive capacity, got {capacity!r}")
        if period <= 0:
            raise ValueError(f"a bucket needs a positive refill period, got {period!r}")
        self.capacity = float(capacity)
        self.period = float(period)
        self.level = float(capacity)
        self._last = now
        #: Units refilled per second (kept with the capacity: admission reads it on every call).
        self.rate = self.capacity / self.period

    def _refill(self, now: float) -> None:
        last = self._last
        if now > last:
            level = self.level + (now - last) * self.rate
            capacity = self.capacity
            self.level = capacity if level > capacity else level
            self._last = now

    def available(self, now: float) -> float:
        self._refill(now)
        return self.level

    def take(self, amount: float, now: float) -> None:
        """Charge ``amount`` (charging more than the level may go negative)."""
        if now > self._last:
            self._refill(now)
        self.level -= amount

    def give(self, amount: float, now: float) -> None:
        """Return ``amount`` (an over-estimate, or a charge for a call that never ran)."""
        self._refill(now)
        self.level = min(self.capacity, self.level + amount)

    def time_until(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` (at most the capacity) is available; 0 if it is now."""
        # ``_refill`` inlined: admission asks this of every bucket on every call.
        capacity, level, last = self.capacity, self.level, self._last
        if now > last:
            level += (now - last) * self.rate
            if level > capacity:
                level = capacity
            self.level, self._last = level, now
        need = (amount if amount <= capacity else capacity) - level
        return 0.0 if need <= 0 else need / self.rate

    def resize(self, capacity: float, now: float) -> None:
        """Adopt a capacity learned from the provider, keeping the used part."""
        self._refill(now)
        used = self.capacity - self.level
        self.capacity = float(capacity)
        self.rate = self.capacity / self.period
        self.level = self.capacity - used

    def observe_remaining(
        self, remaining: float, now: float, in_flight: float = 0.0, slack_s: float = 0.0
    ) -> bool:
        """Trust the provider when it has fewer units left than we can explain; True if it had.

        ``remaining`` is the provider's count when it admitted a call (rounded down), before
        ``in_flight`` (our charges it has not answered yet, which it may or may not have seen)
        and before up to ``slack_s`` seconds of refill (since we sent that call). Our level less
        what is in flight never exceeds the provider's level when we are its only client; if it
        does by more than the rounding and that refill, someone else uses the key: adopt the
        provider's count (counting what is in flight again, which errs on the safe side).
        """
        if now > self._last:
            self._refill(now)
        if self.level - in_flight > remaining + 1.0 + self.rate * max(0.0, slack_s):
            self.level = max(-math.inf, remaining)
            return True
        return False

    def __repr__(self) -> str:
        return f"TokenBucket(level={self.level:.1f}/{self.capacity:.0f} per {self.period:g}s)"
