"""A plain ``aios run [OPTIONS] PROGRAM [ARGS...]``, parsed without typer.

Typer and click cost the ``aios`` command ≈ 50 ms of imports before the program's first line,
on every run. Most runs are plain: a few known options, then the program and its arguments.
:func:`parse` reads those, exactly as typer would, from :data:`OPTIONS`; anything it is not
sure of (help, an unknown or repeated option, a value that looks like an option, a number
typer might refuse, no program) is left to the typer command, which parses and reports it as
always. ``tests/runner/test_run_args.py`` holds this table to the typer command's options.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing costs the command's start-up a few milliseconds
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

#: The kinds of option values: a flag takes none; text and a path are kept as given (typer
#: makes the path a ``Path``; the runner takes either); a count is a whole number of at least 1.
FLAG, TEXT, PATH, COUNT = "flag", "text", "path", "count"

#: Every option of ``aios run``: its name on the command line -> (the typer parameter, its kind).
OPTIONS: dict[str, tuple[str, str]] = {
    "-m": ("module", TEXT),
    "--policy": ("policy", TEXT),
    "--max-concurrency": ("max_concurrency", COUNT),
    "--report": ("report", PATH),
    "--config": ("config", PATH),
    "--frameworks": ("frameworks", TEXT),
    "--quiet": ("quiet", FLAG),
    "-q": ("quiet", FLAG),
    "--otel": ("otel", FLAG),
    "--top": ("top", FLAG),
    "--top-socket": ("top_socket", FLAG),
    "--approve": ("approve", TEXT),
    "--audit": ("audit", PATH),
    "--redis": ("redis", TEXT),
    "--shared": ("shared", FLAG),
}


def parse(argv: Sequence[str]) -> tuple[list[str], dict[str, Any]] | None:
    """The program's arguments and the typer parameters for ``aios run ARGV``, or ``None``.

    ``None``: a command line to leave to typer. The parameters are every option's, by name,
    with typer's defaults (``False`` for a flag, ``None`` otherwise), and ``script``.
    """
    values: dict[str, Any] = {name: (False if kind == FLAG else None) for name, kind in OPTIONS.values()}
    given: set[str] = set()
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        flag, equals, inline = argv[i].partition("=") if argv[i].startswith("--") else (argv[i], "", "")
        name, kind = OPTIONS.get(flag, ("", ""))
        if not name or name in given:
            return None  # help, `--`, an unknown option, a short cluster, a repeat: typer's
        given.add(name)
        if kind == FLAG:
            if equals:
                return None  # a flag takes no value: typer's error
            values[name] = True
            i += 1
            continue
        if equals:
            value, i = inline, i + 1
        elif i + 1 < len(argv):
            value, i = argv[i + 1], i + 2
        else:
            return None  # no value: typer's error
        converted = _convert(kind, value)
        if converted is None:
            return None
        values[name] = converted
    if i == len(argv) and values["module"] is None:
        return None  # no program: the typer command says how to give one
    values["script"] = argv[i] if i < len(argv) else None
    return list(argv[i + 1 :]), values


def _convert(kind: str, value: str) -> object | None:
    if not value or value.startswith("-"):
        return None  # typer would take it as the value; rare enough to leave it the case
    if kind == COUNT:
        if not (value.isascii() and value.isdigit()) or int(value) < 1:
            return None  # typer's own message for a bad number
        return int(value)
    return value  # text, and a path as its text: the runner takes both (typer gives a Path)


def run_plain(argv: Sequence[str]) -> None:
    """Run ``aios run ARGV`` if it is plain (this process becomes the program); else return."""
    if _typer_acts_before_parsing():
        return
    parsed = parse(argv)
    if parsed is None:
        return
    args, values = parsed
    from aios.runner.start import RunError, error_line, say, start

    try:
        start(args, **values)
    except RunError as e:
        say(error_line(str(e)))
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None  # what the typer command exits with


def _typer_acts_before_parsing() -> bool:
    """Whether typer would do more with this command line than parse it: expand its wildcards
    (on Windows), or answer a shell's completion request (click's ``_{PROG}_COMPLETE``)."""
    if os.name == "nt":
        return True
    return any(k.startswith("_") and k.endswith("_COMPLETE") and v for k, v in os.environ.items())
