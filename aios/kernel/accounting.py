"""Per-agent and per-core accounting of finished syscalls, and the report built from it."""

from __future__ import annotations

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


@dataclass
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
    waits: list[float] = field(default_factory=list)
    turnarounds: list[float] = field(default_factory=list)

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
        self.waits.append(sc.waited_s)
        if sc.turnaround_s is not None:
            self.turnarounds.append(sc.turnaround_s)

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


def _summary(what: str, values: list[float]) -> dict[str, float]:
    """``{what}_s`` is the sum in seconds; the percentiles sit beside it."""
    return {
        f"{what}_s": sum(values),
        f"{what}_p50_s": percentile(values, 50),
        f"{what}_p95_s": percentile(values, 95),
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
