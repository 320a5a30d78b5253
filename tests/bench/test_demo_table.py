"""The demo's comparison table says when all agents were done, the failed ones re-run."""

from __future__ import annotations

from rich.console import Console

from aios.demo.frameworks import _table


def _run(mode: str, completed: int, all_done: float, complete: bool) -> dict[str, object]:
    return {
        "mode": mode,
        "agents": 4,
        "completed": completed,
        "rate_limited_429": 0 if mode == "aios" else 9,
        "makespan_s": 3.0,
        "mean_completion_s": 2.0,
        "all_done_s": all_done,
        "all_done_complete": complete,
    }


def test_table_shows_all_done_with_reruns_and_a_lower_bound_when_reruns_gave_up() -> None:
    console = Console(width=200, record=True)
    console.print(_table([_run("default", 1, 11.5, False), _run("aios", 4, 3.0, True)]))
    text = console.export_text()
    assert "all done s (failed re-run)" in text
    rows = [line for line in text.splitlines() if line.startswith("│")]
    [without] = [line for line in rows if "without aios" in line]
    [with_aios] = [line for line in rows if "with aios" in line and "without" not in line]
    assert without.rstrip(" │").endswith("> 11.5")
    assert with_aios.rstrip(" │").endswith("3.0")
