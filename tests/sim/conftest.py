"""Fixtures for the sim tests: real sim processes over HTTP and the official SDK clients."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Telemetry off before any framework is imported by a test.
os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "false")

from aios.sim import SimServer

ADD_TOOL = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
            "additionalProperties": False,
        },
    },
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimServer]:
    """One instant-profile sim for the whole session (no limits, no faults)."""
    with SimServer("--profile", "instant", "--seed", "7") as server:
        yield server


@pytest.fixture
def fresh_sim(sim_server: SimServer) -> SimServer:
    sim_server.reset()
    return sim_server


@pytest.fixture
def openai_client(sim_server: SimServer):  # type: ignore[no-untyped-def]
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=sim_server.openai_base_url, api_key="sim-key", max_retries=0)
    yield client
    client.close()


@pytest.fixture
def async_openai_client(sim_server: SimServer):  # type: ignore[no-untyped-def]
    openai = pytest.importorskip("openai")
    return openai.AsyncOpenAI(base_url=sim_server.openai_base_url, api_key="sim-key", max_retries=0)


@pytest.fixture
def anthropic_client(sim_server: SimServer):  # type: ignore[no-untyped-def]
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.Anthropic(base_url=sim_server.anthropic_base_url, api_key="sim-key", max_retries=0)
    yield client
    client.close()


@pytest.fixture
def script_file(tmp_path: Path) -> Path:
    path = tmp_path / "script.jsonl"
    path.write_text(
        '{"text": "first scripted"}\n'
        '{"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}\n'
        '{"match": "magic", "text": "keyed reply"}\n'
        '{"status": 503, "message": "scripted outage"}\n',
        encoding="utf-8",
    )
    return path
