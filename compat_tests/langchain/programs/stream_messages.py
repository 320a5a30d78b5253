"""Token streaming: an agent with stream_mode="messages", and a bare model's stream()/astream()."""

import asyncio
import os

from langchain.agents import create_agent
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI


@tool
def lookup(term: str) -> str:
    """Look a term up in the glossary."""
    return f"{term}: a word"


def main() -> None:
    model = ChatOpenAI(model="gpt-4o-mini", base_url=os.environ["OPENAI_BASE_URL"])
    agent = create_agent(model, tools=[lookup], name="streamer")
    nodes: list[str] = []
    chunks = 0
    for _chunk, meta in agent.stream(
        {"messages": [{"role": "user", "content": "What is a kernel?"}]}, stream_mode="messages"
    ):
        chunks += 1
        if not nodes or nodes[-1] != meta["langgraph_node"]:
            nodes.append(meta["langgraph_node"])
    print("agent", nodes, chunks > 2)

    direct = [c.content for c in model.stream("Say hello.")]
    print("stream", len(direct) > 1, bool("".join(direct)))

    async def astream() -> list[str]:
        return [str(c.content) async for c in model.astream("Say goodbye.")]

    adirect = asyncio.run(astream())
    print("astream", len(adirect) > 1, bool("".join(adirect)))


main()
