"""Per-agent and per-core accounting of finished syscalls, and the report built from it."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aios.kernel.syscall import Kind, Status, Syscall


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
    """A uniform sample of at most :data:`SAMPLE_SIZE` values (reservoir sampling, algorithm R),
    with the exact count and sum of all of them."""

    __slots__ = ("_rng", "count", "total", "values")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.values: list[float] = []
        self._rng: random.Random | None = None

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        if self.count <= SAMPLE_SIZE:
            self.values.append(value)
            return
        rng = self._rng
        if rng is None:
            rng = self._rng = random.Random(SAMPLE_SIZE)  # seeded: the same run, the same report
        i = rng.randrange(self.count)
        if i < SAMPLE_SIZE:
            self.values[i] = value


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
        if sc.kind is Kind.LLM:
            self.llm_calls += 1
        elif sc.kind is Kind.TOOL:
            self.tool_calls += 1
        self.input_tokens += sc.input_tokens
        self.output_tokens += sc.output_tokens
        self.cost_usd += sc.cost_usd or 0.0
        self.retries += sc.retries
        if sc.status is Status.FAILED:
            self.errors += 1
        elif sc.status is Status.CANCELLED:
            self.cancelled += 1
        # Sample.add, inlined for the common case (twice per syscall, agent and core).
        waits, wait = self.waits, sc.waited_s
        if waits.count < SAMPLE_SIZE:
            waits.count += 1
            waits.total += wait
            waits.values.append(wait)
        else:
            waits.add(wait)
        if sc.finished_at is not None:
            self.turnarounds.add(sc.finished_at - sc.created_at)

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
        self.agents[sc.agent].add(sc)
        if sc.core_name is not None:
            self.cores[sc.core_name].add(sc)
        if sc.group:
            self.groups[sc.group].add(sc.agent)
        self.by_status[sc.status.value] += 1
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
