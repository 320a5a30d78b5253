"""Turning runs into the published figures."""

from __future__ import annotations

import resource
from statistics import mean
from typing import Any

from aios.kernel.accounting import percentile


def rss_kb() -> int:
    """Resident set size now, from /proc (getrusage only gives the peak, which never comes down)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return pages * (resource.getpagesize() // 1024)
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def summarize(run: dict[str, Any], sim_stats: dict[str, Any]) -> dict[str, Any]:
    agents = run["agents"]
    ok = [a["completion_s"] for a in agents if a["ok"]]
    by_status = {str(k): v for k, v in sim_stats.get("by_status", {}).items()}
    rejected = sum(v for k, v in by_status.items() if k != "200")
    makespan = run["makespan_s"]
    return {
        "mode": run["mode"],
        "agents": len(agents),
        "completed": len(ok),
        "failed": len(agents) - len(ok),
        "completion_pct": 100.0 * len(ok) / max(1, len(agents)),
        "makespan_s": makespan,
        "build_s": run.get("build_s"),
        "mean_completion_s": mean(ok) if ok else None,
        "p50_completion_s": percentile(ok, 50) if ok else None,
        "p95_completion_s": percentile(ok, 95) if ok else None,
        "p99_completion_s": percentile(ok, 99) if ok else None,
        "sim_requests": sim_stats.get("requests", 0),
        "rate_limited_429": sim_stats.get("rate_limited", 0),
        "wasted_requests": rejected,
        "useful_requests": by_status.get("200", 0),
        "request_span_s": request_span(sim_stats),
        **_span_edges(run, sim_stats),
        "output_tokens_per_s": sim_stats.get("output_tokens", 0) / makespan if makespan else 0.0,
        "kernel_cpu_ms_per_agent": 1000 * run["cpu_s"] / max(1, len(agents)),
        "rss_kb_per_agent": run["rss_growth_kb"] / max(1, len(agents)),
        "errors": sorted({a["error"].split(":")[0] for a in agents if a["error"]}),
        "mean_wait_s": mean(run["kernel"]["waits"]) if run.get("kernel", {}).get("waits") else None,
        "completion_times": sorted(ok),
        # Time series for the plots, in seconds since the agents started.
        "rate_limited_times": sorted(
            t - run["started_monotonic"] for t in sim_stats.get("rate_limited_at", [])
        )
        if "started_monotonic" in run
        else [],
        "queue_timeline": run.get("kernel", {}).get("queue", []),
    }


def request_span(sim_stats: dict[str, Any]) -> float | None:
    """Seconds from the first to the last request the provider admitted: what a rate limit
    governs, without the program's own work before its first call and after its last answer."""
    first, last = sim_stats.get("first_admitted_at"), sim_stats.get("last_admitted_at")
    return None if first is None or last is None else float(last) - float(first)


def _span_edges(run: dict[str, Any], sim_stats: dict[str, Any]) -> dict[str, float]:
    """The program's own time around the request span: before its first admitted request and
    after its last one. Both clocks are the host's monotonic clock, shared by every process."""
    first, last = sim_stats.get("first_admitted_at"), sim_stats.get("last_admitted_at")
    t0 = run.get("started_monotonic")
    if first is None or last is None or t0 is None:
        return {}
    return {
        "before_first_request_s": float(first) - t0,
        "after_last_request_s": t0 + run["makespan_s"] - float(last),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b
