"""The audit log: one JSON line per access decision and per finished syscall.

Each line is written with one ``write`` to a file opened ``O_APPEND``, so lines from many
threads and processes never interleave and a crash loses at most the line being written; there
is no buffer to flush. The file is created with mode 0600: it says what every agent did.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aios.kernel.access.redact import Scrubber

if TYPE_CHECKING:
    from aios.kernel.syscall import Syscall


class AuditLog:
    def __init__(self, path: str | os.PathLike[str], *, arguments: bool = False) -> None:
        self.path = os.fspath(path)
        self.arguments = arguments
        self._scrub = Scrubber()
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._fd: int | None = None

    def _open(self) -> int:
        # Opened lazily, and again in a forked child: the fd of the parent would do, but the pid
        # written into each line must be the writer's.
        if self._fd is None or self._pid != os.getpid():
            directory = os.path.dirname(self.path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def write(self, event: str, sc: Syscall, **fields: Any) -> None:
        record: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="microseconds"),
            "event": event,
            "syscall": sc.id,
            "pid": os.getpid(),
            "run": sc.run,
            "kind": sc.kind.value,
            "agent": sc.agent,
            "group": sc.group,
            "framework": sc.framework,
            "tool": sc.tool,
            "model": sc.model,
            "core": sc.core_name,
        }
        arguments = fields.pop("arguments", None)
        record.update(fields)
        if self.arguments and arguments is not None:
            record["arguments"] = arguments
        line = self._scrub(json.dumps(record, default=str, ensure_ascii=False)) + "\n"
        data = line.encode("utf-8")
        with self._lock:
            fd = self._open()
            os.write(fd, data)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None
