"""``python -m aios.sim``: the ``aios sim`` command without the top-level CLI."""

from __future__ import annotations

import typer

from .cli import sim


def main() -> None:
    typer.run(sim)


if __name__ == "__main__":
    main()
