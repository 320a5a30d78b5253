"""A crewai agent whose tool deletes a file; run N times (argv[1])."""

import sys

from crewai import Agent, Crew, Task
from crewai.tools import tool

RAN = []


@tool("delete_file")
def delete_file(path: str) -> str:
    """Delete the file at a path."""
    RAN.append(path)
    return f"deleted {path}"


janitor = Agent(
    role="Janitor",
    goal="Delete files when asked",
    backstory="Careful.",
    llm="gpt-4o-mini",
    tools=[delete_file],
)
for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
    task = Task(description=f"Delete the file /tmp/f{i}.", expected_output="what happened", agent=janitor)
    result = Crew(name="cleanup", agents=[janitor], tasks=[task]).kickoff()
    print(f"run {i} answer: {result.raw}")
print(f"ran={len(RAN)}")
