"""A hierarchical crewai crew: the manager delegates each task to the coworker it names."""

from crewai import Agent, Crew, Process, Task

researcher = Agent(role="Researcher", goal="Find facts", backstory="Careful.", llm="gpt-4o-mini")
writer = Agent(role="Writer", goal="Write summaries", backstory="Concise.", llm="gpt-4o-mini")
tasks = [
    Task(description="Research three facts about tides", expected_output="three facts"),
    Task(description="Write a one-sentence summary about tides", expected_output="one sentence"),
]
crew = Crew(
    name="desk",
    agents=[researcher, writer],
    tasks=tasks,
    process=Process.hierarchical,
    manager_llm="gpt-4o-mini",
)
result = crew.kickoff()
for output in result.tasks_output:
    print(f"{output.agent}: {output.raw}")
