"""Agent programs of each framework, as a user would write them, parameterised only by index.

Every agent is multi-step with tool calls. They read the provider's address from the usual
environment variables (OPENAI_BASE_URL, OPENAI_API_KEY), exactly as unmodified programs do.
``max_retries`` is the SDK setting a user would touch: ``None`` keeps the framework's default.

A workload is built first (clients, tools, the framework's agent object) and then run: a
program sets its agents up once and then lets them work, and the benchmarks start their clock
between the two, as they do after the imports. Building takes tens of milliseconds per agent
(an SDK client makes its TLS context), which 32 agents on one event loop would otherwise put
in front of their first request.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

from aios.bench.heavy_tail import heavy_tail_agent

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolUnionParam

MODEL = "gpt-4o-mini"
#: An agent, built and ready: awaiting it runs the agent to its answer.
Run = Callable[[], Awaitable[str]]
#: Builds agent ``i`` with the SDK's ``max_retries`` (``None``: the framework's default).
Workload = Callable[[int, int | None], Run]


def _task(i: int) -> str:
    return f"Agent {i}: look up topic {i} and the weather in city {i}, then report."


class _HasContent(Protocol):
    # Every concrete autogen message and event has ``content``; their shared bases do not.
    content: object


def openai_agent(i: int, max_retries: int | None) -> Run:
    """The raw openai SDK: a chat-completions tool loop."""
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletionMessageFunctionToolCall

    kwargs: dict[str, Any] = {} if max_retries is None else {"max_retries": max_retries}
    client = AsyncOpenAI(**kwargs)
    tools: list[ChatCompletionToolUnionParam] = [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": f"Get the {name.split('_')[1]} for a subject.",
                "parameters": {
                    "type": "object",
                    "properties": {"subject": {"type": "string"}},
                    "required": ["subject"],
                },
            },
        }
        for name in ("get_facts", "get_weather")
    ]

    async def run() -> str:
        messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": _task(i)}]
        try:
            for _ in range(6):
                reply = await client.chat.completions.create(
                    model=MODEL,
                    messages=messages,
                    tools=tools,
                    max_tokens=64,
                )
                message = reply.choices[0].message
                if not message.tool_calls:
                    return message.content or ""
                # The reply's own dump is a valid assistant message param (the SDK types it as a dict).
                messages.append(cast("ChatCompletionMessageParam", message.model_dump(exclude_none=True)))
                for call in message.tool_calls:
                    if not isinstance(call, ChatCompletionMessageFunctionToolCall):
                        raise TypeError(f"unexpected {call.type!r} tool call: only function tools offered")
                    args = json.loads(call.function.arguments or "{}")
                    messages.append({"role": "tool", "tool_call_id": call.id, "content": f"{args} is fine."})
            return ""
        finally:
            await client.close()

    return run


def openai_session_agent(i: int, max_retries: int | None, turns: int = 6) -> Run:
    """The raw openai SDK: a longer multi-step session (plan, then one step per turn)."""
    from openai import AsyncOpenAI

    kwargs: dict[str, Any] = {} if max_retries is None else {"max_retries": max_retries}
    client = AsyncOpenAI(**kwargs)

    async def run() -> str:
        messages: list[dict[str, Any]] = [{"role": "user", "content": f"Agent {i}: plan {turns} steps."}]
        try:
            for step in range(turns):
                reply = await client.chat.completions.create(
                    model=MODEL,
                    messages=messages,  # type: ignore[arg-type]
                    max_tokens=32,
                )
                messages.append({"role": "assistant", "content": reply.choices[0].message.content or ""})
                messages.append({"role": "user", "content": f"Now do step {step + 1}."})
            return str(messages[-2]["content"])
        finally:
            await client.close()

    return run


#: Calls per ``openai-calls`` agent: enough for a stable per-call mean.
CALLS_PER_AGENT = 200


def openai_calls_agent(i: int, max_retries: int | None) -> Run:
    """The raw openai SDK: many small sequential calls on one client (per-call overhead)."""
    from openai import AsyncOpenAI

    kwargs: dict[str, Any] = {} if max_retries is None else {"max_retries": max_retries}
    client = AsyncOpenAI(**kwargs)

    async def run() -> str:
        text = ""
        try:
            for n in range(CALLS_PER_AGENT):
                reply = await client.chat.completions.create(
                    model=MODEL,
                    messages=[{"role": "user", "content": f"ping {i} {n}"}],
                    max_tokens=4,
                )
                text = reply.choices[0].message.content or ""
            return text
        finally:
            await client.close()

    return run


def langchain_agent(i: int, max_retries: int | None) -> Run:
    """langchain ``create_agent`` with two tools."""
    from langchain.agents import create_agent
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    @tool
    def get_facts(subject: str) -> str:
        """Get facts about a subject."""
        return f"{subject} has three facts."

    @tool
    def get_weather(city: str) -> str:
        """Get the weather in a city."""
        return f"It is sunny in {city}."

    kwargs: dict[str, Any] = {} if max_retries is None else {"max_retries": max_retries}
    model = ChatOpenAI(model=MODEL, max_tokens=64, **kwargs)
    agent = create_agent(model, tools=[get_facts, get_weather], name=f"lc-{i}")

    async def run() -> str:
        result = await agent.ainvoke({"messages": [{"role": "user", "content": _task(i)}]})
        return str(result["messages"][-1].content)

    return run


def openai_agents_agent(i: int, max_retries: int | None) -> Run:
    """openai-agents: an Agent with two function tools, run with ``Runner.run``."""
    from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool
    from openai import AsyncOpenAI

    @function_tool
    def get_facts(subject: str) -> str:
        """Get facts about a subject."""
        return f"{subject} has three facts."

    @function_tool
    def get_weather(city: str) -> str:
        """Get the weather in a city."""
        return f"It is sunny in {city}."

    kwargs: dict[str, Any] = {} if max_retries is None else {"max_retries": max_retries}
    client = AsyncOpenAI(**kwargs)
    agent = Agent(
        name=f"oa-{i}",
        instructions="Use the tools, then answer.",
        tools=[get_facts, get_weather],
        model=OpenAIChatCompletionsModel(model=MODEL, openai_client=client),
    )

    async def run() -> str:
        result = await Runner.run(agent, _task(i))
        return str(result.final_output)

    return run


def autogen_agent(i: int, max_retries: int | None) -> Run:
    """autogen-agentchat: an AssistantAgent with two tools."""
    from autogen_agentchat.agents import AssistantAgent
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    def get_facts(subject: str) -> str:
        """Get facts about a subject."""
        return f"{subject} has three facts."

    async def get_weather(city: str) -> str:
        """Get the weather in a city."""
        return f"It is sunny in {city}."

    kwargs: dict[str, Any] = {} if max_retries is None else {"max_retries": max_retries}
    client = OpenAIChatCompletionClient(model=MODEL, max_tokens=64, **kwargs)
    agent = AssistantAgent(
        f"ag_{i}", model_client=client, tools=[get_facts, get_weather], reflect_on_tool_use=True
    )

    async def run() -> str:
        try:
            result = await agent.run(task=_task(i))
            return str(cast(_HasContent, result.messages[-1]).content)
        finally:
            await client.close()

    return run


#: One typical agent per framework (the others are scenario-specific shapes of the raw SDK).
FRAMEWORK_AGENTS: tuple[str, ...] = ("openai", "langchain", "openai-agents", "autogen")

#: Workloads whose framework has no notion of an agent name (the raw SDK).
UNNAMED = frozenset({"openai", "openai-session", "openai-calls", "openai-heavy-tail"})

#: Modules each workload imports, loaded before the clock starts (imports are not agent work).
IMPORTS: dict[str, tuple[str, ...]] = {
    "openai": ("openai",),
    "openai-session": ("openai",),
    "openai-calls": ("openai",),
    "openai-heavy-tail": ("openai",),
    "langchain": ("langchain.agents", "langchain_core.tools", "langchain_openai"),
    "openai-agents": ("agents", "openai"),
    "autogen": ("autogen_agentchat.agents", "autogen_ext.models.openai"),
}

WORKLOADS: dict[str, Workload] = {
    "openai": openai_agent,
    "openai-session": openai_session_agent,
    "openai-calls": openai_calls_agent,
    "openai-heavy-tail": heavy_tail_agent,
    "langchain": langchain_agent,
    "openai-agents": openai_agents_agent,
    "autogen": autogen_agent,
}
