"""The langchain adapter: chat-model calls as LLM syscalls of the right agent, tools as tool syscalls.

Real langchain, langchain-openai and langgraph against a sim; nothing of langchain is mocked.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

pytest.importorskip("langchain_core")

import aios
from aios.adapters.plugins import plugins
from aios.sim.process import SimServer

ADAPTER = "langchain"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer("--profile", "instant") as server:
        yield server


def _sdk_adapters() -> list[str]:
    """The openai/anthropic SDK adapters that are registered here (they gate ChatOpenAI's calls)."""
    return sorted(
        name
        for name, a in plugins().adapters.items()
        if a.module.split(".", 1)[0] in ("openai", "anthropic") and a.is_installed()
    )


def _boot(sim: SimServer, monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> aios.Kernel:  # type: ignore[name-defined]
    for key, value in sim.env().items():
        monkeypatch.setenv(key, value)
    sim.reset()
    aios.shutdown()
    k = aios.boot(**overrides)
    aios.patch(ADAPTER, *_sdk_adapters())
    return k


@pytest.fixture
def kernel(sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    k = _boot(sim, monkeypatch)
    try:
        yield k
    finally:
        aios.unpatch(ADAPTER, *_sdk_adapters())
        aios.shutdown()


def _records(k: Any, kind: str) -> list[dict[str, Any]]:
    return [r for r in k.report()["syscalls"] if r["kind"] == kind]


def _chat_openai(sim: SimServer, **kwargs: Any) -> Any:
    import openai
    from langchain_openai import ChatOpenAI

    # langchain-openai shares one async HTTP client per process; every test runs its own event loop.
    return ChatOpenAI(
        model="gpt-4o-mini",
        base_url=sim.openai_base_url,
        api_key="sk-test",
        http_async_client=openai.DefaultAsyncHttpxClient(),
        **kwargs,
    )


def _echo_model_class() -> type:
    """A chat model that calls no SDK: the adapter itself must make its LLM syscall."""
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage, AIMessageChunk
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

    class EchoChatModel(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "echo"

        def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
            text = str(messages[-1].content)
            usage = {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}
            return ChatResult(generations=[ChatGeneration(message=AIMessage(text, usage_metadata=usage))])

        def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
            for word in str(messages[-1].content).split():
                yield ChatGenerationChunk(message=AIMessageChunk(content=word))
            usage = {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}
            yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=usage))

        async def _astream(
            self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any
        ) -> AsyncIterator[Any]:
            for chunk in self._stream(messages, stop, None, **kw):
                await asyncio.sleep(0)
                yield chunk

    return EchoChatModel


# -- LLM syscalls -------------------------------------------------------------------------------------
def test_chat_openai_invoke_is_one_llm_syscall(kernel: Any, sim: SimServer) -> None:
    model = _chat_openai(sim)
    with aios.agent("planner"):
        reply = model.invoke("hello there")
    assert reply.content
    llm = _records(kernel, "llm")
    assert len(llm) == 1 == sim.stats()["requests"]
    assert llm[0]["agent"] == "planner"
    assert llm[0]["status"] == "done"
    assert llm[0]["input_tokens"] > 0
    # The SDK adapter gates it at the transport when it is there; this adapter only names the agent.
    assert llm[0]["framework"] == ("openai" if "openai" in _sdk_adapters() else "langchain")


def test_chat_anthropic_invoke_and_stream_are_one_syscall_each(kernel: Any, sim: SimServer) -> None:
    langchain_anthropic = pytest.importorskip("langchain_anthropic")
    model = langchain_anthropic.ChatAnthropic(
        model="claude-sonnet-4-6", base_url=sim.anthropic_base_url, api_key="sk-test"
    )
    with aios.agent("claude"):
        assert model.invoke("hello").content
        assert len(list(model.stream("hello again"))) > 1
    llm = _records(kernel, "llm")
    assert len(llm) == 2 == sim.stats()["requests"]
    assert {(r["agent"], r["status"]) for r in llm} == {("claude", "done")}
    assert {r["framework"] for r in llm} == {"anthropic" if "anthropic" in _sdk_adapters() else "langchain"}


def test_chat_openai_without_the_sdk_adapter_is_gated_here(kernel: Any, sim: SimServer) -> None:
    aios.unpatch(*_sdk_adapters())
    with aios.agent("solo"):
        _chat_openai(sim).invoke("hello")
    (rec,) = _records(kernel, "llm")
    assert (rec["framework"], rec["agent"], rec["model"]) == ("langchain", "solo", "gpt-4o-mini")
    assert rec["core"].endswith(sim.openai_base_url.split("//", 1)[1])
    assert sim.stats()["requests"] == 1


def test_a_model_called_inside_a_tool_is_one_llm_syscall(kernel: Any, sim: SimServer) -> None:
    from langchain_core.tools import tool

    model = _chat_openai(sim)

    @tool
    def ask(question: str) -> str:
        """Ask a model."""
        return str(model.invoke(question).content)

    with aios.agent("asker"):
        assert ask.invoke({"question": "why?"})
    assert [(r["kind"], r["agent"]) for r in kernel.report()["syscalls"]] == [
        ("llm", "asker"),
        ("tool", "asker"),
    ]
    assert sim.stats()["requests"] == 1


def test_batch_makes_one_syscall_per_prompt(kernel: Any, sim: SimServer) -> None:
    model = _chat_openai(sim)
    with aios.agent("batcher"):
        replies = model.batch(["one", "two", "three"])
    assert len(replies) == 3
    llm = _records(kernel, "llm")
    assert len(llm) == 3 == sim.stats()["requests"]
    assert {r["agent"] for r in llm} == {"batcher"}


def test_stream_and_astream_are_one_syscall_each(kernel: Any, sim: SimServer) -> None:
    model = _chat_openai(sim)
    with aios.agent("streamer"):
        chunks = list(model.stream("tell me a story"))

    async def consume() -> list[Any]:
        with aios.agent("astreamer"):
            return [c async for c in model.astream("tell me another")]

    achunks = asyncio.run(consume())
    assert len(chunks) > 1 and len(achunks) > 1
    llm = _records(kernel, "llm")
    assert len(llm) == 2 == sim.stats()["requests"]
    assert Counter(r["agent"] for r in llm) == {"streamer": 1, "astreamer": 1}
    assert all(r["status"] == "done" for r in llm)


def test_custom_chat_model_is_one_syscall_per_call(kernel: Any, sim: SimServer) -> None:
    model = _echo_model_class()()
    with aios.agent("custom"):
        assert model.invoke("a b c").content == "a b c"
        assert "".join(c.content for c in model.stream("x y")) == "xy"

    async def run_async() -> tuple[str, str]:
        with aios.agent("custom"):
            one = await model.ainvoke("d e")
            two = "".join([c.content async for c in model.astream("p q")])
            return str(one.content), two

    assert asyncio.run(run_async()) == ("d e", "pq")
    llm = _records(kernel, "llm")
    assert len(llm) == 4
    assert {r["agent"] for r in llm} == {"custom"}
    assert {r["model"] for r in llm} == {"echo"}
    assert all(r["status"] == "done" for r in llm)
    # Usage comes from the messages' usage_metadata (streams: the chunks').
    assert [(r["input_tokens"], r["output_tokens"]) for r in llm] == [(7, 3), (5, 2), (7, 3), (5, 2)]
    assert sim.stats()["requests"] == 0


def test_a_stream_closed_early_ends_its_syscall_cancelled(kernel: Any) -> None:
    model = _echo_model_class()()
    stream = model.stream("one two three four")
    next(stream)
    stream.close()
    (rec,) = _records(kernel, "llm")
    assert rec["status"] == "cancelled"


def test_cache_hits_are_not_llm_syscalls(kernel: Any, sim: SimServer) -> None:
    from langchain_core.caches import InMemoryCache

    for model in (_chat_openai(sim, cache=InMemoryCache()), _echo_model_class()(cache=InMemoryCache())):
        first = model.invoke("same prompt")
        again = model.invoke("same prompt")
        assert again.content == first.content
    assert len(_records(kernel, "llm")) == 2
    assert sim.stats()["requests"] == 1


# -- agents -------------------------------------------------------------------------------------------
def _add_tool() -> Any:
    from langchain_core.tools import tool

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return add


def _aupper_tool() -> Any:
    from langchain_core.tools import tool

    @tool
    async def shout(text: str) -> str:
        """Upper-case a text."""
        await asyncio.sleep(0)
        return text.upper()

    return shout


def test_create_agent_names_its_llm_and_tool_calls(kernel: Any, sim: SimServer) -> None:
    from langchain.agents import create_agent

    agent = create_agent(_chat_openai(sim), tools=[_add_tool()], name="researcher")
    result = agent.invoke({"messages": [{"role": "user", "content": "add 2 and 3"}]})
    assert any(getattr(m, "content", None) == "5" for m in result["messages"])
    llm, tools = _records(kernel, "llm"), _records(kernel, "tool")
    assert len(llm) == sim.stats()["requests"] == 2
    assert {r["agent"] for r in llm + tools} == {"researcher"}
    assert [(r["tool"], r["framework"], r["status"]) for r in tools] == [("add", "langchain", "done")]


def test_concurrent_agents_async_sync_and_async_tools(kernel: Any, sim: SimServer) -> None:
    from langchain.agents import create_agent

    model = _chat_openai(sim)
    alice = create_agent(model, tools=[_add_tool()], name="alice")
    bob = create_agent(model, tools=[_aupper_tool()], name="bob")

    async def main() -> None:
        await asyncio.gather(
            alice.ainvoke({"messages": [{"role": "user", "content": "add 1 and 2"}]}),
            bob.ainvoke({"messages": [{"role": "user", "content": "shout hello"}]}),
        )

    asyncio.run(main())
    tools = _records(kernel, "tool")
    assert sorted((r["agent"], r["tool"]) for r in tools) == [("alice", "add"), ("bob", "shout")]
    llm = _records(kernel, "llm")
    assert Counter(r["agent"] for r in llm) == {"alice": 2, "bob": 2}
    assert len(llm) == sim.stats()["requests"]


def test_messages_stream_mode_is_attributed(kernel: Any, sim: SimServer) -> None:
    from langchain.agents import create_agent

    agent = create_agent(_chat_openai(sim), tools=[_add_tool()], name="streamy")
    tokens = [
        chunk.content
        for chunk, _meta in agent.stream(
            {"messages": [{"role": "user", "content": "add 4 and 5"}]}, stream_mode="messages"
        )
    ]
    assert tokens
    llm = _records(kernel, "llm")
    assert len(llm) == sim.stats()["requests"] == 2
    assert {r["agent"] for r in llm + _records(kernel, "tool")} == {"streamy"}


def test_graphs_name_their_calls_and_group_their_subagents(kernel: Any, sim: SimServer) -> None:
    from typing import TypedDict

    from langchain.agents import create_agent
    from langgraph.graph import StateGraph

    class State(TypedDict):
        text: str

    model = _echo_model_class()()
    add = _add_tool()
    researcher = create_agent(_chat_openai(sim), tools=[add], name="researcher")

    def think(state: State) -> State:
        return {"text": str(model.invoke(state["text"]).content) + str(add.invoke({"a": 1, "b": 1}))}

    def delegate(state: State) -> State:
        result = researcher.invoke({"messages": [{"role": "user", "content": "add 1 and 2"}]})
        return {"text": state["text"] + str(result["messages"][-1].content)[:0]}

    def build(name: str | None, node: Any) -> Any:
        graph = StateGraph(State)
        graph.add_node(node.__name__, node)
        graph.set_entry_point(node.__name__)
        graph.set_finish_point(node.__name__)
        return graph.compile(name=name) if name else graph.compile()

    assert build("pipeline", think).invoke({"text": "x"}) == {"text": "x2"}
    asyncio.run(build(None, think).ainvoke({"text": "y"}, {"run_name": "nightly"}))
    build(None, think).invoke({"text": "z"})  # unnamed: the program's own
    build("team", delegate).invoke({"text": ""})
    seen = [(r["kind"], r["agent"], r["group"]) for r in kernel.report()["syscalls"]]
    assert seen == [
        ("llm", "pipeline", None),
        ("tool", "pipeline", None),
        ("llm", "nightly", None),
        ("tool", "nightly", None),
        ("llm", "main", None),
        ("tool", "main", None),
        ("llm", "researcher", "team"),
        ("tool", "researcher", "team"),
        ("llm", "researcher", "team"),
    ]


# -- tools --------------------------------------------------------------------------------------------
def test_tools_sync_and_async_are_recorded_once(kernel: Any) -> None:
    add, shout = _add_tool(), _aupper_tool()
    with aios.agent("toolsmith"):
        assert add.invoke({"a": 1, "b": 2}) == 3

        async def run() -> tuple[Any, Any]:
            return await add.ainvoke({"a": 3, "b": 4}), await shout.ainvoke({"text": "hi"})

        assert asyncio.run(run()) == (7, "HI")
    tools = _records(kernel, "tool")
    assert [(r["tool"], r["agent"], r["status"]) for r in tools] == [
        ("add", "toolsmith", "done"),
        ("add", "toolsmith", "done"),
        ("shout", "toolsmith", "done"),
    ]


def test_a_tool_runs_once_per_call_even_with_a_timeout(
    sim: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_core.tools import tool

    k = _boot(sim, monkeypatch, default_tool={"timeout": 5})
    runs: list[int] = []
    try:

        @tool
        def record(x: int) -> int:
            """Remember x."""
            runs.append(x)
            return x

        @tool
        async def arecord(x: int) -> int:
            """Remember x, asynchronously."""
            runs.append(x)
            return x

        assert record.invoke({"x": 1}) == 1
        assert asyncio.run(record.ainvoke({"x": 2})) == 2  # sync tool in langchain's executor
        assert asyncio.run(arecord.ainvoke({"x": 3})) == 3
        assert runs == [1, 2, 3]
        assert len(_records(k, "tool")) == 3
    finally:
        aios.unpatch(ADAPTER, *_sdk_adapters())
        aios.shutdown()


def test_handled_tool_errors_behave_as_without_aios(kernel: Any) -> None:
    from langchain_core.tools import ToolException, tool

    @tool
    def flaky(x: int) -> int:
        """Always fails."""
        raise ToolException(f"no luck with {x}")

    flaky.handle_tool_error = True

    assert flaky.invoke({"x": 1}) == "no luck with 1"
    aios.unpatch(ADAPTER)
    assert flaky.invoke({"x": 1}) == "no luck with 1"
    aios.patch(ADAPTER)
    assert [(r["tool"], r["status"]) for r in _records(kernel, "tool")] == [("flaky", "done")]


def test_unhandled_tool_errors_fail_the_syscall(kernel: Any) -> None:
    from langchain_core.tools import tool

    @tool
    def broken(x: int) -> int:
        """Always fails."""
        raise ValueError("broken tool")

    with pytest.raises(ValueError, match="broken tool"):
        broken.invoke({"x": 1})
    (rec,) = _records(kernel, "tool")
    assert rec["status"] == "failed" and "broken tool" in rec["error"]


def test_tool_timeout_from_config(sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_core.tools import tool

    k = _boot(sim, monkeypatch, tools={"sleepy": {"timeout": 1.0}, "asleepy": {"timeout": 1.0}})
    try:

        @tool
        def sleepy(seconds: float) -> str:
            """Sleep a while."""
            time.sleep(seconds)
            return "awake"

        @tool
        async def asleepy(seconds: float) -> str:
            """Sleep a while, asynchronously."""
            await asyncio.sleep(seconds)
            return "awake"

        with pytest.raises(aios.ToolTimeout, match="sleepy"):
            sleepy.invoke({"seconds": 4})
        with pytest.raises(aios.ToolTimeout, match="asleepy"):
            asyncio.run(asleepy.ainvoke({"seconds": 4}))
        assert sleepy.invoke({"seconds": 0}) == "awake"
        statuses = [(r["tool"], r["status"]) for r in _records(k, "tool")]
        assert statuses == [("sleepy", "failed"), ("asleepy", "failed"), ("sleepy", "done")]
    finally:
        aios.unpatch(ADAPTER, *_sdk_adapters())
        aios.shutdown()


# -- the patch contract -------------------------------------------------------------------------------
def _patched_attributes() -> dict[tuple[type, str], Any]:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.tools import BaseTool

    names = ("_generate_with_cache", "_agenerate_with_cache", "stream", "astream")
    out: dict[tuple[type, str], Any] = {(BaseChatModel, n): BaseChatModel.__dict__[n] for n in names}
    out.update({(BaseTool, n): BaseTool.__dict__[n] for n in ("run", "arun")})
    from langgraph.pregel.main import Pregel

    out.update({(Pregel, n): Pregel.__dict__[n] for n in ("stream", "astream")})
    return out


def test_patch_twice_is_a_no_op(kernel: Any) -> None:
    once = _patched_attributes()
    aios.patch(ADAPTER)
    assert all(_patched_attributes()[key] is value for key, value in once.items())


def test_unpatch_restores_every_attribute_by_identity(
    sim: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    aios.unpatch(ADAPTER)
    original = _patched_attributes()
    model_cls = _echo_model_class()
    own = {n: model_cls.__dict__[n] for n in ("_generate", "_stream", "_astream")}
    k = _boot(sim, monkeypatch)
    try:
        assert all(_patched_attributes()[key] is not value for key, value in original.items())
        model_cls().invoke("wrap the class")  # the first call wraps the model class's own methods
        assert all(model_cls.__dict__[n] is not fn for n, fn in own.items())
        assert "_agenerate" not in model_cls.__dict__
        assert len(_records(k, "llm")) == 1
    finally:
        aios.unpatch(ADAPTER, *_sdk_adapters())
        aios.shutdown()
    assert all(_patched_attributes()[key] is value for key, value in original.items())
    assert all(model_cls.__dict__[n] is fn for n, fn in own.items())
    assert "_agenerate" not in model_cls.__dict__


def test_patch_before_langchain_is_imported() -> None:
    code = textwrap.dedent(
        """
        import sys
        import aios
        aios.boot()
        assert "langchain_core" not in sys.modules
        assert aios.patch("langchain") == ["langchain"]
        from langchain_core.language_models.fake_chat_models import FakeListChatModel
        from langchain_core.tools import tool

        @tool
        def double(x: int) -> int:
            \"\"\"Double x.\"\"\"
            return 2 * x

        with aios.agent("early"):
            print(FakeListChatModel(responses=["pong"]).invoke("ping").content, double.invoke({"x": 2}))
        report = aios.get_kernel().report()
        print(sorted((r["kind"], r["agent"]) for r in report["syscalls"]))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["pong 4", "[('llm', 'early'), ('tool', 'early')]"]
