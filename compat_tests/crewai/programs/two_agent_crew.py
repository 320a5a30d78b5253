"""A two-agent crewai crew with two sequential tasks; the first agent uses a tool."""

from crewai import Agent, Crew, Process, Task
from crewai.tools import tool


@tool("word_count")
def word_count(text: str) -> str:
    """Count the words in a text."""
    return str(len(text.split()))


researcher = Agent(role="Researcher", goal="Find facts", backstory="Careful.", llm="gpt-4o-mini",
                   tools=[word_count])
writer = Agent(role="Writer", goal="Write summaries", backstory="Concise.", llm="gpt-4o-mini")
tasks = [
    Task(description="Count the words in 'the quick brown fox'", expected_output="a number",
         agent=researcher),
    Task(description="Summarise the research in one sentence", expected_output="one sentence",
         agent=writer),
]
crew = Crew(name="newsroom", agents=[researcher, writer], tasks=tasks, process=Process.sequential)
result = crew.kickoff()
for output in result.tasks_output:
    print(f"{output.agent}: {output.raw}")
