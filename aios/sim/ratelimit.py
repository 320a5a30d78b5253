"""Provider rate limits: continuously refilling token buckets, per API key.

Each bucket holds up to its per-minute limit and refills at limit/60 per simulated second
(both providers document this "continuous replenishment", not fixed windows). Buckets are kept
per (flavor, API key), so two keys never share a quota; OpenAI-flavored paths and Anthropic
paths are separate organisations. Simulated time runs ``time_scale`` times faster than real
time; every duration put in a header (resets, retry-after) is converted back to real time, so
a client that obeys it succeeds.

OpenAI charges input + max_tokens (or ``default_max_tokens``) against its token bucket at
admission. Anthropic charges input tokens against ITPM and max_tokens against OTPM at
admission, then refunds the output it did not use.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .config import SimConfig
from .errors import Flavor

Clock = Callable[[], float]


class Bucket:
    __slots__ = ("capacity", "level", "rate", "stamp")

    def __init__(self, per_minute: int, now: float) -> None:
        self.capacity = float(per_minute)
        self.level = float(per_minute)
        self.rate = per_minute / 60.0
        self.stamp = now

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait(self, amount: float) -> float:
        """Simulated seconds until ``amount`` is available (inf if it never fits)."""
        if amount > self.capacity:
            return math.inf
        return max(0.0, (amount - self.level) / self.rate)

    def until_full(self) -> float:
        return (self.capacity - self.level) / self.rate


@dataclass(slots=True)
class Denial:
    bucket: str  # "requests" | "tokens" | "input_tokens" | "output_tokens"
    limit: int
    requested: int
    used: int
    wait_real: float  # real seconds; inf when the request can never fit
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Admission:
    key: tuple[str, str]
    headers: dict[str, str]
    output_charged: int = 0


def go_duration(seconds: float) -> str:
    """Format like OpenAI's reset headers: ``12ms``, ``1.5s``, ``6m0s``."""
    if seconds < 1:
        return f"{max(0, math.ceil(seconds * 1000))}ms"
    if seconds < 60:
        return f"{round(seconds, 3):g}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{round(rest, 3):g}s"


def _rfc3339(real_seconds_from_now: float) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=real_seconds_from_now)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class RateLimiter:
    def __init__(self, config: SimConfig, clock: Clock = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._buckets: dict[tuple[str, str], dict[str, Bucket]] = {}
        self.admitted = 0
        self.denied = 0
        #: When the first and the last admitted request arrived (the real clock): the span a
        #: client's rate limit governs, without its own start-up and last answer.
        self.first_admitted_at: float | None = None
        self.last_admitted_at: float | None = None

    @property
    def enabled(self) -> bool:
        c = self.config
        return any(x is not None for x in (c.rpm, c.tpm, c.input_tpm, c.output_tpm))

    def now(self) -> float:
        return self._clock() * self.config.time_scale

    def reset(self) -> None:
        self._buckets.clear()
        self.admitted = self.denied = 0
        self.first_admitted_at = self.last_admitted_at = None

    def _limits(self, flavor: Flavor) -> dict[str, int]:
        c = self.config
        limits: dict[str, int | None]
        if flavor == "anthropic":
            limits = {
                "requests": c.rpm,
                "input_tokens": c.input_tpm or c.tpm,
                "output_tokens": c.output_tpm or c.tpm,
            }
        else:
            limits = {"requests": c.rpm, "tokens": c.tpm}
        return {k: v for k, v in limits.items() if v is not None}

    def _get(self, flavor: Flavor, api_key: str) -> tuple[tuple[str, str], dict[str, Bucket]]:
        key = (flavor, api_key)
        buckets = self._buckets.get(key)
        if buckets is None:
            now = self.now()
            buckets = {name: Bucket(v, now) for name, v in self._limits(flavor).items()}
            self._buckets[key] = buckets
        return key, buckets

    def admit(
        self, flavor: Flavor, api_key: str, input_tokens: int, max_tokens: int | None
    ) -> Admission | Denial:
        key, buckets = self._get(flavor, api_key)
        now = self.now()
        for bucket in buckets.values():
            bucket.refill(now)
        out = max_tokens if max_tokens is not None else self.config.default_max_tokens
        cost = {
            "requests": 1,
            "tokens": input_tokens + out,
            "input_tokens": input_tokens,
            "output_tokens": out,
        }
        worst: tuple[float, str] | None = None
        for name, bucket in buckets.items():
            wait = bucket.wait(cost[name])
            if wait > 0 and (worst is None or wait > worst[0]):
                worst = (wait, name)
        if worst is not None:
            self.denied += 1
            name = worst[1]
            bucket = buckets[name]
            return Denial(
                bucket=name,
                limit=int(bucket.capacity),
                requested=cost[name],
                used=int(bucket.capacity - bucket.level),
                wait_real=worst[0] / self.config.time_scale,
                headers=self._headers(flavor, buckets),
            )
        for name, bucket in buckets.items():
            bucket.level -= cost[name]
        self.admitted += 1
        self.last_admitted_at = self._clock()
        if self.first_admitted_at is None:
            self.first_admitted_at = self.last_admitted_at
        return Admission(key, self._headers(flavor, buckets), out if flavor == "anthropic" else 0)

    def settle(self, admission: Admission, output_tokens: int) -> None:
        """Refund Anthropic output tokens reserved at admission but not generated."""
        buckets = self._buckets.get(admission.key)
        if not buckets or "output_tokens" not in buckets:
            return
        unused = admission.output_charged - output_tokens
        if unused > 0:
            bucket = buckets["output_tokens"]
            bucket.refill(self.now())
            bucket.level = min(bucket.capacity, bucket.level + unused)

    def _headers(self, flavor: Flavor, buckets: dict[str, Bucket]) -> dict[str, str]:
        scale = self.config.time_scale
        headers: dict[str, str] = {}
        if flavor == "anthropic":
            for name, bucket in buckets.items():
                prefix = f"anthropic-ratelimit-{name.replace('_', '-')}"
                headers[f"{prefix}-limit"] = str(int(bucket.capacity))
                headers[f"{prefix}-remaining"] = str(max(0, int(bucket.level)))
                headers[f"{prefix}-reset"] = _rfc3339(bucket.until_full() / scale)
            token_buckets = [b for n, b in buckets.items() if n != "requests"]
            if token_buckets:
                tightest = min(token_buckets, key=lambda b: b.level / b.capacity)
                headers["anthropic-ratelimit-tokens-limit"] = str(int(tightest.capacity))
                headers["anthropic-ratelimit-tokens-remaining"] = str(max(0, int(tightest.level)))
                headers["anthropic-ratelimit-tokens-reset"] = _rfc3339(tightest.until_full() / scale)
            return headers
        for name, bucket in buckets.items():
            headers[f"x-ratelimit-limit-{name}"] = str(int(bucket.capacity))
            headers[f"x-ratelimit-remaining-{name}"] = str(max(0, int(bucket.level)))
            headers[f"x-ratelimit-reset-{name}"] = go_duration(bucket.until_full() / scale)
        return headers
