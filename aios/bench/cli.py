"""The ``aios bench`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from aios.bench import report
from aios.bench.litellm_peer import LiteLLMMissing, find_executable, peer_table
from aios.bench.runner import MODE_RETRIES, run_scenario
from aios.bench.scenarios import SCENARIOS

SCALE_SIZES = (1000, 10000, 100000)
DEFAULT_OUT = Path("bench-out")


def _scale(progress: Progress, sizes: tuple[int, ...]) -> dict[str, Any]:
    points = []
    task = progress.add_task("scale", total=len(sizes))
    for n in sizes:
        progress.update(task, description=f"scale: {n} agents")
        proc = subprocess.run(
            [sys.executable, "-m", "aios.bench.scale", str(n)], capture_output=True, text=True, timeout=3600
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        points.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        progress.advance(task)
    return {"scenario": "scale", "points": points}


def _shared(agents: int | None, repeat: int, out: Path) -> None:
    from aios.bench import shared

    console = Console(stderr=True)
    with console.status("shared") as status:
        result = shared.run_bench(
            total=agents or shared.TOTAL_AGENTS, repeat=repeat, progress=lambda text: status.update(text)
        )
    path = shared.write(result, out)
    console.print(shared.markdown(result))
    console.print(f"wrote {path}")


def _modes(raw: str | None) -> tuple[str, ...] | None:
    if not raw:
        return None
    names = tuple(m.strip() for m in raw.split(",") if m.strip())
    for m in names:
        base, _, pol = m.partition(":")
        if base not in MODE_RETRIES or (pol and base != "aios"):
            raise typer.BadParameter(
                f"{m!r} is not a mode; choose from default, tuned, aios, aios:POLICY, litellm",
                param_hint="'--modes'",
            )
    if "litellm" in names:
        try:
            find_executable()
        except LiteLLMMissing as e:
            raise typer.BadParameter(str(e), param_hint="'--modes'") from None
    return names


def bench(
    ctx: typer.Context,
    scenario: str | None = typer.Argument(
        None,
        metavar="SCENARIO|SCRIPT",
        help=f"One of: {', '.join([*SCENARIOS, 'scale', 'shared', 'all'])}; "
        "or your program (SCRIPT [ARGS...]).",
    ),
    agents: int | None = typer.Option(None, min=1, help="Concurrent agents (default: the scenario's)."),
    frameworks: str | None = typer.Option(
        None, help="Comma-separated: openai, langchain, openai-agents, autogen (default: the scenario's)."
    ),
    policy: str | None = typer.Option(None, help="Scheduling policy for the aios runs."),
    repeat: int = typer.Option(1, min=1, max=20, help="Rounds; modes alternate within each round."),
    out: Path = typer.Option(DEFAULT_OUT, help="Where results.json, results.md and plots go."),
    module: str | None = typer.Option(None, "-m", help="Your program as a module (`python -m MODULE`)."),
    copies: int = typer.Option(4, min=1, max=512, help="Your program: copies run at once ({copy} in ARGS)."),
    config: Path | None = typer.Option(None, help="Your program: aios config (TOML) for the with-aios runs."),
    mode: list[str] = typer.Option([], "--mode", help="Your program: one more mode, NAME=CONFIG.toml."),
    plain: bool = typer.Option(
        False, help="Your program: also run it with no aios, to measure observe mode."
    ),
    provider: str = typer.Option("sim", help="Your program: sim (embedded, free) or env (your real keys)."),
    yes: bool = typer.Option(False, "--yes", help="With --provider env: do not ask before spending."),
    rpm: int | None = typer.Option(None, min=1, help="Embedded sim: requests per minute."),
    tpm: int | None = typer.Option(None, min=1, help="Embedded sim: tokens per minute."),
    slots: int | None = typer.Option(None, min=1, help="Embedded sim: parallel slots (server profile)."),
    profile: str = typer.Option("api", help="Embedded sim: instant | api | server."),
    faults: str | None = typer.Option(None, help="Embedded sim: fault rates, e.g. '500=0.05,429=0.02'."),
    time_scale: float = typer.Option(1.0, min=0.001, help="Embedded sim: simulated seconds per real second."),
    reruns: int = typer.Option(
        3, min=0, max=50, help="Your program: re-runs of copies failed by an LLM error."
    ),
    timeout: float = typer.Option(600.0, min=1, help="Your program: seconds before a copy is stopped."),
    modes: str | None = typer.Option(
        None, help="Comma-separated: default, tuned, aios, aios:POLICY, litellm (default: the scenario's)."
    ),
) -> None:
    """Benchmark agents with and without aios, side by side: built-in scenarios, or your program.

    `aios bench SCRIPT [ARGS]` / `aios bench -m MODULE [ARGS]` runs --copies of your program at
    once without aios (observe mode) and with aios, on an embedded sim unless `--provider env`.
    Put bench options before SCRIPT, or the program's own options after `--`.
    """
    if scenario == "shared" and module is None and not ctx.args:
        # N processes on one key: no aios, per-process aios, shared aios (aios.bench.shared).
        _shared(agents, repeat, out)
        return
    if module is not None or scenario not in (*SCENARIOS, "scale", "all"):
        from aios.bench.program_cli import ProgramOptions, run_program_bench

        args = [*([scenario] if module is not None and scenario is not None else []), *ctx.args]
        script = None if module is not None else scenario
        run_program_bench(
            ProgramOptions(
                script,
                module,
                tuple(args),
                copies,
                repeat,
                reruns,
                timeout,
                policy,
                config,
                tuple(mode),
                plain,
                provider,
                yes,
                rpm,
                tpm,
                slots,
                profile,
                faults,
                time_scale,
                out,
            )
        )
        return
    assert scenario is not None  # a scenario name (checked above)
    if ctx.args:
        raise typer.BadParameter(f"unexpected arguments {' '.join(ctx.args)!r} after the scenario name")
    names = [*SCENARIOS, "scale"] if scenario == "all" else [scenario]
    for name in names:
        if name not in SCENARIOS and name != "scale":
            raise typer.BadParameter(
                f"{name!r} is not a scenario; choose one of {', '.join([*SCENARIOS, 'scale', 'all'])}",
                param_hint="'SCENARIO'",
            )
    fw = tuple(f.strip() for f in frameworks.split(",")) if frameworks else None
    mode_list = _modes(modes)
    console = Console(stderr=True)
    results: list[dict[str, Any]] = []
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        for name in names:
            if name == "scale":
                results.append(_scale(progress, SCALE_SIZES))
                continue
            sc = SCENARIOS[name]
            task = progress.add_task(name, total=len(mode_list or sc.modes) * repeat)

            def step(text: str, task: Any = task) -> None:
                progress.update(task, description=text)
                progress.advance(task)

            results.append(
                run_scenario(
                    sc,
                    agents=agents,
                    frameworks=fw,
                    policy=policy,
                    repeat=repeat,
                    progress=step,
                    modes=mode_list,
                )
            )
    path = report.write(results, out)
    for r in results:
        if "runs" in r:
            report.plots(r, out)
            console.print(report.markdown(r))
            if "litellm" in r["config"].get("modes", []):
                console.print(peer_table(r))
                with (out / "results.md").open("a", encoding="utf-8") as md:
                    md.write("\n" + peer_table(r))
        else:
            report.scale_plot(r["points"], out)
            for p in r["points"]:
                console.print(p)
    console.print(f"wrote {path} and plots to {out}/")
