"""The per-agent table ``aios run`` prints on stderr at exit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table


def summary_table(report: Mapping[str, Any]) -> Table:
    agents: Mapping[str, Mapping[str, Any]] = report.get("agents", {})
    n_proc = len(report.get("processes", [])) or 1
    title = f"aios run — policy {report.get('policy', '?')}, {n_proc} process{'es' if n_proc > 1 else ''}"
    table = Table(title=title)
    table.add_column("agent")
    columns = ("LLM calls", "tool calls", "tokens in", "tokens out", "cost", "wait p50", "wait p95", "errors")
    for col in columns:
        table.add_column(col, justify="right")
    for name, a in agents.items():
        table.add_row(
            name,
            str(a.get("llm_calls", 0)),
            str(a.get("tool_calls", 0)),
            str(a.get("input_tokens", 0)),
            str(a.get("output_tokens", 0)),
            f"${a.get('cost_usd', 0.0):.4f}",
            f"{a.get('waiting_p50_s', 0.0):.3f}s",
            f"{a.get('waiting_p95_s', 0.0):.3f}s",
            str(a.get("errors", 0)),
        )
    return table


def print_summary(report: Mapping[str, Any], console: Console | None = None) -> None:
    console = console or Console(stderr=True)
    if not report.get("agents"):
        console.print(f"aios run: no LLM or tool calls (policy {report.get('policy', '?')})", highlight=False)
        return
    console.print(summary_table(report))
