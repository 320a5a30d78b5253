"""The framework demo: real agents of every installed framework, without and then with aios.

Both phases run the same agents against the same rate-limited simulated provider (over HTTP on
127.0.0.1, no key): first with the frameworks' own defaults, then with aios scheduling every
call. A live display shows agents finishing; a table and a plot file compare the phases, the
agents that failed re-run until all are done.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aios.bench.report import plots
from aios.bench.runner import run_mode
from aios.bench.scenarios import Scenario
from aios.bench.workloads import FRAMEWORK_AGENTS, IMPORTS
from aios.sim.process import SimServer

_SCALE = 60.0


def installed_frameworks() -> tuple[str, ...]:
    found = []
    for name in FRAMEWORK_AGENTS:
        modules = IMPORTS[name]
        if all(importlib.util.find_spec(m.split(".")[0]) is not None for m in modules):
            found.append(name)
    return tuple(found)


def demo_scenario(rpm: int, agents: int, frameworks: tuple[str, ...], policy: str) -> Scenario:
    return Scenario(
        name="demo",
        description="Framework agents on a rate-limited API, without and with aios.",
        sim_args=("--profile", "api", "--rpm", str(rpm), "--tpm", "1000000", "--time-scale", str(_SCALE)),
        agents=agents,
        frameworks=frameworks,
        policy=policy,
        core={"rpm": rpm, "tpm": 1_000_000, "rate_window_s": 60 / _SCALE},
        modes=("default", "aios"),
        request_quota=(float(rpm), rpm * _SCALE / 60),
    )


def _table(runs: list[dict[str, Any]]) -> Table:
    table = Table(title="without aios vs with aios")
    columns = ("", "agents completed", "rejected by the API (429)", "makespan s", "mean completion s")
    for col in (*columns, "all done s (failed re-run)"):
        table.add_column(col, justify="right" if col else "left")
    for run in runs:
        mean = run["mean_completion_s"]
        bound = "" if run.get("all_done_complete", True) else "> "
        table.add_row(
            "with aios" if run["mode"] == "aios" else "without aios (framework defaults)",
            f"{run['completed']}/{run['agents']}",
            str(run["rate_limited_429"]),
            f"{run['makespan_s']:.1f}",
            "—" if mean is None else f"{mean:.1f}",
            f"{bound}{run['all_done_s']:.1f}",
        )
    return table


def run_demo(*, agents: int, rpm: int, policy: str, out: Path, console: Console) -> list[dict[str, Any]]:
    frameworks = installed_frameworks()
    if not frameworks:
        raise RuntimeError(
            "no agent framework is installed; install them with pip install 'aios-kernel[all]', "
            "or run `aios demo --kernel` for the framework-free demo"
        )
    scenario = demo_scenario(rpm, agents, frameworks, policy)
    console.print(
        f"[bold]{agents} agents[/] ({', '.join(frameworks)}) share an API limited to "
        f"{rpm} requests/s with {rpm} of burst (the embedded sim, no key)."
    )
    runs: list[dict[str, Any]] = []
    columns = (
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
    )
    started = time.monotonic()
    with SimServer(*scenario.sim_args, "--seed", "7") as sim, Progress(*columns, console=console) as bar:
        for mode, label in (("default", "without aios (framework defaults)"), ("aios", "with aios")):
            task = bar.add_task(label, total=agents, failed=0)

            def on_agent(ok: bool, task: Any = task) -> None:
                if ok:
                    bar.advance(task)
                else:
                    failed = bar.tasks[task].fields["failed"] + 1
                    bar.update(task, failed=failed, advance=1)

            runs.append(
                run_mode(
                    sim,
                    scenario,
                    mode,
                    agents=agents,
                    frameworks=frameworks,
                    policy=policy,
                    on_agent=on_agent,
                    # A user re-runs the agents that failed: the plot's "all done" is when the
                    # last one succeeded (the time without aios really costs).
                    rerun_failed=True,
                )
            )
    console.print(_table(runs))
    out.mkdir(parents=True, exist_ok=True)
    result = {"scenario": "demo", "runs": [{**r, "round": 0} for r in runs]}
    paths = plots(result, out)
    console.print(f"plots: {', '.join(str(p) for p in paths)}  ({time.monotonic() - started:.0f}s in all)")
    return runs
