"""Fixtures for shared-state tests: real sims on 127.0.0.1 and ``aios`` run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from aios.sim.process import SimServer

PROGRAMS = Path(__file__).parent / "programs"
TELEMETRY_OFF = {
    "OPENAI_AGENTS_DISABLE_TRACING": "1",
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
}


@pytest.fixture(scope="session")
def sim() -> Iterator[SimServer]:
    """An instant sim, shared by the session (stats reset by the tests that read them)."""
    with SimServer("--profile", "instant") as server:
        yield server


def run_aios(
    args: Sequence[str],
    *,
    sim: SimServer | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 110,
) -> subprocess.CompletedProcess[str]:
    """``python -m aios ARGS`` in a fresh process, as a user runs it (no AIOS_* from the test)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
    environ.update(TELEMETRY_OFF)
    if sim is not None:
        environ.update(sim.env())
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "aios", *args],
        env=environ,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
