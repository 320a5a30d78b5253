"""One openai-agents agent with two function tools, run as `sync` (run_sync), `async` (run),
`stream` (run_streamed) or `chat` (run_sync on the Chat Completions API).

An ordinary program: no aios import; the openai client reads OPENAI_BASE_URL/OPENAI_API_KEY.
Usage: python single_agent_tools.py [sync|async|stream|chat]
"""

from __future__ import annotations

import asyncio
import sys

from agents import Agent, Runner, function_tool, set_default_openai_api


@function_tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"weather in {city}: sunny, 21C"


@function_tool
def get_local_time(city: str) -> str:
    """The local time in a city."""
    return f"time in {city}: 14:05"


assistant = Agent(
    name="assistant",
    instructions="Answer travel questions using the tools.",
    tools=[get_weather, get_local_time],
    model="gpt-4o-mini",
)
QUESTION = "What are the weather and the local time in Lisbon?"


async def streamed() -> str:
    result = Runner.run_streamed(assistant, QUESTION)
    kinds = set()
    async for event in result.stream_events():
        kinds.add(event.type)
    print("events:", ", ".join(sorted(kinds)))
    return str(result.final_output)


def main(mode: str) -> None:
    if mode == "sync":
        output = Runner.run_sync(assistant, QUESTION).final_output
    elif mode == "async":
        output = asyncio.run(Runner.run(assistant, QUESTION)).final_output
    elif mode == "stream":
        output = asyncio.run(streamed())
    elif mode == "chat":
        set_default_openai_api("chat_completions")
        output = Runner.run_sync(assistant, QUESTION).final_output
    else:
        raise SystemExit(f"unknown mode {mode!r}: use sync, async, stream or chat")
    print("answer:", output)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sync")
