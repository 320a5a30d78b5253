"""An AutoGen round-robin team of two assistants (one with a tool), ended by MaxMessageTermination."""

import asyncio
import os

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_ext.models.openai import OpenAIChatCompletionClient

MODEL = "gpt-4o-mini-2024-07-18"


def lookup(topic: str) -> str:
    """Look a topic up in the team's notes."""
    return f"notes about {topic}"


async def main() -> None:
    client = OpenAIChatCompletionClient(
        model=MODEL, base_url=os.environ["OPENAI_BASE_URL"], api_key=os.environ["OPENAI_API_KEY"]
    )
    try:
        writer = AssistantAgent("writer", model_client=client, system_message="You write drafts.")
        researcher = AssistantAgent("researcher", model_client=client, tools=[lookup])
        team = RoundRobinGroupChat(
            [writer, researcher], name="newsroom", termination_condition=MaxMessageTermination(6)
        )
        result = await team.run(task="Write a short note about tides.")
        for message in result.messages:
            print(f"{message.source}: {type(message).__name__}")
        print("stop:", result.stop_reason)
    finally:
        await client.close()


asyncio.run(main())
