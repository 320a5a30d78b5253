"""An AutoGen assistant whose tool deletes a file; run N times (argv[1])."""

import asyncio
import os
import sys

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import ToolCallExecutionEvent
from autogen_ext.models.openai import OpenAIChatCompletionClient

RAN = []


async def delete_file(path: str) -> str:
    """Delete the file at a path."""
    RAN.append(path)
    return f"deleted {path}"


async def main() -> None:
    client = OpenAIChatCompletionClient(
        model="gpt-4o-mini-2024-07-18",
        base_url=os.environ["OPENAI_BASE_URL"],
        api_key=os.environ["OPENAI_API_KEY"],
    )
    try:
        for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
            agent = AssistantAgent(
                "janitor", model_client=client, tools=[delete_file], reflect_on_tool_use=True
            )
            result = await agent.run(task=f"Delete the file /tmp/f{i}.")
            events = [m for m in result.messages if isinstance(m, ToolCallExecutionEvent)]
            print(f"run {i} tool: {events[-1].content[0].content} error={events[-1].content[0].is_error}")
            print(f"run {i} answer: {result.messages[-1].to_text()}")
    finally:
        await client.close()
    print(f"ran={len(RAN)}")


asyncio.run(main())
