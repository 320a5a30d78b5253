"""What ``aios plugins`` shows: each adapter, its framework, and whether ``aios run`` patches it."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def adapter_rows() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One dict per adapter (``Adapter.describe()`` plus ``would_patch``), and the plugin errors."""
    from aios.adapters.plugins import plugins
    from aios.config import load_config

    registry = plugins()
    try:
        disabled = set(load_config().disable_adapters)
    except Exception:
        disabled = set()
    rows = []
    for name, adapter in sorted(registry.adapters.items()):
        # Built from the contract's attributes: an adapter may reuse the name ``describe``.
        row = {
            "name": name,
            "distribution": adapter.distribution,
            "installed": adapter.version(),
            "supported": adapter.supported,
            "in_range": adapter.in_range(),
            "patched": adapter.patched,
            "requested": adapter.requested,
            "error": adapter.error,
        }
        row["disabled"] = name in disabled
        row["would_patch"] = adapter.is_installed() and name not in disabled
        rows.append(row)
    return rows, dict(registry.errors)


def _mark(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "-"}[value]


def plugins_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="aios adapters")
    for col in ("adapter", "framework", "installed", "supported", "in range", "patched", "aios run"):
        table.add_column(col, no_wrap=True)
    for row in rows:
        if row["disabled"]:
            run = "disabled by config"
        elif row["would_patch"]:
            run = "patches"
        else:
            run = "skips (not installed)"
        table.add_row(
            row["name"],
            row["distribution"],
            row["installed"] or "not installed",
            row["supported"],
            _mark(row["in_range"]),
            _mark(row["patched"]),
            run,
        )
    return table
