"""A one-agent crewai crew with a tool."""

import os

from crewai import Agent, Crew, Task
from crewai.tools import tool


@tool("word_count")
def word_count(text: str) -> str:
    """Count the words in a text."""
    return str(len(text.split()))


copy = os.environ["AIOS_BENCH_COPY"]
agent = Agent(role="Counter", goal="Count words", backstory="Careful.", llm="gpt-4o-mini", tools=[word_count])
task = Task(
    description=f"Count the words in 'copy {copy} of the crew'", expected_output="a number", agent=agent
)
result = Crew(name=f"crew-{copy}", agents=[agent], tasks=[task]).kickoff()
print(copy, result.raw)
