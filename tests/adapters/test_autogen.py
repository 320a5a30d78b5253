"""The autogen adapter against real autogen-agentchat/core/ext and a running sim.

OpenAI-client calls reach the sim over HTTP and get their syscall from the ``openai`` adapter at the
transport; this adapter names the agent and the team, runs tools as syscalls and gives every other
``ChatCompletionClient`` (here ``ReplayChatCompletionClient``) its syscall at ``create``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("autogen_agentchat")

from autogen_agentchat.agents import AssistantAgent, BaseChatAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import BaseGroupChat, RoundRobinGroupChat
from autogen_core import CancellationToken
from autogen_core.models import ChatCompletionClient, CreateResult, RequestUsage, UserMessage
from autogen_core.tools import BaseStreamTool, BaseTool, FunctionTool
from autogen_ext.models.openai import OpenAIChatCompletionClient
from autogen_ext.models.replay import ReplayChatCompletionClient

import aios
from aios.kernel import Kernel
from aios.sim.process import SimServer

ADAPTERS = ("openai", "autogen")
# The sim echoes the requested model; autogen warns when the reply names another snapshot than
# the one it resolves "gpt-4o-mini" to, so ask for that snapshot (a known model: no model_info).
MODEL = "gpt-4o-mini-2024-07-18"
TOOLS_INFO = {
    "vision": False,
    "function_calling": True,
    "json_output": False,
    "family": "unknown",
    "structured_output": False,
}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer("--profile", "instant") as server:
        yield server


@pytest.fixture(scope="module")
def slow_sim() -> Iterator[SimServer]:
    # ~1 s before the first token: long enough to cancel a call while it runs.
    with SimServer("--profile", "api", "--latency", "ttft=1.0") as server:
        yield server


def _boot(**overrides: Any) -> Kernel:
    aios.shutdown()
    k = aios.boot(**overrides)
    aios.patch(*ADAPTERS)
    return k


@pytest.fixture
def kernel(sim: SimServer) -> Iterator[Kernel]:
    k = _boot()
    sim.reset()
    try:
        yield k
    finally:
        aios.unpatch(*ADAPTERS)
        aios.shutdown()


def records(k: Kernel, kind: str) -> list[dict[str, Any]]:
    return [r for r in k.report()["syscalls"] if r["kind"] == kind]


def client(sim: SimServer) -> OpenAIChatCompletionClient:
    return OpenAIChatCompletionClient(model=MODEL, base_url=sim.openai_base_url, api_key="sim")


tool_threads: list[str] = []


def add(a: int, b: int) -> int:
    """Add two numbers."""
    tool_threads.append(threading.current_thread().name)
    return a + b


async def mul(a: int, b: int) -> int:
    """Multiply two numbers."""
    return a * b


HI = [UserMessage(content="hi", source="user")]


# -- model clients ----------------------------------------------------------------------------------
async def test_openai_client_create_and_stream_are_one_syscall_each(kernel: Kernel, sim: SimServer) -> None:
    c = client(sim)
    try:
        result = await c.create(HI)
        chunks = [chunk async for chunk in c.create_stream(HI)]
    finally:
        await c.close()
    assert isinstance(result.content, str) and result.content
    assert isinstance(chunks[-1], CreateResult) and len(chunks) > 2
    llm = records(kernel, "llm")
    assert len(llm) == 2 == sim.stats()["requests"]
    assert {r["status"] for r in llm} == {"done"}
    # Outside any agent: the process identity (the test runner).
    assert {r["agent"] for r in llm} == {"main"}
    assert all(r["group"] is None for r in llm)


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")
async def test_structured_output_is_one_syscall(kernel: Kernel, sim: SimServer) -> None:
    from pydantic import BaseModel

    class Answer(BaseModel):
        answer: str

    c = client(sim)
    try:
        result = await c.create(HI, json_output=Answer)
    finally:
        await c.close()
    Answer.model_validate_json(str(result.content))
    assert len(records(kernel, "llm")) == 1 == sim.stats()["requests"]


async def test_replay_client_gets_its_syscall_here(kernel: Kernel) -> None:
    usage = RequestUsage(prompt_tokens=7, completion_tokens=3)
    replay = ReplayChatCompletionClient(
        [CreateResult(finish_reason="stop", content="one", usage=usage, cached=False), "two"]
    )
    with aios.agent("solo"):
        first = await replay.create(HI)
        streamed = [chunk async for chunk in replay.create_stream(HI)]
    assert first.content == "one" and isinstance(streamed[-1], CreateResult)
    llm = records(kernel, "llm")
    assert [(r["agent"], r["status"], r["framework"]) for r in llm] == [("solo", "done", "autogen")] * 2
    assert llm[0]["core"].startswith("replay")
    assert (llm[0]["input_tokens"], llm[0]["output_tokens"]) == (7, 3)


# -- agents and tools -------------------------------------------------------------------------------
async def test_agent_tools_are_attributed_even_in_executor_threads(kernel: Kernel, sim: SimServer) -> None:
    tool_threads.clear()
    c = client(sim)
    try:
        agent = AssistantAgent("calc", model_client=c, tools=[add, mul])
        result = await agent.run(task="compute")
    finally:
        await c.close()
    assert result.messages[-1].content  # the tool-call summary
    # The sync tool really ran in an executor thread, where contextvars are gone.
    assert tool_threads and tool_threads[0] != threading.main_thread().name
    tools = records(kernel, "tool")
    assert sorted((r["tool"], r["agent"], r["status"]) for r in tools) == [
        ("add", "calc", "done"),
        ("mul", "calc", "done"),
    ]
    llm = records(kernel, "llm")
    assert {r["agent"] for r in llm} == {"calc"}
    assert len(llm) == sim.stats()["requests"]


async def test_run_stream_and_streaming_model_client(kernel: Kernel, sim: SimServer) -> None:
    c = client(sim)
    try:
        agent = AssistantAgent("streamer", model_client=c, tools=[mul], model_client_stream=True)
        items = [item async for item in agent.run_stream(task="multiply")]
    finally:
        await c.close()
    assert len(items) > 3
    llm = records(kernel, "llm")
    assert [r["agent"] for r in llm] == ["streamer"] * sim.stats()["requests"]
    assert [(r["tool"], r["agent"]) for r in records(kernel, "tool")] == [("mul", "streamer")]


class Countdown(BaseStreamTool[Any, str, str]):
    """A streaming tool: yields progress, then the final value."""

    def __init__(self) -> None:
        from pydantic import BaseModel

        class Args(BaseModel):
            n: int

        super().__init__(Args, str, "countdown", "Count down from n.")

    async def run(self, args: Any, cancellation_token: CancellationToken) -> str:
        return "done"

    async def run_stream(self, args: Any, cancellation_token: CancellationToken) -> Any:
        for i in range(args.n, 0, -1):
            yield str(i)
        yield "liftoff"


async def test_streaming_tool_is_one_held_tool_syscall(kernel: Kernel) -> None:
    tool = Countdown()
    with aios.agent("launcher"):
        items = [x async for x in tool.run_json_stream({"n": 3}, CancellationToken())]
    assert items == ["3", "2", "1", "liftoff"]
    assert [(r["tool"], r["agent"], r["status"]) for r in records(kernel, "tool")] == [
        ("countdown", "launcher", "done")
    ]
    assert kernel.stats()["running"] == 0


async def test_round_robin_team_is_a_group(kernel: Kernel, sim: SimServer) -> None:
    c = client(sim)
    try:
        team = RoundRobinGroupChat(
            [AssistantAgent("alice", model_client=c), AssistantAgent("bob", model_client=c, tools=[add])],
            termination_condition=MaxMessageTermination(5),
        )
        result = await team.run(task="talk")
    finally:
        await c.close()
    # The termination condition still ends the run: the task and four replies.
    assert len([m for m in result.messages if type(m).__name__ != "ToolCallRequestEvent"]) >= 4
    assert result.stop_reason and "Maximum number of messages" in result.stop_reason
    llm = records(kernel, "llm")
    assert {r["agent"] for r in llm} == {"alice", "bob"}
    assert {r["group"] for r in llm} == {"RoundRobinGroupChat"}
    assert len(llm) == sim.stats()["requests"]
    assert {(r["tool"], r["agent"], r["group"]) for r in records(kernel, "tool")} == {
        ("add", "bob", "RoundRobinGroupChat")
    }
    assert kernel.report()["groups"] == {"RoundRobinGroupChat": ["alice", "bob"]}


# -- cancellation -----------------------------------------------------------------------------------
async def test_cancellation_token_cancels_a_running_call(slow_sim: SimServer) -> None:
    k = _boot()
    try:
        c = client(slow_sim)
        token = CancellationToken()
        call = asyncio.ensure_future(c.create(HI, cancellation_token=token))
        while slow_sim.stats()["in_flight"] == 0:
            await asyncio.sleep(0.02)
        token.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await c.close()
        [rec] = records(k, "llm")
        assert rec["status"] == "cancelled"
        assert k.stats()["running"] == 0
    finally:
        aios.unpatch(*ADAPTERS)
        aios.shutdown()


async def test_cancellation_token_cancels_a_call_waiting_for_admission() -> None:
    k = _boot(max_concurrency=1)
    try:
        holder = ReplayChatCompletionClient(["a b c"])
        waiter = ReplayChatCompletionClient(["never"])
        stream = holder.create_stream(HI)
        await stream.__anext__()  # the held stream keeps the only slot
        token = CancellationToken()
        call = asyncio.ensure_future(waiter.create(HI, cancellation_token=token))
        await asyncio.sleep(0.05)
        assert k.stats()["queued"] == 1
        token.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await stream.aclose()
        statuses = sorted(r["status"] for r in records(k, "llm"))
        assert statuses == ["cancelled", "cancelled"]
        assert k.stats()["running"] == 0 and k.stats()["queued"] == 0
    finally:
        aios.unpatch(*ADAPTERS)
        aios.shutdown()


# -- patch contract ---------------------------------------------------------------------------------
def _attrs() -> dict[tuple[type, str], Any]:
    from aios.adapters.autogen import _hierarchy

    out: dict[tuple[type, str], Any] = {}
    for base, names in (
        (BaseTool, ("run_json", "run_json_stream", "__init_subclass__")),
        (ChatCompletionClient, ("create", "create_stream", "__init_subclass__")),
        (BaseChatAgent, ("on_messages", "on_messages_stream", "__init_subclass__")),
        (BaseGroupChat, ("run", "run_stream", "__init_subclass__")),
    ):
        for cls in _hierarchy(base):
            for name in names:
                out[(cls, name)] = cls.__dict__.get(name, "absent")
    return out


def test_patch_twice_is_a_no_op_and_unpatch_restores_by_identity() -> None:
    aios.unpatch(*ADAPTERS)
    before = _attrs()
    aios.patch("autogen")
    patched = _attrs()
    assert patched[(FunctionTool, "run_json")] == "absent"  # inherited: only the base is wrapped
    assert patched[(BaseTool, "run_json")] is not before[(BaseTool, "run_json")]
    assert (
        patched[(AssistantAgent, "on_messages_stream")] is not before[(AssistantAgent, "on_messages_stream")]
    )
    assert patched[(OpenAIChatCompletionClient, "create")] == before[(OpenAIChatCompletionClient, "create")]
    aios.patch("autogen")
    assert _attrs() == patched and all(patched[key] is _attrs()[key] for key in patched)
    aios.unpatch("autogen")
    after = _attrs()
    assert all(after[key] is before[key] for key in before), [k for k in before if after[k] is not before[k]]


def test_subclasses_defined_after_patch_are_wrapped_and_unwrapped() -> None:
    aios.unpatch(*ADAPTERS)
    aios.patch("autogen")
    try:

        class Echo(BaseChatAgent):
            @property
            def produced_message_types(self) -> Any:
                return ()

            async def on_messages(self, messages: Any, cancellation_token: Any) -> Any:
                from aios.kernel.context import current_agent

                return current_agent()

            async def on_reset(self, cancellation_token: Any) -> None:
                return None

        original = Echo.__dict__["on_messages"]
        assert original.__wrapped__ is not None
        who = asyncio.run(Echo("echo", "echoes").on_messages([], CancellationToken()))
        assert who is not None and who.name == "echo"
    finally:
        aios.unpatch("autogen")
    assert not hasattr(Echo.__dict__["on_messages"], "__wrapped__")
    assert asyncio.run(Echo("echo", "echoes").on_messages([], CancellationToken())) is None


def test_patch_before_import_in_a_fresh_process(tmp_path: Any) -> None:
    code = textwrap.dedent(
        """
        import asyncio, json, sys
        import aios
        aios.boot()
        aios.patch("autogen")
        assert "autogen_core" not in sys.modules
        from autogen_agentchat.agents import AssistantAgent
        from autogen_ext.models.replay import ReplayChatCompletionClient

        def add(a: int, b: int) -> int:
            "Add."
            return a + b

        from autogen_core import FunctionCall
        from autogen_core.models import CreateResult, RequestUsage
        call = CreateResult(finish_reason="function_calls", cached=False,
                            usage=RequestUsage(prompt_tokens=1, completion_tokens=1),
                            content=[FunctionCall(id="1", name="add", arguments='{"a": 1, "b": 2}')])
        info = {"vision": False, "function_calling": True, "json_output": False,
                "family": "unknown", "structured_output": False}
        agent = AssistantAgent("early", tools=[add],
                               model_client=ReplayChatCompletionClient([call], model_info=info))
        asyncio.run(agent.run(task="go"))
        recs = aios.get_kernel().report()["syscalls"]
        print(json.dumps([[r["kind"], r["agent"], r["tool"]] for r in recs]))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [
        ["llm", "early", None],
        ["tool", "early", "add"],
    ]


async def test_swarm_handoffs_and_selector_are_groups(kernel: Kernel, sim: SimServer) -> None:
    from autogen_agentchat.teams import SelectorGroupChat, Swarm

    c = client(sim)
    try:
        triage = AssistantAgent("triage", model_client=c, handoffs=["billing"])
        billing = AssistantAgent("billing", model_client=c)
        swarm = await Swarm([triage, billing], termination_condition=MaxMessageTermination(4)).run(
            task="refund"
        )
        selector = SelectorGroupChat(
            [
                AssistantAgent("x1", model_client=c, description="first"),
                AssistantAgent("x2", model_client=c, description="second"),
            ],
            model_client=c,
            termination_condition=MaxMessageTermination(3),
        )
        await selector.run(task="go")
    finally:
        await c.close()
    assert "HandoffMessage" in {type(m).__name__ for m in swarm.messages}
    by_group: dict[str, set[str]] = {}
    for rec in records(kernel, "llm") + records(kernel, "tool"):
        by_group.setdefault(rec["group"], set()).add(rec["agent"])
    # The selector's own speaker choice is the team's call; the members' calls are theirs.
    assert by_group == {
        "Swarm": {"triage", "billing"},
        "SelectorGroupChat": {"SelectorGroupChat", "x1", "x2"},
    }
    assert [r["tool"] for r in records(kernel, "tool")] == ["transfer_to_billing"]
    assert len(records(kernel, "llm")) == sim.stats()["requests"]
