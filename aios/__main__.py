"""The ``aios`` command's entry point (``python -m aios`` and the installed ``aios`` script).

A plain ``aios run [OPTIONS] PROGRAM [ARGS...]`` goes to the runner before typer is imported
(:mod:`aios.runner.run_args`): the program starts that much sooner on every run. Every other
command line goes to the typer app (:mod:`aios.cli`), which parses it as always.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["run"]:
        from aios.runner.run_args import run_plain

        run_plain(sys.argv[2:])  # returns only if typer is to parse this command line
    from aios.cli import main as typer_main

    typer_main()


if __name__ == "__main__":
    main()
