"""The run's merged report keeps what each process saw of the shared state."""

from __future__ import annotations

from typing import Any

from aios.runner.report import merge


def _report(degraded: bool, errors: int) -> dict[str, Any]:
    return {
        "syscalls": [],
        "agents": {},
        "cores": {},
        "by_status": {},
        "shared_state": {
            "url": "unix:///s",
            "prefix": "aios",
            "degraded": degraded,
            "unavailable_errors": errors,
        },
    }


def test_fallbacks_of_every_process_add_up() -> None:
    merged = merge([_report(False, 0), _report(True, 3), _report(True, 2)])
    assert merged["shared_state"] == {
        "url": "unix:///s",
        "prefix": "aios",
        "degraded": True,
        "unavailable_errors": 5,
    }


def test_no_shared_state_no_key() -> None:
    plain = {"syscalls": [], "agents": {}, "cores": {}, "by_status": {}}
    assert "shared_state" not in merge([plain, dict(plain)])
