"""The program's side of ``aios run --top`` / ``--top-socket``: a view on stderr, a Unix socket.

Both run on daemon threads of the program's root process and read the kernel without booting
it; neither may disturb the program, so their errors are reported once and swallowed.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import socket
import sys
import threading
from pathlib import Path

from aios.top.source import SnapshotSource, local_source

#: ``1``: draw the live view on stderr while the program runs.
VIEW_ENV = "AIOS_RUN_TOP"
#: Path of the Unix socket to serve snapshots on.
SOCKET_ENV = "AIOS_RUN_TOP_SOCKET"


class SnapshotServer:
    """Answers each ``snapshot`` line on a connection with one JSON line."""

    def __init__(self, path: Path, source: SnapshotSource) -> None:
        self.path = path
        self.source = source
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self._sock.bind(str(path))
        self._sock.listen(8)
        self._closed = False
        threading.Thread(target=self._accept, name="aios-top-socket", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="aios-top-client", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as requests:
            for _line in requests:
                try:
                    data = json.dumps(self.source(), default=str).encode() + b"\n"
                    conn.sendall(data)
                except OSError:
                    return

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


def start_view(source: SnapshotSource) -> None:
    """Draw the live view on stderr until the process exits (its last frame stays)."""
    from rich.console import Console
    from rich.live import Live

    from aios.top.view import render

    console = Console(stderr=True)
    live = Live(
        get_renderable=lambda: render(source(), width=console.width),
        console=console,
        refresh_per_second=2,
        # Program output to the same terminal is printed above the view instead of over it;
        # a piped stdout is left alone.
        redirect_stdout=sys.stdout.isatty(),
        redirect_stderr=True,
    )
    live.start()
    atexit.register(live.stop)


def start_from_env() -> None:
    """Called by the ``aios run`` bootstrap in the program's own process."""
    path = os.environ.get(SOCKET_ENV)
    if not path and os.environ.get(VIEW_ENV) != "1":
        return
    source = local_source()
    try:
        if path:
            server = SnapshotServer(Path(path), source)
            atexit.register(server.close)
        if os.environ.get(VIEW_ENV) == "1":
            start_view(source)
    except Exception as exc:  # the program matters more than its live view
        print(f"aios run: the live view could not start: {exc!r}", file=sys.stderr)
