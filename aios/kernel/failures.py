"""What went wrong with an attempt, and whether and when to try again."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Failure:
    """An adapter's reading of an exception raised by a provider call."""

    retryable: bool
    #: ``rate_limit``, ``overloaded``, ``server``, ``connection``, ``timeout``, ``quota``,
    #: ``client`` or ``other``.
    reason: str = "other"
    status: int | None = None
    #: Seconds the provider asked us to wait, if it said.
    retry_after: float | None = None
    #: Whether the whole endpoint should wait (a 429 or 529 concerns every call, not just this one).
    pause_core: bool = False
    #: Response headers of the failed attempt (a 429 still announces the limits).
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None


def classify_generic(exc: BaseException) -> Failure:
    """Fallback for exceptions no adapter recognised: only network trouble is worth a retry."""
    if isinstance(exc, TimeoutError):
        return Failure(True, "timeout")
    if isinstance(exc, ConnectionError):
        return Failure(True, "connection")
    return Failure(False, "other")


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter for retry number ``attempt`` (1-based)."""
    ceiling = min(cap, base * 2.0 ** (attempt - 1))
    return float(ceiling * (0.5 + rng.random() / 2))
