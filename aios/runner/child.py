"""What the bootstrap does inside each Python process started under ``aios run``.

Every process patches the adapters before the program's first line and, at exit, shuts its
kernel down and keeps its report: the root process (the program itself) merges the reports of
its subprocesses into its own, writes ``AIOS_REPORT`` and prints the summary; any other process
leaves its report in the spool directory (or beside ``AIOS_REPORT`` if the root is gone).
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from aios.adapters.hookspecs import hookimpl
from aios.runner import env

log = logging.getLogger("aios.runner")


class KernelTracker:
    """A plugin that remembers every kernel booted in this process, so none escapes the report."""

    def __init__(self) -> None:
        self.kernels: list[Any] = []
        self._lock = threading.Lock()

    @hookimpl
    def aios_syscall_observer(self, kernel: Any) -> None:
        with self._lock:
            if not any(k is kernel for k in self.kernels):
                self.kernels.append(kernel)

    def forget(self) -> None:
        self.kernels = []
        self._lock = threading.Lock()


class ProcessState:
    """This process's part in the run: root or child, and what to do at exit."""

    def __init__(self, tracker: KernelTracker, *, root: bool) -> None:
        self.tracker = tracker
        self.root = root
        self.pid = os.getpid()
        self.finished = False

    def forked(self) -> None:
        # A forked process is a child with its own (fresh) kernel, whatever its parent was.
        self.root = False
        self.pid = os.getpid()
        self.finished = False
        self.tracker.forget()

    def finish(self) -> None:
        if self.finished or os.getpid() != self.pid:
            return
        self.finished = True
        try:
            self._finish()
        except Exception as exc:  # the program's exit code matters more than our report
            print(f"aios run: could not write the report: {exc!r}", file=sys.stderr)

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

        report = collect_spool(report, Path(spool) if spool else None)
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


def start(root: bool | None = None) -> ProcessState | None:
    """Patch the adapters and arrange the report at exit. Never raises.

    ``root`` is read from (and removed from) the environment unless the lazy bootstrap, which
    removed it at start-up, passes it.
    """
    if root is None:
        root = os.environ.pop(env.ROOT, None) == "1"
    try:
        from aios.adapters.plugins import plugins

        tracker = KernelTracker()
        plugins().register(tracker, name="aios-run-kernels")
        _patch(_frameworks())
    except Exception as exc:
        print(f"aios run: adapters not patched, the program runs without aios: {exc!r}", file=sys.stderr)
        return None
    state = ProcessState(tracker, root=root)
    atexit.register(state.finish)
    os.register_at_fork(after_in_child=state.forked)
    return state

