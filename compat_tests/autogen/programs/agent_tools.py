"""One AutoGen assistant with a sync and an async tool, then the same agent streamed with run_stream."""

import asyncio
import os

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import TaskResult
from autogen_agentchat.messages import ModelClientStreamingChunkEvent
from autogen_ext.models.openai import OpenAIChatCompletionClient

# A dated snapshot: the sim answers with the model it was asked for, and autogen warns when the
# reply names another snapshot than the one it resolves an alias to.
MODEL = "gpt-4o-mini-2024-07-18"


def get_weather(city: str) -> str:
    """The weather in a city (a sync tool: autogen runs it in a worker thread)."""
    return f"sunny in {city}"


async def get_time(city: str) -> str:
    """The local time in a city."""
    return f"12:00 in {city}"


async def main() -> None:
    client = OpenAIChatCompletionClient(
        model=MODEL, base_url=os.environ["OPENAI_BASE_URL"], api_key=os.environ["OPENAI_API_KEY"]
    )
    try:
        agent = AssistantAgent("weather_agent", model_client=client, tools=[get_weather, get_time])
        result = await agent.run(task="What is the weather and time in Paris?")
        for message in result.messages:
            print(f"run {type(message).__name__} {message.source}")
        print("final:", result.messages[-1].to_text())

        streamer = AssistantAgent(
            "stream_agent",
            model_client=client,
            tools=[get_time],
            model_client_stream=True,
            reflect_on_tool_use=True,
        )
        chunks = 0
        async for item in streamer.run_stream(task="What time is it in Rome?"):
            if isinstance(item, ModelClientStreamingChunkEvent):
                chunks += 1
            elif isinstance(item, TaskResult):
                print("stream final:", item.messages[-1].to_text())
            else:
                print(f"stream {type(item).__name__} {item.source}")
        print("streamed chunks:", chunks > 0)
    finally:
        await client.close()


asyncio.run(main())
