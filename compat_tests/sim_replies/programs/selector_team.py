"""An AutoGen SelectorGroupChat of three assistants: the model picks each next speaker by name."""

import asyncio
import os

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import SelectorGroupChat
from autogen_ext.models.openai import OpenAIChatCompletionClient

MODEL = "gpt-4o-mini-2024-07-18"


async def main() -> None:
    client = OpenAIChatCompletionClient(
        model=MODEL, base_url=os.environ["OPENAI_BASE_URL"], api_key=os.environ["OPENAI_API_KEY"]
    )
    try:
        planner = AssistantAgent("planner", model_client=client, description="Plans the work.")
        researcher = AssistantAgent("researcher", model_client=client, description="Finds facts.")
        writer = AssistantAgent("writer", model_client=client, description="Writes the final text.")
        team = SelectorGroupChat(
            [planner, researcher, writer],
            model_client=client,
            name="desk",
            termination_condition=MaxMessageTermination(7),
        )
        result = await team.run(task="Write a short note about tides.")
        print("speakers:", [m.source for m in result.messages])
        print("stop:", result.stop_reason)
    finally:
        await client.close()


asyncio.run(main())
