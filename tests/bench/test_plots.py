"""The story plots from real runs: agents without and with aios against a rate-limited sim."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from aios.bench.plots import plot_finished, plot_queue, plot_rate_limits, story
from aios.bench.runner import run_mode
from aios.demo.frameworks import demo_scenario
from aios.sim.process import SimServer

AGENTS = 4


def test_runs_carry_time_series_and_the_plots_label_modes_plainly(tmp_path: Path) -> None:
    scenario = demo_scenario(2, AGENTS, ("openai",), "fair")
    with SimServer(*scenario.sim_args, "--seed", "7") as sim:
        runs = [
            run_mode(
                sim, scenario, mode, agents=AGENTS, frameworks=("openai",), policy="fair", rerun_failed=False
            )
            for mode in ("default", "aios")
        ]
    without, with_aios = runs
    # Each 429 the sim sent has a time, on the agents' clock, inside the run.
    assert without["rate_limited_429"] > 0
    assert len(without["rate_limited_times"]) == without["rate_limited_429"]
    assert all(-1.0 < t <= without["makespan_s"] + 1.0 for t in without["rate_limited_times"])
    # The kernel's queue was sampled: four agents on a quota of 2 requests/s had to wait.
    assert with_aios["queue_timeline"] and max(q for _, q, _ in with_aios["queue_timeline"]) >= 1
    assert without["queue_timeline"] == []
    assert with_aios["completed"] == AGENTS

    fig, (a, b, c) = plt.subplots(3, 1)
    plot_finished(a, runs)
    plot_rate_limits(b, runs)
    plot_queue(c, runs)
    labels = [t for ax in (a, b, c) for t in ax.get_legend_handles_labels()[1]]
    plt.close(fig)
    assert f"with aios: {AGENTS}/{AGENTS} on the first run" in labels
    assert f"without aios: {without['completed']}/{AGENTS} on the first run" in labels
    assert f"without aios: {without['rate_limited_429']} in all" in labels
    assert "with aios: queued" in labels
    assert not any("default" in t or "#" in t for t in labels)

    path = story({"scenario": "demo", "runs": runs}, tmp_path)
    assert path == tmp_path / "demo-story.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_reruns_continue_the_finished_curve_to_all_done() -> None:
    run = {
        "mode": "default",
        "agents": 3,
        "completed": 1,
        "makespan_s": 2.0,
        "completion_times": [1.5],
        "rerun_completion_times": [3.0, 7.5],
        "all_done_s": 8.0,
        "all_done_complete": True,
    }
    fig, ax = plt.subplots()
    plot_finished(ax, [run])
    lines = {line.get_label(): line for line in ax.get_lines()}
    texts = [t.get_text() for t in ax.texts]
    plt.close(fig)
    first = lines["without aios: 1/3 on the first run"]
    assert list(first.get_xdata()) == [0.0, 1.5, 2.0] and list(first.get_ydata()) == [0, 1, 1]
    rerun = lines["without aios: re-running the failed"]
    assert list(rerun.get_xdata()) == [2.0, 3.0, 7.5] and list(rerun.get_ydata()) == [1, 2, 3]
    assert texts == ["all done: 8.0s"]
