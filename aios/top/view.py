"""One frame of ``aios top`` from one snapshot: cores, agents, the newest syscalls (80 columns)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from aios.top.source import Snapshot

_STATUS_STYLE = {"done": "green", "failed": "red", "cancelled": "yellow", "running": "cyan", "queued": "dim"}


def _num(n: float) -> str:
    """A count in at most 5 characters: 950, 12.3k, 4.1M."""
    if abs(n) >= 1e6:
        return f"{n / 1e6:.1f}M"
    if abs(n) >= 1e4:
        return f"{n / 1e3:.0f}k"
    if abs(n) >= 1e3:
        return f"{n / 1e3:.1f}k"
    return f"{n:.0f}"


def _secs(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1:
        return f"{s * 1000:.0f}ms"
    if s < 100:
        return f"{s:.1f}s"
    return f"{s:.0f}s"


def _buckets(buckets: Mapping[str, Mapping[str, Any]]) -> str:
    short = {"requests": "req", "tokens": "tok", "input_tokens": "in", "output_tokens": "out"}
    parts = [
        f"{short.get(name, name)} {_num(b.get('available', 0))}/{_num(b.get('capacity', 0))}"
        for name, b in buckets.items()
    ]
    return " ".join(parts) or "-"


def _table(title: str) -> Table:
    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, expand=False)


def cores_table(snap: Snapshot) -> Table:
    t = _table("cores")
    t.add_column("core", overflow="fold", max_width=26)
    t.add_column("in flight", justify="right")
    t.add_column("queue", justify="right")
    t.add_column("buckets (available/capacity)", overflow="fold", max_width=30)
    t.add_column("cool-down", justify="right")
    queued: Mapping[str, int] = snap.get("queued_by_core", {})
    for name, core in sorted(snap.get("cores", {}).items()):
        limit = core.get("max_concurrency")
        cool = core.get("cooling_down_s", 0.0)
        t.add_row(
            name,
            f"{core.get('in_use', 0)}/{limit if limit is not None else '∞'}",
            str(queued.get(name, 0)),
            _buckets(core.get("buckets", {})),
            _secs(cool) if cool else "-",
        )
    return t


def agents_table(snap: Snapshot) -> Table:
    t = _table("agents")
    t.add_column("agent", overflow="fold", max_width=20)
    for col in ("llm", "tools", "tok in", "tok out", "cost", "wait p50", "p95", "errors"):
        t.add_column(col, justify="right")
    for name, a in sorted(snap.get("agents", {}).items()):
        cost = a.get("cost_usd")
        errors = a.get("errors", 0)
        t.add_row(
            name,
            str(a.get("llm_calls", 0)),
            str(a.get("tool_calls", 0)),
            _num(a.get("input_tokens", 0)),
            _num(a.get("output_tokens", 0)),
            "-" if cost is None else f"${cost:.3f}",
            _secs(a.get("waiting_p50_s")),
            _secs(a.get("waiting_p95_s")),
            Text(str(errors), style="red" if errors else ""),
        )
    return t


def recent_table(snap: Snapshot) -> Table:
    t = _table("newest syscalls")
    t.add_column("#", justify="right")
    t.add_column("agent", overflow="ellipsis", max_width=16, no_wrap=True)
    t.add_column("call", overflow="ellipsis", max_width=24, no_wrap=True)
    t.add_column("status")
    t.add_column("wait", justify="right")
    t.add_column("took", justify="right")
    now = snap.get("now")
    for r in snap.get("recent", []):
        what = r.get("model") if r.get("kind") == "llm" else f"tool {r.get('tool')}"
        status = r.get("status", "?")
        took = r.get("turnaround_s")
        if took is None and now is not None and r.get("created_at") is not None:
            took = now - r["created_at"]
        t.add_row(
            str(r.get("id")),
            str(r.get("agent")),
            str(what),
            Text(status, style=_STATUS_STYLE.get(status, "")),
            _secs(r.get("waiting_s")),
            _secs(took),
        )
    return t


def header(snap: Snapshot) -> Text:
    by_status: Mapping[str, int] = snap.get("by_status", {})
    parts = [
        f"aios top  policy {snap.get('policy_name', '-')}",
        f"running {snap.get('running', 0)}",
        f"queued {snap.get('queued', 0)}",
        f"done {by_status.get('done', 0)}",
        f"failed {by_status.get('failed', 0)}",
        f"cancelled {by_status.get('cancelled', 0)}",
    ]
    text = Text("  ".join(parts), style="bold")
    if snap.get("pid"):
        text.append(f"\npid {snap['pid']}  {snap.get('program', '')}"[:200], style="dim")
    return text


def render(snap: Snapshot, *, width: int = 80, note: str | None = None) -> RenderableType:
    """The whole frame. ``width`` is the terminal's; tables fold their widest columns to fit."""
    parts: list[RenderableType] = [header(snap)]
    if note:
        parts.append(Text(note, style="yellow"))
    if not snap.get("cores") and not snap.get("agents"):
        parts.append(Text("no LLM or tool call yet", style="dim"))
    else:
        parts += [cores_table(snap), agents_table(snap), recent_table(snap)]
    return Group(*parts)
