"""The ``aios`` command. Each subcommand lives in a module of its own; this file only assembles them.

A subcommand's module is imported only when that subcommand runs (or ``aios --help`` lists it):
``aios run`` must not pay for the simulator, the bench or the live view before it becomes the
program, and neither must any other command pay for the rest.
"""

from __future__ import annotations

import json
from importlib import import_module
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from aios._version import __version__

if TYPE_CHECKING:  # typer's own click (vendored in recent typer): only named in annotations
    from typer._click import Command, Context

#: name -> (module, function, context settings), in the order ``aios --help`` lists them.
_LAZY: dict[str, tuple[str, str, dict[str, Any]]] = {}


class _LazyGroup(TyperGroup):
    """Builds a lazily registered subcommand the first time click asks for it by name."""

    def list_commands(self, ctx: Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in _LAZY if n not in self.commands)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands and cmd_name in _LAZY:
            self.commands[cmd_name] = _build(cmd_name)
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            from aios._cli_params import convert_on_demand

            convert_on_demand(command)  # the commands defined here too (`aios version`)
        return command

    def get_help_option(self, ctx: Context) -> Any:
        from aios._cli_params import on_demand

        return on_demand(super().get_help_option(ctx))  # see aios._cli_params

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        if args and args[0] not in self.commands and args[0] not in _LAZY:
            for name in _LAZY:  # a typo: "Did you mean ...?" considers every command
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


def _build(name: str) -> Command:
    module, function, settings = _LAZY[name]
    single = typer.Typer(add_completion=False)
    single.command(name, context_settings=settings or None)(getattr(import_module(module), function))
    command = typer.main.get_command(single)
    from aios._cli_params import convert_on_demand

    convert_on_demand(command)  # no pydantic adapter for options left out (`aios run`'s start-up)
    return command


app = typer.Typer(
    cls=_LazyGroup,
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
    _LAZY["demo"] = ("aios.demo.cli", "demo", {})
    _LAZY["sim"] = ("aios.sim.cli", "sim", {})
    _LAZY["bench"] = ("aios.bench.cli", "bench", {"allow_extra_args": True, "ignore_unknown_options": True})
    _LAZY["run"] = (
        "aios.runner.cli",
        "run",
        {"allow_extra_args": True, "ignore_unknown_options": True, "allow_interspersed_args": False},
    )
    _LAZY["plugins"] = ("aios.runner.cli", "plugins_command", {})
    _LAZY["top"] = ("aios.top.cli", "top", {})
    _LAZY["report"] = ("aios.runner.cli", "report_command", {})


_register()


def main() -> None:
    app()
