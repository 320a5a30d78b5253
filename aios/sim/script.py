"""Scripted replies: a JSONL file, one reply per line, for exact tests.

Each line is an object with any of ``text``, ``tool_calls`` (``[{"name", "arguments"}]``),
``reasoning``, and optionally ``match`` (a substring of the last user message: such lines are
chosen whenever they match and never consumed) or ``status``/``message`` to answer with an
error of that HTTP status. Lines without ``match`` are consumed in file order.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ScriptError(ValueError):
    pass


@dataclass(slots=True)
class ScriptEntry:
    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    reasoning: str = ""
    match: str | None = None
    status: int | None = None
    message: str = "scripted error"


class Script:
    def __init__(self, entries: list[ScriptEntry]) -> None:
        self._keyed = [e for e in entries if e.match is not None]
        self._ordered = [e for e in entries if e.match is None]
        self._cursor = 0
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path) -> Script:
        entries: list[ScriptEntry] = []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ScriptError(f"cannot read script {str(path)!r}: {exc}") from exc
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                if not isinstance(raw, dict):
                    raise TypeError("not an object")
                calls = raw.get("tool_calls", [])
                if not isinstance(calls, list) or not all(
                    isinstance(c, dict) and isinstance(c.get("name"), str) for c in calls
                ):
                    raise TypeError("tool_calls must be a list of {name, arguments}")
                entries.append(ScriptEntry(**raw))
            except (ValueError, TypeError) as exc:
                raise ScriptError(f"{path}:{number}: bad script line: {exc}") from exc
        return cls(entries)

    def reset(self) -> None:
        with self._lock:
            self._cursor = 0

    def next(self, last_user_text: str) -> ScriptEntry | None:
        for entry in self._keyed:
            if entry.match and entry.match in last_user_text:
                return entry
        with self._lock:
            if self._cursor >= len(self._ordered):
                return None
            entry = self._ordered[self._cursor]
            self._cursor += 1
            return entry
