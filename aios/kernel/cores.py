"""LLM cores: endpoints with slots, rate buckets and cool-downs, and what admission asks of them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aios.kernel.buckets import TokenBucket
from aios.kernel.syscall import Syscall

#: Once the provider has shown use we cannot see (a rejection, or fewer left than our books
#: explain), the key has other clients that our refill times do not account for: calls then wait
#: for this much extra refill, or every client would send the moment one unit refills and all
#: but one be rejected (the same constant is in the shared state's admit.lua).
CONTENDED_MARGIN_S = 0.25

#: Which bucket a syscall's estimate is charged to, by bucket name.
BUCKETS = ("requests", "tokens", "input_tokens", "output_tokens")


@dataclass(frozen=True)
class CoreSpec:
    """The configured shape of a core. ``None`` limits are unlimited (or learned from headers)."""

    name: str
    api: str
    base_url: str | None = None
    max_concurrency: int | None = None
    rpm: int | None = None
    tpm: int | None = None
    input_tpm: int | None = None
    output_tpm: int | None = None
    rate_window_s: float = 60.0
    rate_margin_s: float = 0.0
    fallbacks: tuple[str, ...] = ()
    #: Where calls routed here really go (same API kind): another base URL, key or model.
    target_base_url: str | None = None
    target_model: str | None = None
    target_api_key_env: str | None = None
    learn_limits: bool = True


#: API families whose providers announce their rate limits in response headers.
_ANNOUNCING = frozenset({"openai", "anthropic"})


def probes_limits(spec: CoreSpec) -> bool:
    """Whether a new core starts slowly: a provider that announces its limits, none of them
    configured, none learned yet."""
    family = spec.api.split(".", 1)[0]
    return spec.learn_limits and family in _ANNOUNCING and not configured_limits(spec)


def refunds_unused(spec: CoreSpec) -> bool:
    """OpenAI counts input + max_tokens when a request is admitted and keeps that charge;
    Anthropic estimates from max_tokens, then adjusts to the real output at the end."""
    return not spec.api.startswith("openai")


def charge(bucket: str, sc: Syscall) -> float:
    if bucket == "requests":
        return 1.0
    if bucket == "tokens":
        return float(sc.est_input_tokens + sc.est_output_tokens)
    if bucket == "input_tokens":
        return float(sc.est_input_tokens)
    return float(sc.est_output_tokens)


def actual(bucket: str, sc: Syscall) -> float:
    if bucket == "requests":
        return 1.0
    if bucket == "tokens":
        return float(sc.input_tokens + sc.output_tokens)
    if bucket == "input_tokens":
        return float(sc.input_tokens)
    return float(sc.output_tokens)


# (header prefix, bucket name) pairs each provider sends on every response.
_OPENAI_HEADERS = {"requests": "requests", "tokens": "tokens"}
_ANTHROPIC_HEADERS = {
    "requests": "requests",
    "tokens": "tokens",
    "input-tokens": "input_tokens",
    "output-tokens": "output_tokens",
}


class AdmissionCore(Protocol):
    """What the scheduler asks of a core: :class:`Core` keeps its state in this process,
    ``aios.kernel.shared.SharedCore`` in a state shared by every process of a kernel."""

    spec: CoreSpec
    #: Whether this process holds a place in a shared waiting order here (see ``withdraw``).
    waiting: bool
    #: Whether the last refusal of ``try_admit`` holds for a call of any size (slots, cool-down,
    #: request bucket, another process's turn): the scan tries no other call here in that pass.
    closed_to_all: bool
    #: Whether the last refusal of ``try_admit`` was for slots kept for other agents (a call of
    #: theirs may fit): unlike a refusal for its size, it tells nothing of larger calls.
    held_for_others: bool
    #: Whether ``try_admit`` decides in this process (no round trip), checking ``open_until``
    #: and ``held_from`` itself: a call may then be tried without asking those first.
    decides_locally: bool

    @property
    def probing(self) -> bool:
        """Slow start: one call at a time until the provider has answered one."""
        ...

    @property
    def name(self) -> str: ...
    @property
    def in_use(self) -> int: ...
    def open_until(self, now: float) -> float: ...
    def held_from(self, sc: Syscall, now: float) -> float: ...
    def wait_for(self, sc: Syscall, now: float) -> float: ...
    def try_admit(self, sc: Syscall, now: float, rank: float = 0.0) -> float: ...
    def release(self, sc: Syscall, now: float, *, ran: bool, usage_known: bool) -> None: ...
    def pause(self, until: float) -> None: ...
    def hold(self, agent: str, until: float) -> None: ...
    def learn(self, headers: Mapping[str, str], now: float, sc: Syscall | None = None) -> None: ...
    def describe(self, now: float) -> dict[str, Any]: ...
    def withdraw(self) -> None: ...
    def begin_scan(self) -> None: ...


@dataclass
class Core:
    """An endpoint as admission sees it. Callers hold the scheduler lock."""

    spec: CoreSpec
    now: float = 0.0
    in_use: int = 0
    cooldown_until: float = 0.0
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    learned: set[str] = field(default_factory=set)
    admitted: int = 0
    paused: int = 0
    #: Charges of calls admitted and not yet answered by the provider (in flight), by bucket.
    pending: dict[str, float] = field(default_factory=dict)
    #: Slots kept for an agent whose next call is expected shortly: agent -> until.
    holds: dict[str, float] = field(default_factory=dict)
    #: Slow start: until the provider has told us its limits (or that it sends none), one call
    #: at a time, so the first burst cannot overrun limits nobody knows yet.
    probing: bool = False
    #: The provider has shown use by other clients of the key (see ``CONTENDED_MARGIN_S``).
    contended: bool = False
    #: Never registered in a shared waiting order (see ``SharedCore``).
    waiting: bool = False
    #: ``open_until`` already tells when no call fits, before any is tried.
    closed_to_all: bool = False
    #: ``held_from`` already tells when slots are kept for others, before a call is tried.
    held_for_others: bool = False
    decides_locally: bool = field(default=True, init=False, repr=False)
    #: The buckets whose limit the configuration sets (the spec is frozen: worked out once).
    configured: frozenset[str] = field(default=frozenset(), init=False, repr=False)

    def __post_init__(self) -> None:
        s = self.spec
        limits = configured_limits(s)
        for name, limit in limits.items():
            self.buckets[name] = TokenBucket(limit, period=s.rate_window_s, now=self.now)
        self.configured = frozenset(limits)
        self.probing = probes_limits(s)

    @property
    def name(self) -> str:
        return self.spec.name

    def has_free_slot(self) -> bool:
        limit = 1 if self.probing else self.spec.max_concurrency
        return limit is None or self.in_use < limit

    def open_until(self, now: float) -> float:
        """0 if the core could admit *something* now, else when that may change (inf: an event)."""
        if self.cooldown_until > now:
            return self.cooldown_until
        limit = 1 if self.probing else self.spec.max_concurrency  # ``has_free_slot``, inlined
        if limit is not None and self.in_use >= limit:
            return math.inf
        requests = self.buckets.get("requests")
        if requests is not None:
            wait = self._bucket_wait("requests", requests, 1.0, now)
            if wait > 0:
                return now + wait
        return 0.0

    def _bucket_wait(self, name: str, bucket: TokenBucket, amount: float, now: float) -> float:
        """Seconds until ``amount`` fits, counting the calls in flight (inf: never by refill
        alone; an answer or a release will look again)."""
        # ``rate_margin_s`` (0 unless configured): extra refill to wait for, for a provider that
        # counts differently from a continuously refilling bucket.
        margin = self.spec.rate_margin_s
        if self.contended and margin < CONTENDED_MARGIN_S:
            margin = CONTENDED_MARGIN_S
        capacity = bucket.capacity
        need = amount + bucket.rate * margin if margin else amount
        if need > capacity:
            need = capacity
        need += self.pending.get(name, 0.0)
        if need > capacity:
            return math.inf
        return bucket.time_until(need, now)

    def hold(self, agent: str, until: float) -> None:
        """Keep a slot free for ``agent`` until ``until`` (its next call is on its way)."""
        if self.spec.max_concurrency is not None:
            self.holds[agent] = until

    def _held_for_others(self, agent: str, now: float) -> tuple[int, float]:
        """Slots held for other agents, and when the first of those holds ends."""
        for who in [a for a, until in self.holds.items() if until <= now]:
            del self.holds[who]
        others = [until for who, until in self.holds.items() if who != agent]
        return len(others), min(others, default=math.inf)

    def held_from(self, sc: Syscall, now: float) -> float:
        """0 unless every free slot is kept for other agents; then when the first hold ends."""
        if not self.holds:
            return 0.0
        held, first_end = self._held_for_others(sc.agent, now)
        limit = self.spec.max_concurrency
        if limit is not None and self.in_use + held >= limit:
            return first_end
        return 0.0

    def wait_for(self, sc: Syscall, now: float) -> float:
        """0 if ``sc`` may be admitted now, else the earliest time it might be."""
        wait = self.open_until(now) or self.held_from(sc, now)
        if wait:
            return wait
        latest = 0.0
        for name, bucket in self.buckets.items():
            if name == "requests":
                continue  # ``open_until`` just found room for this call's one request
            t = self._bucket_wait(name, bucket, charge(name, sc), now)
            if t > 0:
                latest = max(latest, now + t)
        return latest

    def try_admit(self, sc: Syscall, now: float, rank: float = 0.0) -> float:
        """Reserve a slot for ``sc`` if it may be admitted now (returns 0), else return the
        earliest time it might be (``inf``: when something ends). Check and reservation are one
        step, as a shared state must make them. ``rank`` orders this call among the calls of
        other processes sharing the core (unused here: the policy already ordered this process's)."""
        wait = self.wait_for(sc, now)
        if not wait:
            self.reserve(sc, now)
        return wait

    def reserve(self, sc: Syscall, now: float) -> None:
        """Take a slot and hold the call's rate charge as in flight until the provider answers.

        A call reaches the provider some time after admission: at once, or seconds later when
        its caller's event loop is busy (a burst of charges spread over seconds here can arrive
        there together). The provider charges it on arrival, which we cannot see; its answer
        proves it has arrived. So the charge counts against what may be admitted from now on
        (``pending``), and enters the bucket, whose refill follows, only with the answer
        (``learn``) or at the release: our bucket never credits refill the provider may not
        have given, whatever the delays, and no margin is needed for them.
        """
        self.in_use += 1
        self.admitted += 1
        if self.holds:
            self.holds.pop(sc.agent, None)
        if not self.buckets:
            return  # nothing to charge
        pending = self.pending
        charges = {}
        for name in self.buckets:
            amount = charges[name] = charge(name, sc)
            pending[name] = pending.get(name, 0.0) + amount
        sc.pending_charges = charges

    def _arrived(self, sc: Syscall, now: float) -> None:
        """The provider has answered ``sc``: its charge moves from in flight into the buckets."""
        charges, sc.pending_charges = sc.pending_charges, None
        if charges is None:
            return
        for name, amount in charges.items():
            self.pending[name] -= amount
            bucket = self.buckets.get(name)
            if bucket is not None:
                bucket.take(amount, now)
        sc.charged = charges

    def _drop(self, sc: Syscall) -> None:
        """The provider rejected ``sc`` without counting it: its charge leaves every book."""
        charges, sc.pending_charges = sc.pending_charges, None
        for name, amount in (charges or {}).items():
            self.pending[name] -= amount
        sc.charged = None

    def release(self, sc: Syscall, now: float, *, ran: bool, usage_known: bool) -> None:
        """Give back the slot; settle estimates with real usage, or refund them if nothing ran."""
        self.in_use -= 1
        if ran:
            self.probing = False  # the provider answered: what it told us of its limits is known
            self._arrived(sc, now)  # (if no answer carried headers, it has arrived by now)
        pending, sc.pending_charges = sc.pending_charges, None
        if pending is not None:  # never reached the provider: nothing reached a bucket
            for name, amount in pending.items():
                self.pending[name] -= amount
            return
        charged, sc.charged = sc.charged or {}, None
        for name, estimate in charged.items():
            bucket = self.buckets.get(name)
            if bucket is None:
                continue
            if not ran:
                bucket.give(estimate, now)
            elif usage_known and name != "requests":
                used = actual(name, sc)
                if used > estimate:
                    bucket.take(used - estimate, now)
                elif refunds_unused(self.spec):
                    bucket.give(estimate - used, now)


    def withdraw(self) -> None:
        """Nothing to do: this process's own queue is the only waiting order here."""

    def begin_scan(self) -> None:
        """The scheduler starts a scan of its queue (a shared order keeps the best call's place)."""

    def pause(self, until: float) -> None:
        if until > self.cooldown_until:
            self.cooldown_until = until
            self.paused += 1

    def learn(self, headers: Mapping[str, str], now: float, sc: Syscall | None = None) -> None:
        """Adopt the limits a provider announces in the headers of its answer to ``sc``.

        A rejection (an answer asking to retry later) proves the provider had less than we
        thought: it did not count the call, and its remaining count stands as ours."""
        slack = 0.0
        rejected, announced = read_rate_headers(headers)
        if sc is not None:
            if rejected:
                self._drop(sc)
            elif sc.pending_charges is not None:
                self._arrived(sc, now)
            started = sc.attempt_started_at
            if started is not None:
                slack = now - started
        if not self.spec.learn_limits:
            return
        self.probing = False  # the provider answered: what it says of its limits is all we learn
        if announced is None:
            return
        configured, buckets = self.configured, self.buckets
        for bucket_name, (limit, remaining) in announced.items():
            bucket = buckets.get(bucket_name)
            if bucket_name in configured:
                pass  # the configured limit stands; the provider's remaining count still counts
            elif bucket is None:
                bucket = self.buckets[bucket_name] = TokenBucket(
                    limit, period=self.spec.rate_window_s, now=now
                )
                self.learned.add(bucket_name)
                if remaining is not None:
                    bucket.level = min(bucket.capacity, remaining)
                continue
            elif bucket.capacity != limit:
                bucket.resize(limit, now)
            if remaining is not None and bucket is not None:
                if rejected:
                    bucket.level = min(bucket.available(now), remaining)
                    self.contended = True
                elif bucket.observe_remaining(
                    remaining, now, self.pending.get(bucket_name, 0.0), slack
                ):
                    self.contended = True

    def describe(self, now: float) -> dict[str, Any]:
        return {
            "api": self.spec.api,
            "base_url": self.spec.base_url,
            "max_concurrency": self.spec.max_concurrency,
            "in_use": self.in_use,
            "admitted": self.admitted,
            "cooling_down_s": max(0.0, self.cooldown_until - now),
            "pauses": self.paused,
            "probing": self.probing,
            "contended": self.contended,
            "buckets": {
                name: {
                    "capacity": b.capacity,
                    "available": round(b.available(now), 3),
                    "learned": name in self.learned,
                    "pending": self.pending.get(name, 0.0),
                }
                for name, b in self.buckets.items()
            },
        }


def configured_limits(spec: CoreSpec) -> dict[str, int]:
    """The rate limits set in the configuration, by bucket name."""
    pairs = (
        ("requests", spec.rpm),
        ("tokens", spec.tpm),
        ("input_tokens", spec.input_tpm),
        ("output_tokens", spec.output_tpm),
    )
    return {name: limit for name, limit in pairs if limit is not None}


def is_rejection(headers: Mapping[str, str]) -> bool:
    """Whether an answer asks to retry later (a 429 of either provider carries ``retry-after``)."""
    return any(k.lower() in _RETRY_KEYS for k in headers)


def rate_limits_in(headers: Mapping[str, str]) -> dict[str, tuple[float, float | None]] | None:
    """``{bucket: (limit, remaining)}`` from OpenAI's or Anthropic's rate-limit headers, or
    ``None`` when the response carries none."""
    return read_rate_headers(headers)[1]


def read_rate_headers(
    headers: Mapping[str, str],
) -> tuple[bool, dict[str, tuple[float, float | None]] | None]:
    """``is_rejection`` and ``rate_limits_in`` in one pass over the headers (every response)."""
    lower: dict[str, str] = {}
    rejected = anthropic = openai = False
    for k, v in headers.items():
        key = k.lower()
        lower[key] = v
        if key.startswith("x-ratelimit-"):
            openai = True
        elif key.startswith("anthropic-ratelimit-"):
            anthropic = True
        elif key in _RETRY_KEYS:
            rejected = True
    if anthropic:
        table = _ANTHROPIC_KEYS
    elif openai:
        table = _OPENAI_KEYS
    else:
        return rejected, None
    found: dict[str, tuple[float, float | None]] = {}
    for bucket_name, limit_key, remaining_key in table:
        text = lower.get(limit_key)
        if text is not None:  # ``_number``, inlined: twice per bucket on every response
            try:
                limit = float(text)
            except ValueError:
                continue
            if limit > 0:
                found[bucket_name] = (limit, _number(lower.get(remaining_key)))
    return rejected, found


_RETRY_KEYS = ("retry-after", "retry-after-ms")

# (bucket, limit header, remaining header), spelled out once: this runs on every response.
_ANTHROPIC_KEYS = tuple(
    (b, f"anthropic-ratelimit-{p}-limit", f"anthropic-ratelimit-{p}-remaining")
    for p, b in _ANTHROPIC_HEADERS.items()
)
_OPENAI_KEYS = tuple(
    (b, f"x-ratelimit-limit-{p}", f"x-ratelimit-remaining-{p}") for p, b in _OPENAI_HEADERS.items()
)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None
