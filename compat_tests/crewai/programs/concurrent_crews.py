"""Several crewai crews kicked off concurrently (each kickoff_async runs in its own thread)."""

import asyncio

from crewai import Agent, Crew, Task
from crewai.tools import tool

CREWS = 4


@tool("lookup")
def lookup(topic: str) -> str:
    """Look up a short fact about a topic."""
    return f"{topic} is interesting"


def make_crew(i: int) -> Crew:
    agent = Agent(role=f"Scout {i}", goal="Report a fact", backstory="Curious.", llm="gpt-4o-mini",
                  tools=[lookup])
    task = Task(description=f"Report one fact about topic {i}", expected_output="one fact", agent=agent)
    return Crew(name=f"crew-{i}", agents=[agent], tasks=[task])


async def main() -> None:
    results = await asyncio.gather(*(make_crew(i).kickoff_async() for i in range(CREWS)))
    for i, result in enumerate(results):
        print(f"crew-{i} {result.tasks_output[0].agent}: {result.raw}")


asyncio.run(main())
