"""Reports of a run: one per process, merged into one at the root process's exit."""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from aios.kernel.access.redact import redact_argv
from aios.kernel.accounting import percentile

_COUNTS = (
    "llm_calls", "tool_calls", "input_tokens", "output_tokens", "cost_usd", "retries", "errors", "cancelled"
)


def empty_report() -> dict[str, Any]:
    """The report of a process whose kernel never booted (it made no call)."""
    from aios.config import load_config
    from aios.kernel.accounting import Accounting

    try:
        policy = load_config().policy
    except Exception:
        policy = "fifo"
    return {**Accounting().report(), "policy": policy}


def process_report(
    kernel_reports: list[dict[str, Any]], *, pid: int, argv: list[str], root: bool
) -> dict[str, Any]:
    """One process's report: its kernels' reports merged, each syscall tagged with ``pid``."""
    for rep in kernel_reports:
        for rec in rep.get("syscalls", []):
            rec.setdefault("pid", pid)
    report = merge(kernel_reports) if kernel_reports else empty_report()
    report["processes"] = [
        {
            "pid": pid,
            "root": root,
            "argv": redact_argv(argv),  # options like --api-key hold secrets
            "llm_calls": sum(a["llm_calls"] for a in report["agents"].values()),
            "tool_calls": sum(a["tool_calls"] for a in report["agents"].values()),
            "exit_report": True,
        }
    ]
    return report


def records_report(
    records: list[dict[str, Any]], *, pid: int, root: bool, policy: str | None = None
) -> dict[str, Any]:
    """The report of a process known only by the records it spooled (it left no exit report:
    ``os._exit``, a kill or a crash); calls it had not ended are unknown."""
    for rec in records:
        rec.setdefault("pid", pid)
    by_status: dict[str, int] = defaultdict(int)
    groups: dict[str, set[str]] = defaultdict(set)
    for rec in records:
        by_status[str(rec.get("status"))] += 1
        if rec.get("group"):
            groups[str(rec["group"])].add(str(rec["agent"]))
    agents = _tallies(records, "agent")
    return {
        "syscalls": records,
        "syscalls_dropped": 0,
        "agents": dict(sorted(agents.items())),
        "cores": dict(sorted(_tallies([r for r in records if r.get("core") is not None], "core").items())),
        "groups": {name: sorted(m) for name, m in sorted(groups.items())},
        "by_status": dict(by_status),
        "policy": policy or empty_report()["policy"],
        "processes": [
            {
                "pid": pid,
                "root": root,
                "argv": None,
                "llm_calls": sum(a["llm_calls"] for a in agents.values()),
                "tool_calls": sum(a["tool_calls"] for a in agents.values()),
                "exit_report": False,
            }
        ],
    }


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge reports of several kernels into one with the same keys.

    Totals are recomputed from the syscall records when every report kept all of them (so the
    percentiles are exact); otherwise counts are summed and percentiles are the worst seen.
    """
    if len(reports) == 1:
        return dict(reports[0])
    records = [rec for r in reports for rec in r.get("syscalls", [])]
    dropped = sum(int(r.get("syscalls_dropped", 0)) for r in reports)
    if dropped == 0:
        agents = _tallies(records, "agent")
        cores = _tallies([r for r in records if r.get("core") is not None], "core")
    else:
        agents = _sum_tallies(r.get("agents", {}) for r in reports)
        cores = _sum_tallies(r.get("cores", {}) for r in reports)
    groups: dict[str, set[str]] = defaultdict(set)
    by_status: dict[str, int] = defaultdict(int)
    processes: list[dict[str, Any]] = []
    for r in reports:
        for name, members in r.get("groups", {}).items():
            groups[name].update(members)
        for status, n in r.get("by_status", {}).items():
            by_status[status] += int(n)
        processes.extend(r.get("processes", []))
    out: dict[str, Any] = {
        "syscalls": records,
        "syscalls_dropped": dropped,
        "agents": dict(sorted(agents.items())),
        "cores": dict(sorted(cores.items())),
        "groups": {name: sorted(m) for name, m in sorted(groups.items())},
        "by_status": dict(by_status),
        "policy": next((r["policy"] for r in reports if "policy" in r), "fifo"),
    }
    if processes:
        out["processes"] = processes
    shared = [r["shared_state"] for r in reports if isinstance(r.get("shared_state"), dict)]
    if shared:
        # Processes of one run share one server; how many lost it, and how often, adds up.
        out["shared_state"] = {
            **shared[0],
            "degraded": any(bool(s.get("degraded")) for s in shared),
            "unavailable_errors": sum(int(s.get("unavailable_errors") or 0) for s in shared),
        }
    return out


def _tallies(records: Iterable[Mapping[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    grouped: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for rec in records:
        grouped[str(rec[key])].append(rec)
    return {name: _tally(recs) for name, recs in grouped.items()}


def _tally(recs: list[Mapping[str, Any]]) -> dict[str, Any]:
    waits = [float(r.get("waiting_s") or 0.0) for r in recs]
    turnarounds = [float(r["turnaround_s"]) for r in recs if r.get("turnaround_s") is not None]
    return {
        "llm_calls": sum(1 for r in recs if r.get("kind") == "llm"),
        "tool_calls": sum(1 for r in recs if r.get("kind") == "tool"),
        "input_tokens": sum(int(r.get("input_tokens") or 0) for r in recs),
        "output_tokens": sum(int(r.get("output_tokens") or 0) for r in recs),
        "cost_usd": sum(float(r.get("cost_usd") or 0.0) for r in recs),
        **_summary("waiting", waits),
        **_summary("turnaround", turnarounds),
        "retries": sum(int(r.get("retries") or 0) for r in recs),
        "errors": sum(1 for r in recs if r.get("status") == "failed"),
        "cancelled": sum(1 for r in recs if r.get("status") == "cancelled"),
    }


def _summary(what: str, values: list[float]) -> dict[str, float]:
    return {
        f"{what}_s": sum(values),
        f"{what}_p50_s": percentile(values, 50),
        f"{what}_p95_s": percentile(values, 95),
    }


def _sum_tallies(parts: Iterable[Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for part in parts:
        for name, tally in part.items():
            acc = out.setdefault(name, {k: 0 for k in _COUNTS} | {"waiting_s": 0.0, "turnaround_s": 0.0})
            for k in (*_COUNTS, "waiting_s", "turnaround_s"):
                acc[k] += tally.get(k, 0)
            for k in ("waiting_p50_s", "waiting_p95_s", "turnaround_p50_s", "turnaround_p95_s"):
                acc[k] = max(acc.get(k, 0.0), tally.get(k, 0.0))
    return out


def collect_spool(report: dict[str, Any], spool: Path | None, *, pid: int) -> dict[str, Any]:
    """Merge what the other processes left in ``spool`` into ``report`` (process ``pid``'s own),
    then remove the spool."""
    from aios.runner.spool import spooled_reports

    if spool is None or not spool.is_dir():
        return report
    parts = [report, *spooled_reports(spool, skip_pid=pid)]
    shutil.rmtree(spool, ignore_errors=True)
    return merge(parts) if len(parts) > 1 else report


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write atomically, so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)
