"""Compat-test fixtures: a running sim for the whole session, telemetry off everywhere."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from compat_tests.harness import TELEMETRY_OFF

for _key, _value in TELEMETRY_OFF.items():
    os.environ.setdefault(_key, _value)

from aios.sim.process import SimServer  # noqa: E402 - after the telemetry switches

#: ``api`` profile sped up so a call takes ~0.2 s: long enough that concurrent calls overlap.
SLOW_SIM_ARGS: tuple[str, ...] = ("--profile", "api", "--time-scale", "4")


@pytest.fixture(scope="session")
def sim() -> Iterator[SimServer]:
    """A sim answering instantly (no latency), shared by the session; stats reset per run."""
    with SimServer("--profile", "instant") as server:
        yield server


@pytest.fixture(scope="session")
def slow_sim() -> Iterator[SimServer]:
    """A sim with API-like latency (~0.2 s per call) so concurrency limits are observable."""
    with SimServer(*SLOW_SIM_ARGS) as server:
        yield server
