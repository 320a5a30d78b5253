"""The ``aios run`` and ``aios plugins`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from aios.runner.start import RunError, error_line, start


def _fail(message: str) -> typer.Exit:
    typer.echo(error_line(message), err=True)
    return typer.Exit(2)


def run(
    ctx: typer.Context,
    script: str | None = typer.Argument(None, help="The program (a .py file), then its arguments."),
    module: str | None = typer.Option(None, "-m", help="Run a module as `python -m MODULE` does."),
    policy: str | None = typer.Option(None, "--policy", help="Scheduling policy (fifo, fair, ...)."),
    max_concurrency: int | None = typer.Option(
        None, "--max-concurrency", min=1, help="At most N calls in flight per LLM endpoint."
    ),
    report: Path | None = typer.Option(None, "--report", help="Write the kernel report JSON here at exit."),
    config: Path | None = typer.Option(None, "--config", help="aios config file (TOML)."),
    frameworks: str | None = typer.Option(
        None, "--frameworks", help="Comma-separated adapters to patch (default: every installed one)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary table at exit."),
    otel: bool = typer.Option(
        False, "--otel", help="Export OpenTelemetry GenAI spans and metrics (standard OTEL_* variables)."
    ),
    top: bool = typer.Option(False, "--top", help="Show the live `aios top` view on stderr."),
    top_socket: bool = typer.Option(
        False, "--top-socket", help="Serve the live view on a Unix socket for `aios top --socket`."
    ),
    approve: str | None = typer.Option(
        None, "--approve", help="Who approves `confirm` tools: terminal, deny, allow or python:MOD:FUNC."
    ),
    audit: Path | None = typer.Option(
        None, "--audit", help="Append one JSON line per access decision and finished call to this file."
    ),
    redis: str | None = typer.Option(
        None, "--redis", metavar="URL", help="Share the kernel state with every process on this Redis/Valkey."
    ),
    shared: bool = typer.Option(
        False, "--shared", help="Start a private Redis-compatible server for this run and share it."
    ),
) -> None:
    """Run a Python program with every LLM and tool call going through the aios kernel.

    `aios run app.py ARGS` or `aios run -m package.module ARGS`. The program runs as __main__ with
    its own argv, working directory and exit code; Python subprocesses it starts are covered too.
    """
    try:
        start(list(ctx.args), **ctx.params)  # every option by name: run_args parses them too
    except RunError as e:
        raise _fail(str(e)) from None


def report_command(
    redis: str | None = typer.Option(
        None, "--redis", metavar="URL", help="The shared-state server (default: AIOS_REDIS_URL / redis_url)."
    ),
    prefix: str | None = typer.Option(None, "--prefix", help="Key prefix (default: redis_prefix, aios)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Per-agent and per-core totals of every process that shared one kernel state on Redis/Valkey."""
    from aios.config import load_config
    from aios.errors import ConfigError
    from aios.runner.cluster_report import cluster_report

    def fail(message: str) -> typer.Exit:
        typer.echo(f"aios report: error: {message}", err=True)
        return typer.Exit(2)

    try:
        cfg = load_config(overrides={"redis_url": redis, "redis_prefix": prefix})
    except ConfigError as e:
        raise fail(str(e)) from None
    if not cfg.redis_url:
        raise fail("no server to read: give --redis URL (or set AIOS_REDIS_URL / redis_url in aios.toml)")
    try:
        data = cluster_report(cfg.redis_url, cfg.redis_prefix)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise fail(str(e)) from None
    if as_json:
        typer.echo(json.dumps({k: v for k, v in data.items() if k != "recent"}, indent=2))
        return
    from rich.console import Console

    from aios.runner.cluster_table import cluster_tables

    console = Console()
    if not console.is_terminal:
        console = Console(width=140)
    if not data["agents"]:
        console.print(
            f"no syscalls recorded at {data['url']} under prefix {data['prefix']!r}", highlight=False
        )
        return
    for table in cluster_tables(data):
        console.print(table)


def plugins_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the adapters: framework, installed version, supported range, and plugin errors."""
    from aios.runner.listing import adapter_rows, plugins_table

    rows, errors = adapter_rows()
    if as_json:
        typer.echo(json.dumps({"adapters": rows, "errors": errors}, indent=2))
        return
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=120)  # piped output keeps whole names rather than 80 columns
    console.print(plugins_table(rows))
    for plugin, reason in sorted(errors.items()):
        console.print(f"[red]plugin {plugin!r} failed:[/red] {reason}", highlight=False)
