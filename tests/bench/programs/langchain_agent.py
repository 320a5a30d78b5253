"""A langchain agent with one tool; the copy index picks its question."""

import os
import sys

from langchain.agents import create_agent
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


copy = int(sys.argv[1]) if len(sys.argv) > 1 else 0
model = ChatOpenAI(model="gpt-4o-mini", base_url=os.environ["OPENAI_BASE_URL"])
agent = create_agent(model, tools=[add], name=f"adder-{copy}")
result = agent.invoke({"messages": [{"role": "user", "content": f"What is {copy} + 2?"}]})
print(copy, [m.type for m in result["messages"]])
