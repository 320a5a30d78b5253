"""Seeded fault injection: one uniform draw per generation request, in arrival order.

The draw is compared with the configured rates stacked in a fixed order, so a given seed and
request order always injects the same faults. Stream-only faults map to "none" for
non-streamed requests (the draw is still consumed, keeping the sequence aligned).
"""

from __future__ import annotations

import random
from collections import Counter

from .config import Faults

KINDS = ("429", "500", "529", "stall", "disconnect", "stream_error")


class FaultInjector:
    def __init__(self, faults: Faults, seed: int) -> None:
        self.faults = faults
        self.seed = seed
        self._rng = random.Random(seed)
        self.counts: Counter[str] = Counter()

    def reset(self) -> None:
        self._rng = random.Random(self.seed)
        self.counts.clear()

    def draw(self, stream: bool) -> str | None:
        if not self.faults.any:
            return None
        u = self._rng.random()
        f = self.faults
        edge = 0.0
        for kind, rate in zip(
            KINDS,
            (f.rate_429, f.rate_500, f.rate_529, f.stall, f.disconnect, f.stream_error),
            strict=True,
        ):
            edge += rate
            if u < edge:
                if kind in ("disconnect", "stream_error") and not stream:
                    return None
                self.counts[kind] += 1
                return kind
        return None
