"""Agents that call the in-process simulated provider through the kernel (no HTTP, no key)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aios.adapters._sdk_usage import retry_after_seconds
from aios.kernel import Failure, Usage, estimate_tokens
from aios.kernel.kernel import Kernel
from aios.kernel.lease import Lease
from aios.sim import SimProvider

ENDPOINT = "inproc://aios-sim/v1"


class SimHTTPError(Exception):
    """A non-200 answer of the in-process provider, with what a real client would see."""

    def __init__(self, status: int, headers: dict[str, str], body: dict[str, Any] | None) -> None:
        message = ((body or {}).get("error") or {}).get("message", "")
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.headers = headers
        self.body = body or {}


def classify(exc: BaseException) -> Failure:
    if not isinstance(exc, SimHTTPError):
        return Failure(False)
    retry_after = retry_after_seconds({k.lower(): v for k, v in exc.headers.items()})
    code = ((exc.body.get("error") or {}).get("code")) or ""
    if exc.status == 429 and code != "insufficient_quota":
        return Failure(True, "rate_limit", 429, retry_after, pause_core=True, headers=exc.headers)
    if exc.status in (500, 502, 503, 529):
        return Failure(True, "server", exc.status, retry_after, pause_core=exc.status == 529)
    return Failure(False, "quota" if code == "insufficient_quota" else "client", exc.status)


def outcome(result: tuple[dict[str, Any], dict[str, str]]) -> tuple[Usage, dict[str, str]]:
    body, headers = result
    usage = body.get("usage") or {}
    return Usage(usage.get("prompt_tokens"), usage.get("completion_tokens")), headers


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a fact up in the knowledge base.",
            "parameters": {
                "type": "object",
                "properties": {"topic": {"type": "string"}},
                "required": ["topic"],
            },
        },
    }
]


@dataclass
class AgentState:
    name: str
    state: str = "waiting"
    llm_calls: int = 0
    tool_calls: int = 0
    answer: str = ""
    log: list[str] = field(default_factory=list)


async def run_agent(
    kernel: Kernel,
    provider: SimProvider,
    state: AgentState,
    task: str,
    *,
    max_tokens: int = 64,
    on_change: Callable[[], None] | None = None,
) -> AgentState:
    """A small tool-using agent loop: ask, run the tools the model asks for, ask again."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": task}]
    for _ in range(6):
        body = {"model": "sim-small", "messages": messages, "tools": TOOLS, "max_tokens": max_tokens}
        sc = kernel.llm_syscall(
            api="openai.chat",
            model="sim-small",
            base_url=ENDPOINT,
            input_tokens=estimate_tokens([messages, TOOLS]),
            max_tokens=max_tokens,
            framework="demo",
            agent=state.name,
        )

        async def perform(lease: Lease, body: dict[str, Any] = body) -> tuple[dict[str, Any], dict[str, str]]:
            state.state = "calling LLM"
            if on_change:
                on_change()
            result = await provider.handle(
                "POST", "/v1/chat/completions", body, {"authorization": "Bearer demo"}
            )
            if result.status != 200:
                raise SimHTTPError(result.status, result.headers, result.json)
            return result.json or {}, result.headers

        state.state = "queued"
        reply, _ = await kernel.acall(sc, perform, classify=classify, outcome=outcome)
        state.llm_calls += 1
        message = reply["choices"][0]["message"]
        messages.append(message)
        calls = message.get("tool_calls") or []
        if not calls:
            state.answer = message.get("content") or ""
            state.state = "done"
            if on_change:
                on_change()
            return state
        for call in calls:
            args = json.loads(call["function"]["arguments"] or "{}")
            state.state = "running tool"

            async def lookup(args: dict[str, Any] = args) -> str:
                return f"{args.get('topic', 'it')} is well documented."

            result = await kernel.arun_tool("lookup", lookup, framework="demo", agent=state.name)
            state.tool_calls += 1
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
    state.state = "done"
    return state
