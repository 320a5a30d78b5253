"""Typer's value conversion, built only for the values that need it.

Typer (0.2x) converts every parameter's value through a pydantic ``TypeAdapter`` that it builds
the first time the parameter is processed, even when the value is ``None`` (an option not
given) or already the text a ``str`` parameter wants. For ``aios run``, with its 15 options,
that is pydantic's import plus a dozen adapters (≈ 0.2 s) on every run before the program
starts. Here each parameter gets a converter that answers those two cases itself, exactly as
the adapter would (``None`` stays ``None``; text stays the same text), and hands every other
value to the adapter typer builds, so errors and results are typer's own.

It relies on typer's internals (``_TyperParameter.type_descriptor``/``_runtime_param``); a typer
without them is left alone, which costs time, not behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

try:
    from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
except ImportError:  # another typer: nothing to tune
    RuntimeParam = None  # type: ignore[assignment,misc]


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class _OnDemand(RuntimeParam):
        """Text for a ``str`` parameter as is; anything else through typer's own converter."""

        descriptor: TypeDescriptor

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if type(value) is str and self.annotation is str and self.parameter_info.parser is None:
                return value  # typer's adapter gives str(value): the same text
            full = build_runtime_param(self.descriptor)
            param._runtime_param = full  # built once, as typer would
            return full._coerce_value(value, param=param, ctx=ctx)


def convert_on_demand(command: Any) -> None:
    """Give ``command``'s parameters, and its help option once made, the on-demand converter."""
    if RuntimeParam is None or getattr(command, "_aios_on_demand", False):
        return
    for param in getattr(command, "params", ()):
        on_demand(param)
    made = getattr(command, "get_help_option", None)
    if made is None:
        return
    command._aios_on_demand = True

    def get_help_option(ctx: Any) -> Any:
        return on_demand(made(ctx))

    command.get_help_option = get_help_option  # typer makes it on first use, not in ``params``


def on_demand(param: Any) -> Any:
    """Give one parameter the on-demand converter, if typer has not built its own yet."""
    descriptor = getattr(param, "type_descriptor", None)
    if RuntimeParam is None or descriptor is None or getattr(param, "_runtime_param", False) is not None:
        return param  # not typer's parameter, or its converter is built already
    if getattr(descriptor, "file_annotation", None) is not None:
        return param  # files are opened by typer's own converter
    try:
        param._runtime_param = _OnDemand(
            parameter_info=descriptor.parameter_info, annotation=descriptor.annotation, descriptor=descriptor
        )
    except (TypeError, AttributeError):
        pass  # typer's internals changed shape: its own converter, built as usual
    return param
