"""A Pydantic AI agent whose tool deletes a file; run N times (argv[1])."""

import sys

from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel

RAN = []
janitor = Agent(OpenAIChatModel("gpt-4o-mini"), name="janitor", instructions="Do as asked with the tools.")


@janitor.tool_plain
def delete_file(path: str) -> str:
    """Delete the file at a path."""
    RAN.append(path)
    return f"deleted {path}"


for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
    result = janitor.run_sync(f"Delete the file /tmp/f{i}.")
    print(f"run {i} answer: {result.output}")
print(f"ran={len(RAN)}")
