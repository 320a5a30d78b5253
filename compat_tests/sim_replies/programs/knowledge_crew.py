"""A crewai crew whose agent has a string knowledge source, embedded through the OpenAI API."""

import os

from crewai import Agent, Crew, Task
from crewai.knowledge.source.string_knowledge_source import StringKnowledgeSource

FACTS = StringKnowledgeSource(
    content=(
        "The office opens at 9 am and closes at 6 pm on weekdays. "
        "The cafeteria serves lunch from noon until 2 pm. "
        "Parking permits are issued by the facilities desk on the ground floor."
    ),
    chunk_size=60,
    chunk_overlap=0,
)
EMBEDDER = {
    "provider": "openai",
    "config": {
        "model_name": "text-embedding-3-small",
        "api_key": os.environ["OPENAI_API_KEY"],
        "api_base": os.environ["OPENAI_BASE_URL"],
    },
}

clerk = Agent(role="Clerk", goal="Answer office questions", backstory="Knows the office.", llm="gpt-4o-mini")
task = Task(
    description="When does the cafeteria serve lunch?", expected_output="the lunch hours", agent=clerk
)
crew = Crew(name="office", agents=[clerk], tasks=[task], knowledge_sources=[FACTS], embedder=EMBEDDER)
result = crew.kickoff()
print(f"{result.tasks_output[0].agent}: {bool(result.raw)}")
hits = crew.query_knowledge(["lunch in the cafeteria"], results_limit=1)
print("top knowledge:", hits[0]["content"] if hits else None)
