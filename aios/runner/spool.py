"""The spool directory of a run: where every process under ``aios run`` leaves its calls.

Each process appends one JSON line per ended syscall to ``<pid>.jsonl`` as it ends (written and
flushed by one ``write`` on an ``O_APPEND`` file), so a process that leaves through ``os._exit``
or is killed still counts everything it finished. A process that exits normally also leaves its
whole report as ``<pid>.json``, which then stands for it. Whoever merges the spool (the
program's own process at exit, else the watcher of :mod:`aios.runner.watcher`) removes it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aios.kernel.syscall import Syscall


class RecordWriter:
    """A kernel observer that appends each ended syscall to this process's ``.jsonl`` file."""

    def __init__(self, spool: Path) -> None:
        self.spool = spool
        self._pid = -1
        self._fd = -1

    def _open(self) -> int:
        # After a fork the child writes its own file; the parent's descriptor stays the parent's.
        pid = os.getpid()
        if pid != self._pid:
            self._pid = pid
            try:
                self._fd = os.open(self.spool / f"{pid}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            except OSError:
                self._fd = -1  # the spool is gone (the root ended first): the exit report covers it
        return self._fd

    def on_finish(self, syscall: Syscall) -> None:
        fd = self._open()
        if fd < 0:
            return
        record = syscall.to_record()
        record["pid"] = self._pid
        line = json.dumps(record, default=str, separators=(",", ":")) + "\n"
        try:
            os.write(fd, line.encode())
        except OSError:
            pass  # a full disk must not fail the program's call


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of a ``.jsonl`` file; a line cut short by a kill is skipped."""
    out: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return out
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


def spooled_reports(
    spool: Path, *, skip_pid: int | None = None, root_pid: int | None = None, policy: str | None = None
) -> list[dict[str, Any]]:
    """One report per process found in ``spool``: its ``.json`` if it wrote one, else its records."""
    from aios.runner.report import records_report

    parts: list[dict[str, Any]] = []
    pids = sorted({p.stem for p in spool.glob("*.json*") if p.stem.isdigit()}, key=int)
    for name in pids:
        pid = int(name)
        if pid == skip_pid:
            continue
        whole = spool / f"{name}.json"
        if whole.is_file():
            try:
                parts.append(_redacted(json.loads(whole.read_text(encoding="utf-8"))))
                continue
            except (OSError, ValueError):
                pass  # killed while writing it: its records still count
        records = read_records(spool / f"{name}.jsonl")
        parts.append(records_report(records, pid=pid, root=pid == root_pid, policy=policy))
    return parts


def _redacted(report: dict[str, Any]) -> dict[str, Any]:
    # A process that never loaded aios wrote its argv as it was (the bootstrap has no redaction).
    from aios.kernel.access.redact import redact_argv

    for proc in report.get("processes", []):
        if isinstance(proc, dict) and isinstance(proc.get("argv"), list):
            proc["argv"] = redact_argv([str(a) for a in proc["argv"]])
    return report
