"""Framework agents in worker processes, as users write them; the program knows nothing of aios.

``python framework_workers.py FRAMEWORK PROCESSES AGENTS``: starts PROCESSES workers with
``multiprocessing`` (spawn); once every worker has imported its framework, each runs AGENTS
agents of FRAMEWORK (langchain, autogen, openai-agents, crewai) concurrently, each with one tool.
Prints one JSON line: agents, completed, the errors that reached an agent, and how many times the
tools ran, and the makespan.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

MODEL = "gpt-4o-mini"
#: Tool runs in this worker (tools run in threads for crewai).
_tool_runs = 0
_tool_lock = threading.Lock()


def lookup(topic: str) -> str:
    """Look up facts about a topic."""
    global _tool_runs
    with _tool_lock:
        _tool_runs += 1
    return f"{topic} has three facts."


def _task(name: str) -> str:
    return f"{name}: look up the topic '{name}' with the tool, then report in one sentence."


async def langchain_agent(name: str) -> None:
    from langchain.agents import create_agent
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    agent = create_agent(ChatOpenAI(model=MODEL, max_tokens=64), tools=[tool(lookup)], name=name)
    await agent.ainvoke({"messages": [{"role": "user", "content": _task(name)}]})


async def autogen_agent(name: str) -> None:
    from autogen_agentchat.agents import AssistantAgent
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    client = OpenAIChatCompletionClient(model=MODEL, max_tokens=64)
    try:
        agent = AssistantAgent(name, model_client=client, tools=[lookup], reflect_on_tool_use=True)
        await agent.run(task=_task(name))
    finally:
        await client.close()


async def openai_agents_agent(name: str) -> None:
    from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool
    from openai import AsyncOpenAI

    client = AsyncOpenAI()
    agent = Agent(
        name=name,
        instructions="Use the tool, then answer.",
        tools=[function_tool(lookup)],
        model=OpenAIChatCompletionsModel(model=MODEL, openai_client=client),
    )
    try:
        await Runner.run(agent, _task(name))
    finally:
        await client.close()


async def crewai_agent(name: str) -> None:
    from crewai import Agent, Crew, Task
    from crewai.tools import tool

    agent = Agent(
        role=name, goal="Look up facts", backstory="Careful.", llm=MODEL, tools=[tool("lookup")(lookup)]
    )
    task = Task(description=_task(name), expected_output="one sentence", agent=agent)
    # crewai runs synchronously: concurrent crews are threads, as crewai's own kickoff_async does.
    await asyncio.to_thread(Crew(name=name, agents=[agent], tasks=[task]).kickoff)


AGENTS: dict[str, Callable[[str], Awaitable[None]]] = {
    "langchain": langchain_agent,
    "autogen": autogen_agent,
    "openai-agents": openai_agents_agent,
    "crewai": crewai_agent,
}
IMPORTS: dict[str, tuple[str, ...]] = {
    "langchain": ("langchain.agents", "langchain_core.tools", "langchain_openai"),
    "autogen": ("autogen_agentchat.agents", "autogen_ext.models.openai"),
    "openai-agents": ("agents", "openai"),
    "crewai": ("crewai", "crewai.tools"),
}


async def _agents(framework: str, worker: int, count: int) -> list[str | None]:
    async def one(i: int) -> str | None:
        try:
            await AGENTS[framework](f"w{worker}_a{i}")
        except Exception as exc:  # an agent that fails is a result
            return f"{type(exc).__name__}: {str(exc)[:200]}"
        return None

    return await asyncio.gather(*(one(i) for i in range(count)))


def worker(framework: str, index: int, count: int, barrier: Any, results: Any) -> None:
    import importlib

    for module in IMPORTS[framework]:
        importlib.import_module(module)
    barrier.wait(timeout=120)  # every worker starts its agents together
    started = time.time()
    errors = asyncio.run(_agents(framework, index, count))
    results.put(
        {"errors": [e for e in errors if e], "tool_runs": _tool_runs, "start": started, "end": time.time()}
    )


def main(framework: str, processes: int, count: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(framework, w, count, barrier, results)) for w in range(processes)
    ]
    for p in procs:
        p.start()
    parts = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join()
    errors = [e for part in parts for e in part["errors"]]
    out = {
        "agents": processes * count,
        "completed": processes * count - len(errors),
        "errors": errors,
        "tool_runs": sum(part["tool_runs"] for part in parts),
        "exit_codes": [p.exitcode for p in procs],
        "makespan_s": max(part["end"] for part in parts) - min(part["start"] for part in parts),
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
