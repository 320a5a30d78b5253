"""Two named langchain agents with tools, run one after the other with invoke()."""

import os

from langchain.agents import create_agent
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


@tool
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


def main() -> None:
    model = ChatOpenAI(model="gpt-4o-mini", base_url=os.environ["OPENAI_BASE_URL"])
    researcher = create_agent(model, tools=[add, multiply], name="researcher")
    writer = create_agent(model, tools=[word_count], name="writer")
    for agent, task in ((researcher, "What is (2 + 3) * 4?"), (writer, "Count the words of 'a b c'.")):
        result = agent.invoke({"messages": [{"role": "user", "content": task}]})
        tools = sorted(m.name for m in result["messages"] if m.type == "tool")
        print(agent.name, len(result["messages"]), tools, bool(result["messages"][-1].content))


main()
