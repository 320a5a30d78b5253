"""Per-agent and per-core accounting of finished syscalls, and the report built from it."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aios.kernel.syscall import CANCELLED, FAILED, LLM, STATUS_VALUE, TOOL, Syscall


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


#: Waits and turnarounds kept per agent or core for their percentiles. Beyond that many a
#: uniform sample of this size stands for all of them (the sums stay exact): a core that
#: serves 100,000 agents must not keep one float per call it ever ran.
SAMPLE_SIZE = 4096


class Sample:
    """A uniform sample of at most :data:`SAMPLE_SIZE` values, with the exact count and sum of
    all of them.

    Reservoir sampling by skips (Li's algorithm L): once the sample is full, the position of the
    next value to keep is drawn in advance, so the values in between cost a comparison instead
    of a random draw each (this runs four times for every syscall that ends).
    """

    __slots__ = ("_next", "_rng", "_w", "count", "total", "values")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.values: list[float] = []
        self._rng: random.Random | None = None
        self._w = 0.0
        #: The count at which the next value enters the full sample.
        self._next = SAMPLE_SIZE + 1

    def add(self, value: float) -> None:
        self.count = count = self.count + 1
        self.total += value
        if count <= SAMPLE_SIZE:
            self.values.append(value)
        elif count == self._next:
            self._keep(value)

    def _keep(self, value: float) -> None:
        """Put ``value`` in place of a random member of the full sample; draw the next skip."""
        rng = self._rng
        if rng is None:  # the sample just filled up: draw the first skip
            rng = self._rng = random.Random(SAMPLE_SIZE)  # seeded: the same run, the same report
            self._w = (1.0 - rng.random()) ** _INVERSE_SIZE
            self._next = SAMPLE_SIZE + math.floor(math.log(1.0 - rng.random()) / math.log1p(-self._w)) + 1
            if self._next != self.count:
                return
        draw = rng.random  # uniform in [0, 1); ``1.0 - draw()`` is in (0, 1], as logarithms need
        self.values[int(draw() * SAMPLE_SIZE)] = value
        self._w = w = self._w * (1.0 - draw()) ** _INVERSE_SIZE
        self._next += math.floor(math.log(1.0 - draw()) / math.log1p(-w)) + 1


_INVERSE_SIZE = 1.0 / SAMPLE_SIZE


@dataclass(slots=True)
class Tally:
    """Totals for one agent or one core."""

    llm_calls: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    #: Dollars of reported usage, by the price table (0 for unpriced models).
    cost_usd: float = 0.0
    retries: int = 0
    errors: int = 0
    cancelled: int = 0
    waits: Sample = field(default_factory=Sample)
    turnarounds: Sample = field(default_factory=Sample)

    def add(self, sc: Syscall) -> None:
        _fold((self,), sc)

    def to_dict(self) -> dict[str, Any]:
        return {
            "llm_calls": self.llm_calls,
            "tool_calls": self.tool_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            **_summary("waiting", self.waits),
            **_summary("turnaround", self.turnarounds),
            "retries": self.retries,
            "errors": self.errors,
            "cancelled": self.cancelled,
        }


def _fold(tallies: tuple[Tally, ...], sc: Syscall) -> None:
    """Add ``sc`` to each of ``tallies`` (its agent's and its core's), reading it once."""
    kind, status = sc.kind, sc.status
    llm, tool = kind is LLM, kind is TOOL
    failed, cancelled = status is FAILED, status is CANCELLED
    tokens_in, tokens_out = sc.input_tokens, sc.output_tokens
    cost, retries, wait = sc.cost_usd or 0.0, sc.retries, sc.waited_s
    finished = sc.finished_at
    turnaround = None if finished is None else finished - sc.created_at
    for t in tallies:
        if llm:
            t.llm_calls += 1
        elif tool:
            t.tool_calls += 1
        t.input_tokens += tokens_in
        t.output_tokens += tokens_out
        t.cost_usd += cost
        t.retries += retries
        if failed:
            t.errors += 1
        elif cancelled:
            t.cancelled += 1
        t.waits.add(wait)
        if turnaround is not None:
            t.turnarounds.add(turnaround)


def _summary(what: str, sample: Sample) -> dict[str, float]:
    """``{what}_s`` is the sum in seconds; the percentiles sit beside it."""
    return {
        f"{what}_s": sample.total,
        f"{what}_p50_s": percentile(sample.values, 50),
        f"{what}_p95_s": percentile(sample.values, 95),
    }


class Accounting:
    """Called with the scheduler lock held, once per syscall, when it reaches a final status."""

    def __init__(self, *, keep_syscalls: int | None = None) -> None:
        self.agents: dict[str, Tally] = defaultdict(Tally)
        self.cores: dict[str, Tally] = defaultdict(Tally)
        self.groups: dict[str, set[str]] = defaultdict(set)
        self.syscalls: list[Syscall] = []
        self.by_status: dict[str, int] = defaultdict(int)
        self.keep = keep_syscalls
        self.dropped = 0

    def record(self, sc: Syscall) -> None:
        agent = self.agents[sc.agent]
        core = sc.core_name
        _fold((agent,) if core is None else (agent, self.cores[core]), sc)
        if sc.group:
            self.groups[sc.group].add(sc.agent)
        self.by_status[STATUS_VALUE[sc.status]] += 1
        if self.keep is not None and len(self.syscalls) >= self.keep:
            self.dropped += 1
            return
        self.syscalls.append(sc)

    def report(self) -> dict[str, Any]:
        return {
            "syscalls": [sc.to_record() for sc in self.syscalls],
            "syscalls_dropped": self.dropped,
            "agents": {name: t.to_dict() for name, t in sorted(self.agents.items())},
            "cores": {name: t.to_dict() for name, t in sorted(self.cores.items())},
            "groups": {name: sorted(members) for name, members in sorted(self.groups.items())},
            "by_status": dict(self.by_status),
        }
