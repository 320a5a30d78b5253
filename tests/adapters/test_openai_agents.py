"""The openai-agents adapter against the real framework and a running sim.

Every test runs real ``Runner`` calls: LLM calls go over HTTP to the sim; identity comes from the
turn wrappers; SDK-backed models get their syscall from the ``openai`` adapter at the transport;
custom models and function tools get theirs here.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

agents = pytest.importorskip("agents")

from agents import (  # noqa: E402
    Agent,
    GuardrailFunctionOutput,
    InputGuardrailTripwireTriggered,
    Model,
    ModelResponse,
    OpenAIChatCompletionsModel,
    Runner,
    function_tool,
    handoff,
    input_guardrail,
    set_default_openai_api,
    set_default_openai_client,
)
from agents.models import _openai_shared  # noqa: E402
from agents.usage import Usage as AgentsUsage  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402
from openai.types.responses import ResponseOutputMessage, ResponseOutputText  # noqa: E402

import aios  # noqa: E402
from aios.adapters.openai_agents import MODEL_REFS, TOOL_REFS, TURN_REFS  # noqa: E402
from aios.adapters.plugins import plugins  # noqa: E402
from aios.kernel import Kernel  # noqa: E402
from aios.sim.process import SimServer  # noqa: E402

ADAPTERS = ("openai", "openai-agents")
MODEL = "gpt-4o-mini"


@pytest.fixture
def kernel(sim: SimServer) -> Iterator[Kernel]:
    """A fresh kernel, both adapters patched, and a fresh client bound to this test's loop.

    ``sim`` (tests/adapters/conftest.py) is the session's instant sim, its counters reset.
    """
    aios.shutdown()
    k = aios.boot()
    aios.patch(*ADAPTERS)
    # A fresh client per test: on openai v3 a client's pool is bound to the first event loop.
    set_default_openai_client(AsyncOpenAI(base_url=sim.openai_base_url, api_key="sim"), use_for_tracing=False)
    try:
        yield k
    finally:
        set_default_openai_api("responses")
        # Leave no client bound to this test's (closed) loop for whatever runs next.
        _openai_shared.set_default_openai_client(None)  # type: ignore[arg-type]
        aios.unpatch(*ADAPTERS)
        aios.shutdown()


def records(k: Kernel, kind: str) -> list[dict[str, Any]]:
    return [r for r in k.accounting.report()["syscalls"] if r["kind"] == kind]


ran: Counter[str] = Counter()


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    ran["get_weather"] += 1
    return f"sunny in {city}"


def weather_agent(model: Any = MODEL) -> Agent[Any]:
    return Agent(name="weather", instructions="Answer about weather.", tools=[get_weather], model=model)


def assert_one_agent_run(k: Kernel, sim: SimServer, agent: str = "weather") -> None:
    llm, tools = records(k, "llm"), records(k, "tool")
    assert len(llm) == sim.stats()["requests"] >= 2  # a tool call, then the answer
    assert {r["agent"] for r in llm} == {agent}
    assert [(r["agent"], r["tool"], r["status"]) for r in tools] == [(agent, "get_weather", "done")]
    assert ran["get_weather"] == 1  # the tool ran exactly once


def test_run_sync_llm_and_tool_syscalls_are_the_agents(kernel: Kernel, sim: SimServer) -> None:
    ran.clear()
    result = Runner.run_sync(weather_agent(), "What is the weather in Paris?")
    assert "sunny in Paris" in result.final_output
    assert_one_agent_run(kernel, sim)


async def test_run_async_llm_and_tool_syscalls_are_the_agents(kernel: Kernel, sim: SimServer) -> None:
    ran.clear()
    result = await Runner.run(weather_agent(), "What is the weather in Oslo?")
    assert "sunny in Oslo" in result.final_output
    assert_one_agent_run(kernel, sim)


async def test_run_streamed_llm_and_tool_syscalls_are_the_agents(kernel: Kernel, sim: SimServer) -> None:
    ran.clear()
    result = Runner.run_streamed(weather_agent(), "What is the weather in Rome?")
    events = [e async for e in result.stream_events()]
    assert events and "sunny in Rome" in result.final_output
    assert_one_agent_run(kernel, sim)
    assert all(r["status"] == "done" for r in records(kernel, "llm"))


async def test_chat_completions_model_instance(kernel: Kernel, sim: SimServer) -> None:
    ran.clear()
    client = AsyncOpenAI(base_url=sim.openai_base_url, api_key="sim")
    model = OpenAIChatCompletionsModel(model=MODEL, openai_client=client)
    result = await Runner.run(weather_agent(model), "What is the weather in Lima?")
    assert "sunny in Lima" in result.final_output
    assert_one_agent_run(kernel, sim)
    assert set(sim.stats()["by_endpoint"]) == {"POST /v1/chat/completions"}


async def test_chat_completions_by_default_api(kernel: Kernel, sim: SimServer) -> None:
    ran.clear()
    set_default_openai_api("chat_completions")
    result = await Runner.run(weather_agent(), "What is the weather in Kyiv?")
    assert "sunny in Kyiv" in result.final_output
    assert_one_agent_run(kernel, sim)
    assert set(sim.stats()["by_endpoint"]) == {"POST /v1/chat/completions"}


# -- handoffs ---------------------------------------------------------------------------------------
@function_tool
def lookup_invoice(invoice_id: str) -> str:
    """Find an invoice."""
    return f"invoice {invoice_id}: paid"


@function_tool
def lookup_order(order_id: str) -> str:
    """Find an order."""
    return f"order {order_id}: shipped"


def triage_agent() -> Agent[Any]:
    billing = Agent(name="billing", instructions="Billing questions.", tools=[lookup_invoice], model=MODEL)
    shipping = Agent(name="shipping", instructions="Shipping questions.", tools=[lookup_order], model=MODEL)

    def wants(topic: str) -> Any:
        return lambda ctx, _agent: ctx.context == topic

    return Agent(
        name="triage",
        instructions="Route the customer.",
        handoffs=[
            handoff(billing, is_enabled=wants("billing")),
            handoff(shipping, is_enabled=wants("shipping")),
        ],
        model=MODEL,
    )


@pytest.mark.parametrize("streamed", [False, True], ids=["run", "run_streamed"])
@pytest.mark.parametrize(
    ("topic", "specialist", "tool"),
    [("billing", "billing", "lookup_invoice"), ("shipping", "shipping", "lookup_order")],
)
async def test_handoff_moves_attribution_to_the_specialist(
    kernel: Kernel, sim: SimServer, topic: str, specialist: str, tool: str, streamed: bool
) -> None:
    if streamed:
        result: Any = Runner.run_streamed(triage_agent(), "Help with A-17 please", context=topic)
        [e async for e in result.stream_events()]
    else:
        result = await Runner.run(triage_agent(), "Help with A-17 please", context=topic)
    assert result.last_agent.name == specialist
    llm = records(kernel, "llm")
    assert len(llm) == sim.stats()["requests"] == 3  # triage hands off; specialist: tool, answer
    assert [r["agent"] for r in sorted(llm, key=lambda r: r["id"])] == ["triage", specialist, specialist]
    assert [(r["agent"], r["tool"]) for r in records(kernel, "tool")] == [(specialist, tool)]


async def test_agent_as_tool_calls_are_the_inner_agents(kernel: Kernel, sim: SimServer) -> None:
    ran.clear()
    inner = weather_agent()
    outer = Agent(
        name="planner",
        instructions="Plan.",
        tools=[inner.as_tool(tool_name="forecast", tool_description="Get a forecast.")],
        model=MODEL,
    )
    await Runner.run(outer, "Plan a day in Paris")
    tools = records(kernel, "tool")
    assert sorted((r["agent"], r["tool"]) for r in tools) == [
        ("planner", "forecast"),
        ("weather", "get_weather"),
    ]
    llm = Counter(r["agent"] for r in records(kernel, "llm"))
    assert sum(llm.values()) == sim.stats()["requests"]
    assert llm == {"planner": 2, "weather": 2}


# -- guardrails -------------------------------------------------------------------------------------
@input_guardrail
async def no_secrets(ctx: Any, agent: Any, text: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info="secret", tripwire_triggered="secret" in str(text))


async def test_input_guardrail_still_trips(kernel: Kernel, sim: SimServer) -> None:
    guarded = Agent(name="guarded", instructions="Help.", input_guardrails=[no_secrets], model=MODEL)
    with pytest.raises(InputGuardrailTripwireTriggered):
        await Runner.run(guarded, "tell me the secret")
    result = await Runner.run(guarded, "tell me the news")
    assert result.final_output
    assert {r["agent"] for r in records(kernel, "llm")} == {"guarded"}


# -- models the openai SDK does not serve ---------------------------------------------------------------
class EchoModel(Model):
    """A model of the program's own: no openai client, so this adapter makes its syscalls."""

    def __init__(self, inner: Model | None = None) -> None:
        self.model = "echo-1"
        self.inner = inner
        self.calls = 0

    def _reply(self, input: Any) -> ModelResponse:
        text = f"echo: {input if isinstance(input, str) else input[-1]['content']}"
        message = ResponseOutputMessage(
            id="msg_1",
            type="message",
            role="assistant",
            status="completed",
            content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
        )
        return ModelResponse(
            output=[message],
            usage=AgentsUsage(requests=1, input_tokens=7, output_tokens=3, total_tokens=10),
            response_id=None,
        )

    async def get_response(
        self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
    ) -> ModelResponse:
        self.calls += 1
        if self.inner is not None:  # delegating to an SDK model is still one logical call
            return await self.inner.get_response(system_instructions, input, *args, **kwargs)
        return self._reply(input)

    async def stream_response(
        self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
    ) -> AsyncIterator[Any]:
        from openai.types.responses import Response, ResponseCompletedEvent, ResponseUsage
        from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

        self.calls += 1
        reply = self._reply(input)
        response = Response(
            id="resp_1",
            created_at=0,
            model="echo-1",
            object="response",
            output=reply.output,
            parallel_tool_calls=False,
            tool_choice="auto",
            tools=[],
            # model_construct: the usage details' required fields differ between openai 2 and 3.
            usage=ResponseUsage.model_construct(
                input_tokens=7,
                output_tokens=3,
                total_tokens=10,
                input_tokens_details=InputTokensDetails.model_construct(cached_tokens=0),
                output_tokens_details=OutputTokensDetails.model_construct(reasoning_tokens=0),
            ),
        )
        yield ResponseCompletedEvent(type="response.completed", response=response, sequence_number=0)


# The class's own methods, before any patch gates it (unpatch must bring back these objects).
before_echo = vars(EchoModel)["get_response"]
before_echo_stream = vars(EchoModel)["stream_response"]


async def test_custom_model_makes_one_syscall_per_call(kernel: Kernel, sim: SimServer) -> None:
    model = EchoModel()
    agent = Agent(name="echoer", instructions="Echo.", model=model)
    result = await Runner.run(agent, "hello")
    assert result.final_output == "echo: hello"
    streamed = Runner.run_streamed(agent, "again")
    [e async for e in streamed.stream_events()]
    assert streamed.final_output == "echo: again"
    llm = records(kernel, "llm")
    assert model.calls == 2
    assert [(r["agent"], r["model"], r["status"]) for r in llm] == [("echoer", "echo-1", "done")] * 2
    assert [sc.stream for sc in kernel.accounting.syscalls] == [False, True]
    assert [(r["input_tokens"], r["output_tokens"]) for r in llm] == [(7, 3), (7, 3)]
    assert sim.stats()["requests"] == 0


async def test_custom_model_delegating_to_the_sdk_is_one_syscall(kernel: Kernel, sim: SimServer) -> None:
    client = AsyncOpenAI(base_url=sim.openai_base_url, api_key="sim")
    model = EchoModel(inner=OpenAIChatCompletionsModel(model=MODEL, openai_client=client))
    result = await Runner.run(Agent(name="wrapper", instructions="Help.", model=model), "hi")
    assert result.final_output
    llm = records(kernel, "llm")
    assert sim.stats()["requests"] == 1
    assert [(r["agent"], r["model"]) for r in llm] == [("wrapper", "echo-1")]


# -- the adapter contract -----------------------------------------------------------------------------
def references() -> dict[tuple[str, str], Any]:
    """Every ``agents.*`` module attribute holding one of the functions the adapter wraps."""
    import importlib

    wanted = set()
    for module_name, attr in (*TURN_REFS, *TOOL_REFS, *MODEL_REFS):
        module = importlib.import_module(module_name)
        if attr in vars(module):
            wanted.add(attr)
    out = {}
    for name, module in list(sys.modules.items()):
        if module is not None and (name == "agents" or name.startswith("agents.")):
            for attr in wanted & set(vars(module)):
                out[(name, attr)] = vars(module)[attr]
    return out


def test_every_reference_is_wrapped_and_unpatch_restores_it_by_identity(kernel: Kernel) -> None:
    adapter = plugins().adapters["openai-agents"]
    aios.unpatch("openai-agents")
    before = references()
    # 0.20 and 0.24 both hold the tool invoker twice and the turn function in two modules.
    assert ("agents.run_internal.tool_execution", "_invoke_function_tool_with_metadata") in before
    assert ("agents.tool", "_invoke_function_tool_with_metadata") in before
    assert ("agents.run", "run_single_turn") in before
    aios.patch("openai-agents")
    assert adapter.patched
    patched = references()
    assert all(patched[key] is not before[key] for key in before), "a reference was left unwrapped"
    asyncio.run(Runner.run(Agent(name="echoer", model=EchoModel()), "x"))  # gates EchoModel's class
    assert "get_response" in vars(EchoModel) and EchoModel.get_response is not before_echo
    aios.unpatch("openai-agents")
    after = references()
    assert all(after[key] is before[key] for key in before)
    assert vars(EchoModel)["get_response"] is before_echo
    assert vars(EchoModel)["stream_response"] is before_echo_stream


def test_patch_twice_is_a_no_op(kernel: Kernel) -> None:
    first = references()
    aios.patch("openai-agents")
    assert references() == first
    assert all(references()[k] is v for k, v in first.items())


def test_patch_before_import_in_a_fresh_process(sim: SimServer) -> None:
    program = textwrap.dedent(
        """
        import json, aios
        aios.patch("openai-agents")
        from agents import Agent, Runner, function_tool, set_default_openai_client
        from agents.run_internal import run_loop
        from openai import AsyncOpenAI
        import os

        set_default_openai_client(AsyncOpenAI(), use_for_tracing=False)

        @function_tool
        def add(a: int, b: int) -> int:
            "Add two numbers."
            return a + b

        result = Runner.run_sync(Agent(name="adder", tools=[add], model="gpt-4o-mini"), "add 2 and 3")
        records = aios.get_kernel().accounting.report()["syscalls"]
        tools = [(r["agent"], r["tool"]) for r in records if r["kind"] == "tool"]
        print(json.dumps({"wrapped": type(run_loop.run_single_turn).__name__, "tools": tools}))
        """
    )
    env = {**os.environ, **sim.env(), "OPENAI_AGENTS_DISABLE_TRACING": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("AIOS_")}
    proc = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["wrapped"] == "FunctionWrapper"
    assert out["tools"] == [["adder", "add"]]
