"""Unmodified agent programs (openai-agents) against the sim: the Responses wire must be faithful."""

from __future__ import annotations

import pytest

from aios.sim import SimServer

agents = pytest.importorskip("agents")


def _model(sim: SimServer, api: str) -> object:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=sim.openai_base_url, api_key="sim-key", max_retries=0)
    if api == "responses":
        return agents.OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client)
    return agents.OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client)


def _program(sim: SimServer, api: str) -> tuple[object, list[str]]:
    seen: list[str] = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        seen.append(city)
        return f"It is sunny in {city}."

    specialist = agents.Agent(
        name="weather", instructions="Answer about weather.", tools=[get_weather], model=_model(sim, api)
    )
    triage = agents.Agent(
        name="triage", instructions="Route the user.", handoffs=[specialist], model=_model(sim, api)
    )
    return triage, seen


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_handoff_tool_and_final_answer(sim_server: SimServer, api: str) -> None:
    triage, seen = _program(sim_server, api)
    result = await agents.Runner.run(triage, "What is the weather in Madrid?")
    assert seen == ["Madrid"]
    assert result.last_agent.name == "weather"
    assert "sunny in Madrid" in result.final_output


async def test_streamed_run(sim_server: SimServer) -> None:
    triage, seen = _program(sim_server, "responses")
    run = agents.Runner.run_streamed(triage, "Weather in Quito please")
    kinds = [event.type async for event in run.stream_events()]
    assert "raw_response_event" in kinds and "agent_updated_stream_event" in kinds
    assert seen == ["Quito"] and "Quito" in str(run.final_output)


async def test_conversations_session(sim_server: SimServer) -> None:
    from openai import AsyncOpenAI

    session_cls = getattr(agents, "OpenAIConversationsSession", None)
    if session_cls is None:
        pytest.skip("this openai-agents has no OpenAIConversationsSession")
    client = AsyncOpenAI(base_url=sim_server.openai_base_url, api_key="k", max_retries=0)
    session = session_cls(openai_client=client)
    agent = agents.Agent(name="chat", instructions="Chat.", model=_model(sim_server, "responses"))
    await agents.Runner.run(agent, "My name is Ada.", session=session)
    await agents.Runner.run(agent, "What is my name?", session=session)
    items = await session.get_items()
    assert len(items) == 4  # two user messages, two assistant replies
    await session.clear_session()
