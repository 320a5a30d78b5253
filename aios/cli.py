"""The ``aios`` command. Each subcommand lives in a module of its own; this file only assembles them."""

from __future__ import annotations

import json

import typer

from aios._version import __version__

app = typer.Typer(
    name="aios",
    help="An operating system for LLM agents: schedule, limit and account every LLM and tool call.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.command()
def version() -> None:
    """Print the aios version."""
    typer.echo(__version__)


@app.command("config")
def show_config(
    config: str | None = typer.Option(
        None, "--config", help="Config file (default: aios.toml, pyproject, $AIOS_CONFIG)."
    ),
) -> None:
    """Print the effective configuration as JSON (file + AIOS_* environment + defaults)."""
    from aios.errors import ConfigError
    from aios.runtime import checked_config

    try:
        cfg = checked_config(config)
    except ConfigError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    data = cfg.model_dump(mode="json")
    if data.get("redis_url"):
        from aios.kernel.access.redact import redact_url

        data["redis_url"] = redact_url(data["redis_url"])  # a shown config shows no password
    typer.echo(json.dumps(data, indent=2))


def _register() -> None:
    from aios.bench.cli import bench
    from aios.demo.cli import demo
    from aios.sim.cli import sim

    app.command("demo")(demo)
    app.command("sim")(sim)
    app.command("bench", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(bench)
    from aios.runner.cli import plugins_command, run

    app.command(
        "run",
        context_settings={
            "allow_extra_args": True,
            "ignore_unknown_options": True,
            "allow_interspersed_args": False,
        },
    )(run)
    app.command("plugins")(plugins_command)
    from aios.top.cli import top

    app.command("top")(top)
    from aios.runner.cli import report_command

    app.command("report")(report_command)


_register()


def main() -> None:
    app()
