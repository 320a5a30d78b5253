"""``aios bench shared``: N worker processes of agents on one rate-limited key, three ways.

Each point runs :mod:`aios.bench.shared_workers` (N processes, the raw ``AsyncOpenAI`` tool-loop
agent, ``total // N`` agents each, every worker starting together) against one ``aios sim``
with an OpenAI-style request limit:

- ``none``: the program alone (the SDK's default retries);
- ``per-process``: ``aios run``: every process has its own kernel, so the limit holds per process;
- ``shared``: ``aios run --redis URL``: every process shares one kernel state on a Valkey server
  the benchmark starts (a fresh key prefix per run), as ``aios run --shared`` does.

Figures per run: requests rejected with 429 (and their share), agents completed, the makespan
and the request span (the provider's first to last admitted request: what the limit governs,
without the program's own start-up and last answer) each divided by the quota's minimum (the
time the key needs to serve the useful requests beyond its burst), and admission waits p50/p99
from the kernel's syscall records. Modes alternate within a round.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aios.bench.metrics import request_span
from aios.kernel.accounting import percentile
from aios.sim.process import SimServer

MODES = ("none", "per-process", "shared")
PROCESSES = (1, 2, 4, 8)
TOTAL_AGENTS = 32
#: The key's limit: requests per simulated minute, and how fast simulated time runs.
RPM = 20
TIME_SCALE = 20.0
#: Goals for shared aios at the largest process count.
GOAL_REJECTED_PCT = 1.0
GOAL_MAKESPAN_RATIO = 1.10
RUN_TIMEOUT_S = 900.0
TELEMETRY_OFF = {
    "OPENAI_AGENTS_DISABLE_TRACING": "1",
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
}


def window_s() -> float:
    return 60.0 / TIME_SCALE


def sim_args() -> list[str]:
    return ["--profile", "api", "--rpm", str(RPM), "--tpm", "10000000", "--time-scale", str(TIME_SCALE)]


def write_config(directory: Path, base_url: str) -> Path:
    """The ``aios.toml`` a user writes for this key: its limit and the window it is stated for."""
    path = directory / "aios.toml"
    path.write_text(
        "[[cores]]\n"
        'name = "sim"\n'
        'api = "openai"\n'
        f'base_url = "{base_url}"\n'
        f"rpm = {RPM}\n"
        "tpm = 10000000\n"
        f"rate_window_s = {window_s()}\n",
        encoding="utf-8",
    )
    return path


def quota_minimum_s(useful_requests: int) -> float:
    """Seconds the key needs for ``useful_requests``: the burst is free, the rest comes at the refill rate."""
    return max(0.0, useful_requests - RPM) / (RPM / window_s())


def _command(
    mode: str, processes: int, agents: int, config: Path, report: Path, redis_url: str | None
) -> list[str]:
    program = ["-m", "aios.bench.shared_workers", "--processes", str(processes), "--agents", str(agents)]
    if mode == "none":
        return [sys.executable, *program]
    run = [sys.executable, "-m", "aios", "run", "-q", "--frameworks", "openai"]
    run += ["--config", str(config), "--report", str(report)]
    if mode == "shared":
        assert redis_url is not None
        run += ["--redis", redis_url]
    return [*run, *program]


def _waits(records: Sequence[dict[str, Any]]) -> list[float]:
    return [float(r.get("waiting_s") or 0.0) for r in records if r.get("kind") == "llm"]


def run_point(
    sim: SimServer, mode: str, processes: int, total: int, workdir: Path, redis_url: str | None
) -> dict[str, Any]:
    """One run: the program's outcome, the sim's counts and the kernel's admission waits."""
    agents = max(1, total // processes)
    config = write_config(workdir, sim.openai_base_url)
    report = workdir / f"report-{mode}-{processes}.json"
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
    env.update({**sim.env(), **TELEMETRY_OFF, "AIOS_REDIS_PREFIX": prefix})
    sim.reset()
    proc = subprocess.run(
        _command(mode, processes, agents, config, report, redis_url),
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{mode} with {processes} processes failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    stats = sim.stats()
    by_status = {str(k): int(v) for k, v in stats.get("by_status", {}).items()}
    useful = by_status.get("200", 0)
    requests = int(stats.get("requests", 0))
    minimum = quota_minimum_s(useful)
    span = request_span(stats)
    waits: list[float] = []
    if mode == "shared" and redis_url is not None:
        from aios.runner.cluster_report import cluster_report

        waits = _waits(cluster_report(redis_url, prefix)["recent"])
    elif mode == "per-process" and report.is_file():
        waits = _waits(json.loads(report.read_text(encoding="utf-8")).get("syscalls", []))
    return {
        "mode": mode,
        "processes": processes,
        "agents": out["agents"],
        "completed": out["completed"],
        "agent_errors": len(out["errors"]),
        "error_kinds": sorted({e.split(":")[0] for e in out["errors"]}),
        "requests": requests,
        "rejected_429": int(stats.get("rate_limited", 0)),
        "rejected_pct": 100.0 * int(stats.get("rate_limited", 0)) / max(1, requests),
        "useful_requests": useful,
        "max_in_flight": stats.get("max_in_flight"),
        "makespan_s": out["makespan_s"],
        "quota_minimum_s": minimum,
        "makespan_vs_quota_minimum": out["makespan_s"] / minimum if minimum else None,
        "request_span_s": span,
        "span_vs_quota_minimum": span / minimum if minimum and span is not None else None,
        "admission_wait_p50_s": percentile(waits, 50) if waits else None,
        "admission_wait_p99_s": percentile(waits, 99) if waits else None,
        "admission_samples": len(waits),
    }


def goals(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The issue's goals, checked on shared aios at the largest process count (worst round)."""
    top = max(r["processes"] for r in runs)
    shared = [r for r in runs if r["mode"] == "shared" and r["processes"] == top]
    if not shared:
        return {}
    rejected = max(r["rejected_pct"] for r in shared)
    completed = min(100.0 * r["completed"] / max(1, r["agents"]) for r in shared)
    ratios = [r["makespan_vs_quota_minimum"] for r in shared if r["makespan_vs_quota_minimum"] is not None]
    ratio = max(ratios) if ratios else None
    return {
        "processes": top,
        "rejected_pct": rejected,
        "rejected_met": rejected <= GOAL_REJECTED_PCT,
        "completed_pct": completed,
        "completed_met": completed == 100.0,
        "makespan_vs_quota_minimum": ratio,
        "makespan_met": ratio is not None and ratio <= GOAL_MAKESPAN_RATIO,
    }


def run_bench(
    *,
    processes: Sequence[int] = PROCESSES,
    total: int = TOTAL_AGENTS,
    repeat: int = 1,
    modes: Sequence[str] = MODES,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    from aios.runner.redis_server import start_server

    runs: list[dict[str, Any]] = []
    with (
        SimServer([*sim_args(), "--seed", "7"]) as sim,
        start_server() as server,
        tempfile.TemporaryDirectory(prefix="aios-bench-shared-") as tmp,
    ):
        for rnd in range(repeat):
            for n in processes:
                for mode in modes:
                    if progress is not None:
                        progress(
                            f"shared: {mode}, {n} process{'es' if n > 1 else ''} (round {rnd + 1}/{repeat})"
                        )
                    point = run_point(sim, mode, n, total, Path(tmp), server.url)
                    point["round"] = rnd
                    runs.append(point)
    return {
        "scenario": "shared",
        "description": __doc__.split("\n\n")[0] if __doc__ else "",
        "config": {
            "total_agents": total,
            "processes": list(processes),
            "rpm": RPM,
            "time_scale": TIME_SCALE,
            "rate_window_s": window_s(),
            "sim_args": sim_args(),
            "repeat": repeat,
        },
        "runs": runs,
        "goals": goals(runs),
    }


_COLUMNS = (
    ("processes", "processes", "{}"),
    ("mode", "mode", "{}"),
    ("completed", "agents done", "{}"),
    ("agent_errors", "agent errors", "{}"),
    ("requests", "requests", "{}"),
    ("rejected_429", "429s", "{}"),
    ("rejected_pct", "rejected %", "{:.1f}"),
    ("max_in_flight", "max in flight", "{}"),
    ("makespan_s", "makespan s", "{:.2f}"),
    ("makespan_vs_quota_minimum", "÷ quota min", "{:.2f}"),
    ("span_vs_quota_minimum", "span ÷ quota min", "{:.2f}"),
    ("admission_wait_p50_s", "wait p50 s", "{:.3f}"),
    ("admission_wait_p99_s", "wait p99 s", "{:.3f}"),
)


def markdown(result: dict[str, Any]) -> str:
    cfg = result["config"]
    lines = [
        "### shared",
        "",
        f"{cfg['total_agents']} agents in total split over N processes, one key at {cfg['rpm']} requests "
        f"per {cfg['rate_window_s']:g} s, sim `{' '.join(cfg['sim_args'])}`, rounds {cfg['repeat']}.",
        "",
        "Modes: `none` = the program alone (SDK default retries); `per-process` = `aios run` (a kernel "
        "per process); `shared` = `aios run --redis` (one kernel state for all processes). "
        "÷ quota min: the makespan over the time the key needs for the useful requests "
        "(— when not every agent completed); span: the provider's first to last admitted "
        "request, over the same. Waits: admission waits of the LLM calls.",
        "",
        "| " + " | ".join(title for _, title, _ in _COLUMNS) + " |",
        "|" + "---|" * len(_COLUMNS),
    ]
    for run in sorted(result["runs"], key=lambda r: (r["round"], r["processes"], MODES.index(r["mode"]))):
        cells = ["—" if run.get(k) is None else f.format(run[k]) for k, _, f in _COLUMNS]
        if run["completed"] < run["agents"]:
            # Agents that gave up early end a run sooner: that makespan says nothing of the quota.
            for key in ("makespan_vs_quota_minimum", "span_vs_quota_minimum"):
                cells[[k for k, _, _ in _COLUMNS].index(key)] = "—"
        lines.append("| " + " | ".join(cells) + " |")
    g = result.get("goals") or {}
    if g:
        ratio = g["makespan_vs_quota_minimum"]
        lines += [
            "",
            f"Goals, shared aios at {g['processes']} processes: rejected {g['rejected_pct']:.1f} % "
            f"(goal ≤ {GOAL_REJECTED_PCT:g} %: {'met' if g['rejected_met'] else 'MISSED'}); agents completed "
            f"{g['completed_pct']:.0f} % (goal 100 %: {'met' if g['completed_met'] else 'MISSED'}); makespan "
            f"{'—' if ratio is None else f'{ratio:.2f}'} times the quota's minimum "
            f"(goal ≤ {GOAL_MAKESPAN_RATIO:.2f}: {'met' if g['makespan_met'] else 'MISSED'}).",
        ]
    lines.append("")
    return "\n".join(lines)


def write(result: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "shared.json"
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    (out / "shared.md").write_text(markdown(result), encoding="utf-8")
    return path


def render(path: Path) -> str:
    """The markdown of a saved ``shared.json`` (tables are re-rendered, never re-measured)."""
    return markdown(json.loads(path.read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aios.bench.shared", description=__doc__)
    parser.add_argument("--processes", default=",".join(map(str, PROCESSES)), help="e.g. 1,2,4,8")
    parser.add_argument("--agents", type=int, default=TOTAL_AGENTS, help="agents in total")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    opts = parser.parse_args(argv)
    result = run_bench(
        processes=[int(p) for p in opts.processes.split(",")],
        total=opts.agents,
        repeat=opts.repeat,
        modes=[m.strip() for m in opts.modes.split(",")],
        progress=lambda text: print(text, file=sys.stderr, flush=True),
    )
    path = write(result, opts.out)
    print(markdown(result))
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
