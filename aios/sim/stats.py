"""Counters the sim exposes at ``GET /sim/stats``."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.started = time.monotonic()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.rate_limited = 0
        #: When each 429 was sent (``time.monotonic()``, comparable across processes on a host).
        self.rate_limited_at: list[float] = []
        self.input_tokens = 0
        self.output_tokens = 0
        self.streams = 0
        self.by_status: Counter[str] = Counter()
        self.by_endpoint: Counter[str] = Counter()

    def begin(self, endpoint: str) -> None:
        self.requests += 1
        self.by_endpoint[endpoint] += 1
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight

    def end(self) -> None:
        self.in_flight -= 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "rate_limited": self.rate_limited,
            "rate_limited_at": [round(t, 4) for t in self.rate_limited_at],
            "by_status": dict(self.by_status),
            "by_endpoint": dict(self.by_endpoint),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "streams": self.streams,
            "uptime_s": round(time.monotonic() - self.started, 3),
        }
