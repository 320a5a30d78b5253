"""Four named langchain agents answering at the same time (ainvoke + asyncio.gather)."""

import asyncio
import os

from langchain.agents import create_agent
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

CITIES = ["Lima", "Oslo", "Pune", "Rome"]


@tool
def population(city: str) -> str:
    """Look up the population of a city (a sync tool: langchain runs it in an executor)."""
    return f"{city}: {len(city) * 1_000_000}"


@tool
async def local_time(city: str) -> str:
    """Look up the local time in a city."""
    await asyncio.sleep(0.01)
    return f"{city}: 12:00"


async def main() -> None:
    model = ChatOpenAI(model="gpt-4o-mini", base_url=os.environ["OPENAI_BASE_URL"])
    agents = {
        city: create_agent(model, tools=[population, local_time], name=f"guide_{city.lower()}")
        for city in CITIES
    }
    results = await asyncio.gather(
        *(
            agent.ainvoke({"messages": [{"role": "user", "content": f"Tell me about {city}."}]})
            for city, agent in agents.items()
        )
    )
    for city, result in sorted(zip(CITIES, results, strict=True)):
        tools = sorted(m.name for m in result["messages"] if m.type == "tool")
        print(agents[city].name, len(result["messages"]), tools, bool(result["messages"][-1].content))


asyncio.run(main())
