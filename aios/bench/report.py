"""results.json, a markdown table and PNG plots for a benchmark run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COLUMNS = (
    ("mode", "mode", "{}"),
    ("completion_pct", "completed %", "{:.0f}"),
    ("makespan_s", "makespan s", "{:.2f}"),
    ("mean_completion_s", "mean s", "{:.2f}"),
    ("p50_completion_s", "p50 s", "{:.2f}"),
    ("p95_completion_s", "p95 s", "{:.2f}"),
    ("p99_completion_s", "p99 s", "{:.2f}"),
    ("rate_limited_429", "429s", "{}"),
    ("wasted_requests", "wasted req", "{}"),
    ("useful_requests", "useful req", "{}"),
    ("all_done_s", "all done s", "{:.2f}"),
    ("output_tokens_per_s", "tok/s", "{:.0f}"),
    ("kernel_cpu_ms_per_agent", "CPU ms/agent", "{:.1f}"),
)


def _cell(value: Any, fmt: str) -> str:
    if value is None:
        return "—"
    return fmt.format(value)


def markdown(result: dict[str, Any]) -> str:
    lines = [f"### {result['scenario']}", "", result["description"], ""]
    cfg = result["config"]
    lines.append(
        f"{cfg['agents']} agents ({', '.join(cfg['frameworks'])}), policy `{cfg['policy']}`, "
        f"sim `{' '.join(cfg['sim_args'])}`, rounds {cfg['repeat']}."
    )
    lines.append("")
    lines.append("| " + " | ".join(title for _, title, _ in COLUMNS) + " |")
    lines.append("|" + "---|" * len(COLUMNS))
    for run in result["runs"]:
        cells = [_cell(run.get(k), f) for k, _, f in COLUMNS]
        if run.get("all_done_complete") is False:
            cells[[k for k, _, _ in COLUMNS].index("all_done_s")] = f"> {run['all_done_s']:.2f}"
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| ratio | value |")
    lines.append("|---|---|")
    incomplete = {r["mode"] for r in result["runs"] if r.get("all_done_complete") is False}
    for key, value in result["ratios"].items():
        bound = key.startswith("all_done_speedup_") and key.rsplit("_", 1)[1] in incomplete
        lines.append(f"| {key} | {'>= ' if bound else ''}{_cell(value, '{:.3f}')} |")
    lines.append("")
    return "\n".join(lines)


def plots(result: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from aios.bench.plots import label, story

    written: list[Path] = []
    name = result["scenario"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for run in result["runs"]:
        times = run["completion_times"]
        if times:
            ys = [(i + 1) / run["agents"] for i in range(len(times))]
            ax.step(times, ys, where="post", label=label(run, result["runs"]))
    ax.set_xlabel("agent completion time (s)")
    ax.set_ylabel("fraction of agents completed")
    ax.set_title(f"{name}: completion-time CDF")
    ax.legend()
    path = out / f"{name}-cdf.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    # Agents finished, 429s and the queue over time: a makespan bar alone would show a run whose
    # agents failed early as the fast one.
    written.append(story(result, out))
    return written


def scale_plot(points: list[dict[str, Any]], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([p["agents"] for p in points], [p["wall_s"] for p in points], "o-", label="wall s")
    ax.plot([p["agents"] for p in points], [p["cpu_s"] for p in points], "s--", label="CPU s")
    ax.set_xlabel("concurrent agents")
    ax.set_ylabel("seconds")
    ax.set_title("scale: one kernel, 3 syscalls per agent")
    ax.legend()
    path = out / "scale.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(results: list[dict[str, Any]], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    md = [markdown(r) for r in results if "runs" in r]
    (out / "results.md").write_text("\n".join(md), encoding="utf-8")
    return out / "results.json"
