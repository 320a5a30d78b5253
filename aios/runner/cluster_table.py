"""The tables ``aios report`` prints: per-agent and per-core totals across every process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table

_COLUMNS = ("LLM calls", "tool calls", "tokens in", "tokens out", "wait p50", "wait p99", "retries", "errors")


def _row(name: str, t: Mapping[str, Any]) -> list[str]:
    return [
        name,
        str(t.get("llm_calls", 0)),
        str(t.get("tool_calls", 0)),
        str(t.get("input_tokens", 0)),
        str(t.get("output_tokens", 0)),
        f"{t.get('waiting_p50_s', 0.0):.3f}s",
        f"{t.get('waiting_p99_s', 0.0):.3f}s",
        str(t.get("retries", 0)),
        str(t.get("errors", 0)),
    ]


def cluster_tables(report: Mapping[str, Any]) -> list[Table]:
    n_proc = len(report.get("processes", {}))
    where = f"{report.get('url', '?')} prefix {report.get('prefix', '?')!r}"
    out = []
    for what in ("agents", "cores"):
        title = (
            f"aios cluster — {what} across {n_proc} process{'es' if n_proc != 1 else ''} ({where})"
            if what == "agents"
            else "cores"
        )
        table = Table(title=title, caption=None)
        table.add_column(what[:-1])
        for col in _COLUMNS:
            table.add_column(col, justify="right")
        for name, tally in report.get(what, {}).items():
            table.add_row(*_row(name, tally))
        out.append(table)
    return out
