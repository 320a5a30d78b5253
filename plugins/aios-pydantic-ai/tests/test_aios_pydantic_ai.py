"""The Pydantic AI plugin: found through its entry point, attributes an unmodified program's calls."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("pydantic_ai")
pytest.importorskip("aios_pydantic_ai")

import aios
from aios.adapters.plugins import plugins
from aios.sim.process import SimServer
from compat_tests.harness import calls_by_agent, llm_calls, run_program, syscalls, tools_by_agent

PROGRAM = Path(__file__).parent / "programs" / "weather_agent.py"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer("--profile", "instant") as server:
        yield server


def test_entry_point_registers_the_adapter() -> None:
    eps = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="aios")}
    assert eps.get("pydantic-ai") == "aios_pydantic_ai"
    adapter = plugins().adapters["pydantic-ai"]
    assert (adapter.distribution, adapter.module) == ("pydantic-ai-slim", "pydantic_ai")
    assert adapter.in_range()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
    listing = subprocess.run([sys.executable, "-m", "aios", "plugins"], env=env, capture_output=True,
                             text=True, timeout=120, check=True)
    assert "pydantic-ai" in listing.stdout


def test_program_is_attributed_under_aios_run(sim: SimServer) -> None:
    plain = run_program(sim, [str(PROGRAM)], aios=False).check()
    under = run_program(sim, [str(PROGRAM)], aios=True).check()
    assert under.stdout == plain.stdout
    report = under.report
    assert report is not None, under.stderr
    assert llm_calls(report) == under.sim_stats["requests"] == plain.sim_stats["requests"]
    assert set(calls_by_agent(report, "llm")) == {"forecaster", "planner"}
    assert tools_by_agent(report) == {
        "forecaster": Counter({"weather": 1}),
        "planner": Counter({"calendar": 2}),
    }
    assert {r["framework"] for r in syscalls(report)} == {"pydantic-ai"}
    assert all(r["status"] == "done" for r in syscalls(report))


def test_patch_twice_is_a_no_op_and_unpatch_restores_by_identity() -> None:
    import wrapt
    from pydantic_ai.agent import Agent
    from pydantic_ai.toolsets.function import FunctionToolset

    targets = [(Agent, "iter"), (FunctionToolset, "call_tool")]
    before = [owner.__dict__[name] for owner, name in targets]
    aios.patch("pydantic-ai")
    try:
        wrapped = [owner.__dict__[name] for owner, name in targets]
        assert all(isinstance(w, wrapt.FunctionWrapper) for w in wrapped)
        aios.patch("pydantic-ai")
        assert all(owner.__dict__[name] is w for (owner, name), w in zip(targets, wrapped, strict=True))
    finally:
        aios.unpatch("pydantic-ai")
    assert all(owner.__dict__[name] is b for (owner, name), b in zip(targets, before, strict=True))


async def test_in_process_run_names_the_agent(sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel

    for key, value in sim.env().items():
        monkeypatch.setenv(key, value)
    sim.reset()
    aios.shutdown()
    k = aios.boot()
    aios.patch("openai", "pydantic-ai")
    try:
        agent = Agent(OpenAIChatModel("gpt-4o-mini"), name="helper")

        @agent.tool_plain
        def ping(host: str) -> str:
            """Ping a host."""
            return f"{host} is up"

        await agent.run("Is example.org up?")
        records = k.report()["syscalls"]
        assert {(r["kind"], r["agent"]) for r in records} == {("llm", "helper"), ("tool", "helper")}
        assert [r["tool"] for r in records if r["kind"] == "tool"] == ["ping"]
        assert sum(r["kind"] == "llm" for r in records) == sim.stats()["requests"]
    finally:
        aios.unpatch("openai", "pydantic-ai")
        aios.shutdown()
