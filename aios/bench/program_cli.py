"""``aios bench SCRIPT`` / ``aios bench -m MODULE``: checking the options, asking, showing progress."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.live import Live as RichLive
from rich.table import Table

from aios.bench import program_report
from aios.bench.program import Bench, Live, Mode, Plan, Program, SimSpec

RESERVED = {"with", "without", "plain"}


@dataclass(frozen=True)
class ProgramOptions:
    script: str | None
    module: str | None
    args: tuple[str, ...]
    copies: int
    repeat: int
    reruns: int
    timeout: float
    policy: str | None
    config: Path | None
    modes: tuple[str, ...]
    plain: bool
    provider: str
    yes: bool
    rpm: int | None
    tpm: int | None
    slots: int | None
    profile: str
    faults: str | None
    time_scale: float
    out: Path


def _fail(message: str) -> typer.Exit:
    typer.echo(f"aios bench: error: {message}", err=True)
    return typer.Exit(2)


def _load_plugin_policies(name: str) -> None:
    from aios.kernel.policies import policy_names

    if name not in policy_names():
        from aios.adapters.plugins import plugins

        plugins().adapters  # noqa: B018 - loading the plugins registers their policies


def _check_config(path: Path, what: str, policy: str | None = None) -> None:
    from aios.config import load_config
    from aios.errors import ConfigError
    from aios.kernel.policies import make_policy

    if not path.is_file():
        raise _fail(f"{what}: {str(path)!r} is not a file; give the path of an aios TOML config")
    try:
        name = load_config(path, overrides={"policy": policy}).policy
        _load_plugin_policies(name)
        make_policy(name)
    except ConfigError as e:
        raise _fail(f"{what}: {e}") from None


def modes_of(opts: ProgramOptions) -> list[Mode]:
    """The compared modes in the order they run in each round."""
    from aios.errors import ConfigError
    from aios.kernel.policies import make_policy

    if opts.policy is not None:
        _load_plugin_policies(opts.policy)
        try:
            make_policy(opts.policy)
        except ConfigError as e:
            raise _fail(f"--policy: {e}") from None
    if opts.config is not None:
        _check_config(opts.config, "--config", opts.policy)
    modes = [
        Mode("without", "without aios", "observe"),
        Mode("with", "with aios", "aios", opts.config, opts.policy),
    ]
    for spec in opts.modes:
        name, sep, path = spec.partition("=")
        name = name.strip()
        if not sep or not name or not path.strip():
            raise _fail(f"--mode {spec!r}: expected NAME=CONFIG.toml, e.g. --mode fair=fair.toml")
        if name in RESERVED or any(m.key == name for m in modes):
            raise _fail(f"--mode {spec!r}: the name {name!r} is taken; choose another")
        _check_config(Path(path.strip()), f"--mode {name}", opts.policy)
        modes.append(Mode(name, name, "aios", Path(path.strip()).resolve(), opts.policy))
    if opts.plain:
        modes.append(Mode("plain", "plain (no aios)", "plain"))
    return modes


def _sim(opts: ProgramOptions) -> SimSpec | None:
    sim_only = {"--rpm": opts.rpm, "--tpm": opts.tpm, "--slots": opts.slots, "--faults": opts.faults}
    if opts.provider == "env":
        given = [name for name, value in sim_only.items() if value is not None]
        if given:
            raise _fail(f"{', '.join(given)} set(s) the embedded sim's limits; drop it with --provider env")
        return None
    if opts.provider != "sim":
        raise _fail(f"--provider {opts.provider!r}: choose sim (the default) or env")
    from aios.sim.cli import build_config

    try:
        build_config(
            profile=opts.profile,
            mode="auto",
            script=None,
            seed=7,
            time_scale=opts.time_scale,
            rpm=opts.rpm,
            tpm=opts.tpm,
            input_tpm=None,
            output_tpm=None,
            budget_tokens=None,
            latency=None,
            slots=opts.slots,
            kv_budget=None,
            faults=opts.faults,
        )
    except typer.BadParameter as e:
        raise _fail(f"{e.param_hint}: {e.message}") from None
    args = ["--profile", opts.profile, "--seed", "7", "--time-scale", f"{opts.time_scale:g}"]
    for flag, value in (
        ("--rpm", opts.rpm),
        ("--tpm", opts.tpm),
        ("--slots", opts.slots),
        ("--faults", opts.faults),
    ):
        if value is not None:
            args += [flag, str(value)]
    return SimSpec(tuple(args), rpm=opts.rpm, tpm=opts.tpm, time_scale=opts.time_scale)


def _confirm(opts: ProgramOptions, modes: list[Mode]) -> None:
    runs = opts.copies * len(modes) * opts.repeat
    what = (
        f"{opts.copies} copies x {len(modes)} modes x {opts.repeat} round(s) = {runs} runs of the program "
        f"(plus up to {opts.reruns} re-runs of each copy that fails on an LLM error) against your real "
        "provider, with your keys; this may cost money."
    )
    if opts.yes:
        return
    if not sys.stdin.isatty():
        raise _fail(f"--provider env would start {what} No terminal to confirm on: pass --yes to run it.")
    if not typer.confirm(f"aios bench will start {what} Continue?", default=False):
        typer.echo("aios bench: nothing was run.", err=True)
        raise typer.Exit(1)


def _table(lives: list[Live], copies: int, repeat: int) -> Table:
    table = Table(title=f"aios bench: {copies} copies per mode, {repeat} round(s)")
    for col in ("mode", "round", "running", "done", "failed", "429s so far"):
        table.add_column(col, justify="left" if col == "mode" else "right")
    for live in lives:
        current = min(live.rounds_done + (1 if live.running else 0), repeat)
        table.add_row(
            live.label,
            f"{current}/{repeat}",
            str(live.running),
            str(live.done),
            str(live.failed),
            str(live.rate_limited),
        )
    return table


def run_program_bench(opts: ProgramOptions) -> None:
    if opts.module is None:
        if opts.script is None:
            raise _fail("give the program: `aios bench SCRIPT [ARGS...]` or `aios bench -m MODULE [ARGS...]`")
        if not Path(opts.script).is_file():
            raise _fail(
                f"{opts.script!r} is neither a file nor a scenario; give a Python script, `-m MODULE`, "
                "or one of the scenario names (see `aios bench --help`)"
            )
    modes = modes_of(opts)
    sim = _sim(opts)
    if sim is None:
        _confirm(opts, modes)
    out = opts.out.resolve()
    runs_dir = out / "runs"
    if runs_dir.exists():
        shutil.rmtree(runs_dir)  # only our own folder of a previous run
    plan = Plan(
        program=Program(opts.script, opts.module, opts.args),
        modes=modes,
        copies=opts.copies,
        repeat=opts.repeat,
        reruns=opts.reruns,
        timeout=opts.timeout,
        sim=sim,
        policy=opts.policy,
        workdir=runs_dir,
    )
    console = Console(stderr=True)
    console.print(program_report.OBSERVE_NOTE, highlight=False)
    bench = Bench(plan)
    with RichLive(_table(list(bench.live.values()), opts.copies, opts.repeat), console=console) as live:

        def show(_changed: Live) -> None:
            live.update(_table(list(bench.live.values()), opts.copies, opts.repeat))

        bench.progress = show
        batches = bench.run()
    result = program_report.build(plan, batches)
    path = program_report.write(result, out)
    program_report.plots(result, out)
    typer.echo(program_report.markdown(result))
    typer.echo(f"wrote {path}, results.md, two plots and each copy's logs (runs/) to {out}/")
