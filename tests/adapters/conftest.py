"""Fixtures for adapter tests: real sims over HTTP and a fresh kernel per test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")

import aios
from aios.kernel.kernel import Kernel
from aios.sim.process import SimServer

#: The ``api`` profile sped up: ~0.2 s a call, long enough for concurrent calls to overlap.
SLOW_SIM_ARGS: tuple[str, ...] = ("--profile", "api", "--time-scale", "4")


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimServer]:
    """One instant sim (no latency, no limits, no faults) for the whole session."""
    with SimServer("--profile", "instant") as server:
        yield server


@pytest.fixture
def sim(sim_server: SimServer) -> SimServer:
    """The session sim with its counters reset."""
    sim_server.reset()
    return sim_server


@pytest.fixture(scope="session")
def slow_sim_server() -> Iterator[SimServer]:
    with SimServer(*SLOW_SIM_ARGS) as server:
        yield server


@pytest.fixture
def slow_sim(slow_sim_server: SimServer) -> SimServer:
    slow_sim_server.reset()
    return slow_sim_server


@pytest.fixture
def boot() -> Iterator[Callable[..., Kernel]]:
    """``boot(**overrides)`` starts a fresh kernel; it is shut down after the test."""
    aios.shutdown()

    def start(**overrides: Any) -> Kernel:
        aios.shutdown()
        return aios.boot(**overrides)

    yield start
    aios.shutdown()


@pytest.fixture
def kernel(boot: Callable[..., Kernel]) -> Kernel:
    """A fresh kernel with the default configuration."""
    return boot()


def llm_records(k: Kernel) -> list[dict[str, Any]]:
    return [r for r in k.report()["syscalls"] if r["kind"] == "llm"]


def assert_usage_matches_sim(k: Kernel, sim: SimServer) -> None:
    """Every request the sim saw is one LLM syscall, and the tokens the kernel recorded are the sim's."""
    recs = llm_records(k)
    stats = sim.stats()
    assert len(recs) == stats["requests"]
    assert sum(r["input_tokens"] for r in recs) == stats["input_tokens"] > 0
    assert sum(r["output_tokens"] for r in recs) == stats["output_tokens"] > 0


def core_in_use(k: Kernel) -> int:
    return sum(c["in_use"] for name, c in k.stats()["cores"].items() if not name.startswith("tool:"))
