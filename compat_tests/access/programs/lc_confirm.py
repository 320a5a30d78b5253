"""A langchain agent whose tool deletes a file; run N times (argv[1]). Prints what the model said."""

import os
import sys

from langchain.agents import create_agent
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

RAN = []


@tool
def delete_file(path: str) -> str:
    """Delete the file at a path."""
    RAN.append(path)
    return f"deleted {path}"


model = ChatOpenAI(model="gpt-4o-mini", base_url=os.environ["OPENAI_BASE_URL"])
janitor = create_agent(model, tools=[delete_file], name="janitor")
for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
    result = janitor.invoke({"messages": [{"role": "user", "content": f"Delete the file /tmp/f{i}."}]})
    tool_messages = [m for m in result["messages"] if m.type == "tool"]
    print(f"run {i} tool: {tool_messages[-1].content}")
    print(f"run {i} answer: {result['messages'][-1].content}")
print(f"ran={len(RAN)}")
