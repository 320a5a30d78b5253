"""An openai-agents agent whose function tool deletes a file; run N times (argv[1])."""

import sys

from agents import Agent, Runner, function_tool

RAN = []


@function_tool
def delete_file(path: str) -> str:
    """Delete the file at a path."""
    RAN.append(path)
    return f"deleted {path}"


janitor = Agent(
    name="janitor", instructions="Do as asked with the tools.", tools=[delete_file], model="gpt-4o-mini"
)
for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
    result = Runner.run_sync(janitor, f"Delete the file /tmp/f{i}.")
    outputs = [item.output for item in result.new_items if item.type == "tool_call_output_item"]
    print(f"run {i} tool: {outputs[-1]}")
    print(f"run {i} answer: {result.final_output}")
print(f"ran={len(RAN)}")
