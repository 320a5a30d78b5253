"""Where ``aios top`` gets its snapshots: the kernel in this process, or a per-run Unix socket.

A source is any callable returning the current snapshot (a JSON-able dict built from
``Kernel.stats()``) or raising :class:`SourceGone` when what it watched has ended. Another
backend (e.g. kernels sharing a Redis state) only needs to provide such a callable.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Snapshot = dict[str, Any]
SnapshotSource = Callable[[], Snapshot]

#: Newest syscalls kept in a snapshot (finished and running).
RECENT = 12


class SourceGone(Exception):
    """The watched program or kernel is no longer there."""


def kernel_snapshot(kernel: Any) -> Snapshot:
    """``kernel.stats()`` plus the queue per core and the newest syscalls, as plain JSON data."""
    snap: Snapshot = kernel.stats()
    sched = kernel.scheduler
    with sched.lock:
        now = kernel.clock.now()
        queued: dict[str, int] = {}
        for sc in sched.policy.ordered():
            core = sc.candidates[0] if sc.candidates else "?"
            queued[core] = queued.get(core, 0) + 1
        running = [sc.to_record() for sc in sched.running]
        done = [sc.to_record() for sc in kernel.accounting.syscalls[-RECENT:]]
    recent = sorted(running, key=lambda r: r["id"], reverse=True) + done[::-1]
    snap["queued_by_core"] = queued
    snap["recent"] = recent[:RECENT]
    snap["now"] = now
    return snap


def empty_snapshot() -> Snapshot:
    """What a program shows before its first LLM or tool call boots the kernel."""
    return {"queued": 0, "running": 0, "cores": {}, "agents": {}, "by_status": {}, "recent": []}


def local_source() -> SnapshotSource:
    """This process's running kernel (never boots one)."""
    from aios import runtime

    def snapshot() -> Snapshot:
        k = runtime.current()
        out = empty_snapshot() if k is None else kernel_snapshot(k)
        out["pid"] = os.getpid()
        out["program"] = " ".join(sys.argv)
        out["time"] = time.time()
        return out

    return snapshot


class SocketSource:
    """Snapshots read from the Unix socket an ``aios run --top-socket`` program serves."""

    def __init__(self, path: Path, *, timeout: float = 5.0) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buf = b""

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.path))
        except OSError:
            sock.close()
            raise
        return sock

    def connect(self) -> None:
        """Connect now: raises ``OSError`` if nothing serves the socket."""
        self._sock = self._connect()

    def __call__(self) -> Snapshot:
        try:
            if self._sock is None:
                self._sock = self._connect()
            self._sock.sendall(b"snapshot\n")
            while b"\n" not in self._buf:
                chunk = self._sock.recv(65536)
                if not chunk:
                    raise ConnectionError("the program closed the socket")
                self._buf += chunk
        except OSError as exc:
            self.close()
            raise SourceGone(str(exc)) from None
        line, self._buf = self._buf.split(b"\n", 1)
        data: Snapshot = json.loads(line)
        return data

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buf = b""


class RedisSource:
    """Snapshots of every kernel sharing a state on Redis/Valkey (``aios top --redis URL``):
    the cores as the shared state holds them, agents and the newest syscalls from the cluster
    report. A core's queue is the number of processes waiting on it."""

    def __init__(self, url: str, prefix: str = "aios") -> None:
        from aios.runner import redis_link

        self.url = url
        self.prefix = prefix
        self._client = redis_link.client
        self._connection: Any = None  # a cluster client connects when made: after the check

    @property
    def _conn(self) -> Any:
        if self._connection is None:
            self._connection = self._client(self.url)
        return self._connection

    def connect(self) -> None:
        """Check the server now: raises ``ConnectionError`` naming the URL if it does not answer."""
        from aios.runner import redis_link

        problem = redis_link.check(self.url)
        if problem is not None:
            raise ConnectionError(problem)

    def __call__(self) -> Snapshot:
        import redis

        from aios.kernel.shared.core import core_view
        from aios.kernel.shared.state import read_cores
        from aios.runner.cluster_report import read_report

        try:
            raw = read_cores(self._conn, self.prefix)
            report = read_report(self._conn, self.prefix)
        except (redis.RedisError, OSError) as exc:
            raise SourceGone(str(exc)) from None
        now = float(raw.pop("")[0])
        cores = {name: core_view(fields, now) for name, fields in raw.items()}
        recent = sorted(report["recent"], key=lambda r: r.get("finished_at") or 0, reverse=True)
        return {
            **empty_snapshot(),
            "cores": cores,
            "queued_by_core": {name: c["waiting_processes"] for name, c in cores.items()},
            "running": sum(c["in_use"] for c in cores.values()),
            "agents": report["agents"],
            "recent": recent[:RECENT],
            "program": f"{len(report['processes'])} processes sharing {self.prefix!r}",
            "time": time.time(),
        }

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
