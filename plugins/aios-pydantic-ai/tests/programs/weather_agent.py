"""Two Pydantic AI agents with tools, against the OpenAI-compatible endpoint in OPENAI_BASE_URL."""

import asyncio

from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel

model = OpenAIChatModel("gpt-4o-mini")
forecaster = Agent(model, name="forecaster", instructions="Report the weather.")
planner = Agent(model, name="planner", instructions="Plan the day.")


@forecaster.tool_plain
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@planner.tool_plain
def calendar(day: str) -> str:
    """The appointments on a day."""
    return f"nothing on {day}"


async def main() -> None:
    results = await asyncio.gather(forecaster.run("Weather in Paris?"), planner.run("Plan Monday"))
    for name, result in zip(("forecaster", "planner"), results, strict=True):
        print(f"{name}: {result.output}")


asyncio.run(main())
print(f"sync planner: {planner.run_sync('Plan Tuesday').output}")
