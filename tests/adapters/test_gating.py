"""One gating rule for every framework: each request is one LLM syscall, whether the openai SDK
adapter gates it (patched) or the framework's adapter does (``disable_adapters = ["openai"]``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

import aios
from aios.kernel.kernel import Kernel
from aios.sim.process import SimServer
from tests.adapters.conftest import llm_records

MODEL = "gpt-4o-mini"


def _langchain(sim: SimServer) -> None:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model=MODEL, base_url=sim.openai_base_url, api_key="sim")
    model.invoke("hi")
    for _chunk in model.stream("hi"):
        pass


def _autogen(sim: SimServer) -> None:
    from autogen_core.models import UserMessage
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    async def run() -> None:
        # The snapshot autogen resolves "gpt-4o-mini" to: the sim echoes it, so autogen does not warn.
        snapshot = "gpt-4o-mini-2024-07-18"
        client = OpenAIChatCompletionClient(model=snapshot, base_url=sim.openai_base_url, api_key="sim")
        hi = [UserMessage(content="hi", source="user")]
        await client.create(hi)
        async for _chunk in client.create_stream(hi):
            pass
        await client.close()

    asyncio.run(run())


def _openai_agents(sim: SimServer) -> None:
    from agents import Agent, OpenAIResponsesModel, Runner
    from openai import AsyncOpenAI

    async def run() -> None:
        model = OpenAIResponsesModel(MODEL, AsyncOpenAI(base_url=sim.openai_base_url, api_key="sim"))
        agent = Agent(name="solo", instructions="Answer.", model=model)
        await Runner.run(agent, "hi")
        streamed = Runner.run_streamed(agent, "hi")
        async for _event in streamed.stream_events():
            pass

    asyncio.run(run())


def _crewai(sim: SimServer) -> None:
    from crewai import LLM

    LLM(model=MODEL, base_url=sim.openai_base_url, api_key="sim").call("Say hello")


#: framework adapter -> (module to import, calls through the openai SDK).
FRAMEWORKS: dict[str, tuple[str, Callable[[SimServer], None]]] = {
    "langchain": ("langchain_openai", _langchain),
    "autogen": ("autogen_ext.models.openai", _autogen),
    "openai-agents": ("agents", _openai_agents),
    "crewai": ("crewai", _crewai),
}


@pytest.mark.parametrize("openai_disabled", [False, True], ids=["openai-patched", "openai-disabled"])
@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_every_request_is_one_syscall_whoever_gates_it(
    framework: str,
    openai_disabled: bool,
    sim: SimServer,
    boot: Callable[..., Kernel],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module, calls = FRAMEWORKS[framework]
    pytest.importorskip(module)
    if openai_disabled:
        monkeypatch.setenv("AIOS_DISABLE_ADAPTERS", "openai")
    else:
        monkeypatch.delenv("AIOS_DISABLE_ADAPTERS", raising=False)
    k = boot()
    done = aios.patch()
    try:
        assert framework in done
        assert ("openai" in done) is not openai_disabled
        calls(sim)
    finally:
        aios.unpatch()
    records: list[dict[str, Any]] = llm_records(k)
    assert len(records) == sim.stats()["requests"] >= 1
    assert {r["status"] for r in records} == {"done"}
    if openai_disabled:
        # Nothing passed through ungated: the framework's adapter made every syscall.
        assert {r["framework"] for r in records} == {framework}
