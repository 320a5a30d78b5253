"""Plots that tell what a user cares about: agents done over time, 429s, the kernel's queue.

Each helper draws on a matplotlib ``Axes`` from a list of run summaries (``metrics.summarize``
plus the runner's fields), so ``aios demo``, ``aios bench`` and anything else comparing runs
can combine them. Modes get plain labels ("without aios", "with aios").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MODE_LABELS = {
    "default": "without aios",
    "plain": "without aios",
    "tuned": "without aios, SDK retries raised to 10",
    "aios": "with aios",
}
_COLORS = {"default": "#c0504d", "plain": "#c0504d", "tuned": "#e6a23c", "aios": "#4a7ab5"}


def label(run: dict[str, Any], runs: Sequence[dict[str, Any]] = ()) -> str:
    """"with aios"; with several rounds of the same mode, "with aios (round 2)"."""
    text = MODE_LABELS.get(run["mode"], str(run["mode"]))
    rounds = {r.get("round", 0) for r in runs if r["mode"] == run["mode"]}
    if len(rounds) > 1:
        text += f" (round {run.get('round', 0) + 1})"
    return text


def _color(run: dict[str, Any]) -> str | None:
    return _COLORS.get(run["mode"])


def _steps(times: Sequence[float]) -> tuple[list[float], list[int]]:
    xs = [0.0, *times]
    return xs, list(range(len(xs)))


def plot_finished(ax: Any, runs: Sequence[dict[str, Any]]) -> None:
    """Agents successfully finished over time; reruns of the failed ones continue the curve
    (dashed) up to the moment every agent is done."""
    for run in runs:
        color, name = _color(run), label(run, runs)
        first = list(run.get("completion_times", []))
        xs, ys = _steps(first)
        xs.append(run["makespan_s"])
        ys.append(ys[-1])
        first_label = f"{name}: {len(first)}/{run['agents']} on the first run"
        ax.step(xs, ys, where="post", color=color, label=first_label)
        reruns = list(run.get("rerun_completion_times", []))
        if reruns:
            rx = [run["makespan_s"], *reruns]
            ry = [len(first) + i for i in range(len(rx))]
            ax.step(rx, ry, where="post", color=color, linestyle="--", label=f"{name}: re-running the failed")
        done = run.get("all_done_s")
        if done is not None and (reruns or run.get("completed") == run["agents"]):
            bound = "" if run.get("all_done_complete", True) else "> "
            ax.axvline(done, color=color, linestyle=":", linewidth=1)
            ax.annotate(
                f"all done: {bound}{done:.1f}s",
                (done, run["agents"]),
                textcoords="offset points",
                xytext=(3, -12),
                fontsize=8,
                color=color,
            )
    ax.set_ylabel("agents finished")
    ax.set_xlabel("seconds since the agents started")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc="lower right")


def plot_rate_limits(ax: Any, runs: Sequence[dict[str, Any]], bin_s: float | None = None) -> None:
    """429 responses the API sent back, per time bin (the first run of each mode)."""
    end = max((r["makespan_s"] for r in runs), default=1.0) or 1.0
    width = bin_s or max(0.25, end / 40)
    bins = max(1, math.ceil(end / width))
    for run in runs:
        counts = [0] * bins
        for t in run.get("rate_limited_times", []):
            if t >= 0:  # 429s of the warm-up round are not the run's
                counts[min(bins - 1, int(t / width))] += 1
        xs = [i * width for i in range(bins)]
        total = run.get("rate_limited_429", sum(counts))
        ax.step(xs, counts, where="post", color=_color(run), label=f"{label(run, runs)}: {total} in all")
    ax.set_ylabel(f"429s per {width:.2g}s")
    ax.set_xlabel("seconds since the agents started")
    ax.legend(fontsize=7, loc="upper right")


def plot_queue(ax: Any, runs: Sequence[dict[str, Any]]) -> None:
    """Calls waiting in the kernel's queue, and calls in flight, over time (runs with aios)."""
    drawn = False
    for run in runs:
        samples = run.get("queue_timeline") or []
        if not samples:
            continue
        xs = [s[0] for s in samples]
        ax.plot(xs, [s[1] for s in samples], color=_color(run), label=f"{label(run, runs)}: queued")
        ax.plot(
            xs, [s[2] for s in samples], color=_color(run), linestyle="--", linewidth=1, label="in flight"
        )
        drawn = True
    if not drawn:
        ax.text(0.5, 0.5, "no kernel queue: no run went through aios", ha="center", transform=ax.transAxes)
    else:
        ax.legend(fontsize=7, loc="upper right")
    ax.set_ylabel("calls")
    ax.set_xlabel("seconds since the agents started")


def story(result: dict[str, Any], out: Path) -> Path:
    """One figure, three panels: agents finished, 429s, the kernel's queue, over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = result["runs"]
    fig, (top, mid, low) = plt.subplots(3, 1, figsize=(7, 8.5), sharex=True)
    plot_finished(top, runs)
    top.set_title(f"{result['scenario']}: agents finished over time")
    plot_rate_limits(mid, runs)
    mid.set_title("rate-limit rejections (429) from the API")
    plot_queue(low, runs)
    low.set_title("the kernel's queue")
    for ax in (top, mid):
        ax.set_xlabel("")
    fig.tight_layout()
    path = out / f"{result['scenario']}-story.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
