"""Four AutoGen assistants answering at the same time (asyncio.gather)."""

import asyncio
import os

from autogen_agentchat.agents import AssistantAgent
from autogen_ext.models.openai import OpenAIChatCompletionClient

MODEL = "gpt-4o-mini-2024-07-18"
CITIES = ["Lima", "Oslo", "Pune", "Rome"]


async def main() -> None:
    client = OpenAIChatCompletionClient(
        model=MODEL, base_url=os.environ["OPENAI_BASE_URL"], api_key=os.environ["OPENAI_API_KEY"]
    )
    try:
        agents = [AssistantAgent(f"guide_{city.lower()}", model_client=client) for city in CITIES]
        results = await asyncio.gather(
            *(agent.run(task=f"One fact about {city}.") for agent, city in zip(agents, CITIES, strict=True))
        )
        for agent, result in sorted(zip(agents, results, strict=True), key=lambda pair: pair[0].name):
            print(agent.name, len(result.messages), bool(result.messages[-1].to_text()))
    finally:
        await client.close()


asyncio.run(main())
