"""What the bootstrap does inside each Python process started under ``aios run``.

Every process patches the adapters before the program's first line, spools each syscall as it
ends and, at exit, shuts its kernel down and keeps its report: the root process (the program
itself) merges the reports of its subprocesses into its own, writes ``AIOS_REPORT`` and prints
the summary; any other process leaves its report in the spool directory (or beside
``AIOS_REPORT`` if the root is gone).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from aios.adapters.hookspecs import hookimpl
from aios.runner import env
from aios.runner.interrupt import keeping_interrupt
from aios.runner.spool import RecordWriter

log = logging.getLogger("aios.runner")


#: The error of a call still running when its process ended (it reached the provider, but its
#: caller never saw the answer).
UNFINISHED = "unfinished at exit: the program ended while this call was running"


class KernelTracker:
    """A plugin that remembers every kernel booted in this process, so none escapes the report,
    and has each one spool its ended syscalls as they end."""

    def __init__(self) -> None:
        self.kernels: list[Any] = []
        self._lock = threading.Lock()

    @hookimpl
    def aios_syscall_observer(self, kernel: Any) -> RecordWriter | None:
        with self._lock:
            if not any(k is kernel for k in self.kernels):
                self.kernels.append(kernel)
        spool = os.environ.get(env.SPOOL)
        return RecordWriter(Path(spool)) if spool else None

    def forget(self) -> None:
        self.kernels = []
        self._lock = threading.Lock()


class ProcessState:
    """This process's part in the run: root or child, and what to do at exit."""

    def __init__(
        self,
        tracker: KernelTracker,
        *,
        root: bool,
        watch_fd: int | None = None,
        shared_server: str | None = None,
    ) -> None:
        self.tracker = tracker
        self.root = root
        #: The private server of ``aios run --shared`` (``PID:DIR``), stopped by the root at exit.
        self.shared_server = shared_server if root else None
        self.pid = os.getpid()
        self.finished = False
        #: The root's end of the watcher's pipe: held open for as long as the root lives.
        self.watch_fd = watch_fd

    def forked(self) -> None:
        # A forked process is a child with its own (fresh) kernel, whatever its parent was.
        self.root = False
        self.shared_server = None
        self.pid = os.getpid()
        self.finished = False
        self.tracker.forget()
        if self.watch_fd is not None:
            # Only the root's end tells the watcher the program is gone.
            with contextlib.suppress(OSError):
                os.close(self.watch_fd)
            self.watch_fd = None

    def finish(self) -> None:
        if self.finished or os.getpid() != self.pid:
            return
        self.finished = True
        with keeping_interrupt():  # this imports (the report, the summary): keep a Ctrl-C's exit
            try:
                self._finish()
            except Exception as exc:  # the program's exit code matters more than our report
                print(f"aios run: could not write the report: {exc!r}", file=sys.stderr)
            if self.shared_server:
                # Last: the kernels have given their slots back and recorded their calls by now.
                from aios.runner.redis_server import stop_exported_server

                stop_exported_server(self.shared_server)

    def _finish(self) -> None:
        from aios.runner.report import process_report, write_json

        report = process_report(self._final_reports(), pid=self.pid, argv=sys.argv, root=self.root)
        target = os.environ.get(env.REPORT)
        spool = os.environ.get(env.SPOOL)
        if not self.root:
            if spool and Path(spool).is_dir():
                write_json(Path(spool) / f"{self.pid}.json", report)
            elif target:
                write_json(Path(f"{target}.{self.pid}.json"), report)
            return
        from aios.runner.report import collect_spool

        report = collect_spool(report, Path(spool) if spool else None, pid=self.pid)
        if target:
            write_json(Path(target), report)
        if os.environ.get(env.QUIET) != "1":
            from aios.runner.summary import print_summary

            print_summary(report)

    def _final_reports(self) -> list[dict[str, Any]]:
        # Shut the kernels down first: calls still queued are then cancelled and accounted, so
        # the report is complete. Our atexit handler runs before aios.runtime's (registered
        # earlier), and shutdown is safe to repeat.
        from aios import runtime

        runtime.shutdown()
        reports = []
        for k in self.tracker.kernels:
            k.shutdown()
            # Calls still running now (in daemon threads) reached the provider: they count.
            k.cancel_running(UNFINISHED)
            reports.append(k.report())
        return reports


def _frameworks() -> list[str]:
    raw = os.environ.get(env.FRAMEWORKS, "")
    return [n.strip() for n in raw.split(",") if n.strip()]


def _patch(names: list[str]) -> None:
    import aios

    if not names:
        aios.patch()  # logs a failing adapter by name and patches the others
        return
    for name in names:
        try:
            aios.patch(name)
        except Exception as exc:  # one failing adapter must not stop the program
            log.warning("aios run: adapter %r was not patched: %s", name, exc)


def _watch_fd() -> int | None:
    raw = os.environ.pop(env.WATCH_FD, None)
    if raw is None or not raw.isdigit():
        return None
    fd = int(raw)
    try:
        os.set_inheritable(fd, False)  # the program's subprocesses must not hold it open
    except OSError:
        return None
    return fd


def start(
    root: bool | None = None, *, watch_fd: int | None = None, exit_handler: bool = True
) -> ProcessState | None:
    """Patch the adapters and arrange the report at exit. Never raises.

    ``root`` is read from (and removed from) the environment unless the lazy bootstrap, which
    removed it at start-up, passes it; likewise the root's ``watch_fd``. With
    ``exit_handler=False`` the caller runs :meth:`ProcessState.finish` at exit (the lazy
    bootstrap does, from the handler it registered at start-up, so the report is written after
    the program's own exit handlers, as when aios loaded at start-up).
    """
    if root is None:
        root = os.environ.pop(env.ROOT, None) == "1"
    if watch_fd is None and root:
        watch_fd = _watch_fd()
    shared_server = os.environ.pop(env.SHARED_SERVER, None)
    try:
        from aios.adapters.plugins import plugins

        tracker = KernelTracker()
        plugins().register(tracker, name="aios-run-kernels")
        _patch(_frameworks())
    except Exception as exc:
        print(f"aios run: adapters not patched, the program runs without aios: {exc!r}", file=sys.stderr)
        return None
    state = ProcessState(tracker, root=root, watch_fd=watch_fd if root else None, shared_server=shared_server)
    if exit_handler:
        atexit.register(state.finish)
    os.register_at_fork(after_in_child=state.forked)
    _start_live(root)
    return state


def _start_live(root: bool) -> None:
    """``aios run --otel``/``--top``/``--top-socket``, after the report's exit handler (LIFO)."""
    if os.environ.get("AIOS_OTEL") == "1":
        try:
            from aios.telemetry.otel import enable_agent_spans

            enable_agent_spans()  # agent scopes opened before the first call are traced too
        except Exception as exc:
            print(f"aios run: OpenTelemetry export is off: {exc}", file=sys.stderr)
    if root:
        from aios.top.serve import start_from_env

        start_from_env()
