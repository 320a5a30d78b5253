"""The ``aios top`` command: attach to a program's kernel and redraw its view until Ctrl-C."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from aios.top.source import RedisSource, SnapshotSource, SocketSource, SourceGone


def _fail(message: str) -> typer.Exit:
    typer.echo(f"aios top: error: {message}", err=True)
    return typer.Exit(2)


def watch(source: SnapshotSource, *, interval: float, once: bool = False) -> None:
    """Redraw from ``source`` every ``interval`` seconds until Ctrl-C or the source ends."""
    from rich.console import Console
    from rich.live import Live

    from aios.top.view import render

    console = Console()
    snap = source()
    if once:
        console.print(render(snap, width=console.width))
        return
    try:
        with Live(render(snap, width=console.width), console=console, auto_refresh=False) as live:
            while True:
                time.sleep(interval)
                try:
                    snap = source()
                except SourceGone:
                    live.update(render(snap, width=console.width, note="the program has ended"), refresh=True)
                    return
                live.update(render(snap, width=console.width), refresh=True)
    except KeyboardInterrupt:
        return  # Ctrl-C is how one leaves top: a normal exit


def top(
    socket: Path | None = typer.Option(
        None, "--socket", help="The Unix socket `aios run --top-socket` printed for its program."
    ),
    redis: str | None = typer.Option(
        None, "--redis", metavar="URL", help="Every kernel sharing the state on this Redis/Valkey."
    ),
    prefix: str = typer.Option("aios", "--prefix", help="With --redis: the kernels' `redis_prefix`."),
    interval: float = typer.Option(0.5, "--interval", min=0.05, help="Seconds between redraws."),
    once: bool = typer.Option(False, "--once", help="Print one frame and exit."),
) -> None:
    """Live view of a running kernel: cores, queues, buckets, agents and the newest syscalls.

    Start the program with `aios run --top-socket app.py` (it prints the socket path), then
    `aios top --socket PATH` in another terminal. `aios run --top` shows the same view on the
    program's own stderr. Ctrl-C leaves.
    """
    source: SocketSource | RedisSource
    if redis is not None:
        if socket is not None:
            raise _fail("give either --socket PATH (one program) or --redis URL (a shared state), not both")
        source = RedisSource(redis, prefix)
        try:
            source.connect()
        except ConnectionError as exc:
            raise _fail(str(exc)) from None
    elif socket is None:
        raise _fail(
            "give the program's socket: `aios top --socket PATH` (`aios run --top-socket` prints it), "
            "or `aios top --redis URL` for kernels sharing a state"
        )
    else:
        source = SocketSource(socket)
        try:
            source.connect()
        except OSError as exc:
            raise _fail(
                f"cannot connect to {str(socket)!r} ({exc.strerror or exc}); is the program still "
                "running under `aios run --top-socket`?"
            ) from None
    try:
        watch(source, interval=interval, once=once)
    except SourceGone:
        raise _fail("the program ended before its first snapshot") from None
    except KeyboardInterrupt:
        pass
    finally:
        source.close()
