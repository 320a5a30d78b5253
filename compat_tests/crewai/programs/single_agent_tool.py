"""One crewai agent with one tool, against the OpenAI-compatible endpoint in OPENAI_BASE_URL."""

from crewai import Agent, Crew, Task
from crewai.tools import tool


@tool("word_count")
def word_count(text: str) -> str:
    """Count the words in a text."""
    return str(len(text.split()))


counter = Agent(role="Counter", goal="Count words exactly", backstory="Precise.", llm="gpt-4o-mini",
                tools=[word_count])
task = Task(description="Count the words in 'the quick brown fox'", expected_output="a number",
            agent=counter)
result = Crew(name="counting", agents=[counter], tasks=[task]).kickoff()
print(f"{result.tasks_output[0].agent}: {result.raw}")
