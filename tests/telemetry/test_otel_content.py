"""``otel_capture_content``: what calls said and answered, on their spans, only when asked for.

Real openai and anthropic clients talk HTTP to a real sim; tools run through a real langchain
tool. The spans come from the SDK's in-memory exporter.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import aios
from aios.config import load_config
from aios.kernel.kernel import Kernel
from aios.sim.process import SimServer

from .conftest import Pipeline
from .test_otel_spans import finished

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")

KEY = "sk-secret-key-4242"
SYSTEM = "You are terse."
ASK = "Name a colour."
CONTENT_KEYS = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer("--profile", "instant") as server:
        yield server


def _boot(pipeline: Pipeline, capture: bool) -> Kernel:
    aios.shutdown()
    k = aios.boot(otel=True, otel_capture_content=capture)
    aios.patch("openai")
    aios.patch("anthropic")
    aios.patch("langchain")
    pipeline.spans.clear()  # type: ignore[attr-defined]
    return k


@pytest.fixture
def capturing(pipeline: Pipeline) -> Iterator[Kernel]:
    yield _boot(pipeline, True)
    aios.unpatch()
    aios.shutdown()


@pytest.fixture
def not_capturing(pipeline: Pipeline) -> Iterator[Kernel]:
    yield _boot(pipeline, False)
    aios.unpatch()
    aios.shutdown()


def chat_messages() -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ASK}]


def ours(pipeline: Pipeline) -> list[Any]:
    """The syscall spans (the anthropic SDK emits spans of its own under a tracer provider)."""
    return [s for s in finished(pipeline) if "aios.policy" in s.attributes]


def one_span(pipeline: Pipeline) -> Any:
    spans = ours(pipeline)
    assert len(spans) == 1, [(s.name, dict(s.attributes)) for s in spans]
    [span] = spans
    assert KEY not in repr(dict(span.attributes))  # never the key, whatever is captured
    return span


def messages(span: Any, key: str) -> Any:
    return json.loads(span.attributes[key])


def text_of(message: dict[str, Any]) -> str:
    return "".join(p["content"] for p in message["parts"] if p["type"] == "text")


# -- OpenAI ---------------------------------------------------------------------------------------
def test_openai_sync_call_carries_its_messages(capturing: Kernel, pipeline: Pipeline, sim: SimServer) -> None:
    with openai.OpenAI(base_url=sim.openai_base_url, api_key=KEY) as client:
        out = client.chat.completions.create(model="gpt-4o-mini", messages=chat_messages())
    span = one_span(pipeline)
    assert messages(span, "gen_ai.input.messages") == [
        {"role": "system", "parts": [{"type": "text", "content": SYSTEM}]},
        {"role": "user", "parts": [{"type": "text", "content": ASK}]},
    ]
    [answer] = messages(span, "gen_ai.output.messages")
    assert answer["role"] == "assistant" and answer["finish_reason"] == "stop"
    assert text_of(answer) == out.choices[0].message.content != ""


async def test_openai_async_call_carries_its_messages(
    capturing: Kernel, pipeline: Pipeline, sim: SimServer
) -> None:
    client = openai.AsyncOpenAI(base_url=sim.openai_base_url, api_key=KEY)
    try:
        out = await client.chat.completions.create(model="gpt-4o-mini", messages=chat_messages())
    finally:
        await client.close()
    span = one_span(pipeline)
    assert [m["role"] for m in messages(span, "gen_ai.input.messages")] == ["system", "user"]
    [answer] = messages(span, "gen_ai.output.messages")
    assert text_of(answer) == out.choices[0].message.content


def test_openai_stream_output_is_assembled_at_its_end(
    capturing: Kernel, pipeline: Pipeline, sim: SimServer
) -> None:
    with openai.OpenAI(base_url=sim.openai_base_url, api_key=KEY) as client:
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=chat_messages(), stream=True)
        pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    span = one_span(pipeline)
    assert span.attributes["gen_ai.request.stream"] is True
    [answer] = messages(span, "gen_ai.output.messages")
    assert len(pieces) > 1 and text_of(answer) == "".join(pieces)
    assert messages(span, "gen_ai.input.messages")[1]["parts"][0]["content"] == ASK


async def test_openai_async_stream_tool_call_is_assembled(
    capturing: Kernel, pipeline: Pipeline, sim: SimServer
) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    client = openai.AsyncOpenAI(base_url=sim.openai_base_url, api_key=KEY)
    try:
        stream = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "What is the weather in Paris?"}],
            tools=[tool],
            stream=True,
        )
        args: list[str] = []
        async for chunk in stream:
            for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                args.append(call.function.arguments or "")
    finally:
        await client.close()
    span = one_span(pipeline)
    [answer] = messages(span, "gen_ai.output.messages")
    [call] = [p for p in answer["parts"] if p["type"] == "tool_call"]
    assert answer["finish_reason"] == "tool_call"
    assert call["name"] == "get_weather" and call["id"]
    assert call["arguments"] == json.loads("".join(args))


def test_openai_responses_api(capturing: Kernel, pipeline: Pipeline, sim: SimServer) -> None:
    with openai.OpenAI(base_url=sim.openai_base_url, api_key=KEY) as client:
        out = client.responses.create(model="gpt-4o-mini", instructions=SYSTEM, input=ASK)
    span = one_span(pipeline)
    assert messages(span, "gen_ai.system_instructions") == [{"type": "text", "content": SYSTEM}]
    assert messages(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": ASK}]}
    ]
    [answer] = messages(span, "gen_ai.output.messages")
    assert text_of(answer) == out.output_text


# -- Anthropic ------------------------------------------------------------------------------------
def test_anthropic_system_is_instructions_and_stream_is_assembled(
    capturing: Kernel, pipeline: Pipeline, sim: SimServer
) -> None:
    with anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key=KEY) as client:
        out = client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=64,
            system=SYSTEM,
            messages=[{"role": "user", "content": ASK}],
        )
        span = one_span(pipeline)
        assert messages(span, "gen_ai.system_instructions") == [{"type": "text", "content": SYSTEM}]
        assert messages(span, "gen_ai.input.messages") == [
            {"role": "user", "parts": [{"type": "text", "content": ASK}]}
        ]
        [answer] = messages(span, "gen_ai.output.messages")
        assert text_of(answer) == out.content[0].text and answer["finish_reason"] == "stop"

        pipeline.spans.clear()  # type: ignore[attr-defined]
        with client.messages.stream(
            model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": ASK}]
        ) as stream:
            streamed = "".join(stream.text_stream)
    span = one_span(pipeline)
    [answer] = messages(span, "gen_ai.output.messages")
    assert streamed and text_of(answer) == streamed


# -- tools (base.run_tool / arun_tool, through a real langchain tool) -----------------------------
def _add_tool() -> Any:
    from langchain_core.tools import tool

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return add


def test_tool_arguments_and_result(capturing: Kernel, pipeline: Pipeline) -> None:
    assert _add_tool().invoke({"a": 2, "b": 40}) == 42
    [span] = ours(pipeline)
    assert span.name == "execute_tool add"
    assert json.loads(span.attributes["gen_ai.tool.call.arguments"]) == {"a": 2, "b": 40}
    assert span.attributes["gen_ai.tool.call.result"] == "42"


async def test_async_tool_arguments_and_result(capturing: Kernel, pipeline: Pipeline) -> None:
    assert await _add_tool().ainvoke({"a": 1, "b": 2}) == 3
    [span] = ours(pipeline)
    assert json.loads(span.attributes["gen_ai.tool.call.arguments"]) == {"a": 1, "b": 2}
    assert span.attributes["gen_ai.tool.call.result"] == "3"


# -- off by default -------------------------------------------------------------------------------
async def test_nothing_is_captured_when_off(
    not_capturing: Kernel, pipeline: Pipeline, sim: SimServer
) -> None:
    with openai.OpenAI(base_url=sim.openai_base_url, api_key=KEY) as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=chat_messages())
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=chat_messages(), stream=True):
            pass
    aclient = anthropic.AsyncAnthropic(base_url=sim.anthropic_base_url, api_key=KEY)
    try:
        await aclient.messages.create(
            model="claude-haiku-4-5",
            max_tokens=64,
            system=SYSTEM,
            messages=[{"role": "user", "content": ASK}],
        )
    finally:
        await aclient.close()
    _add_tool().invoke({"a": 2, "b": 40})
    await _add_tool().ainvoke({"a": 2, "b": 40})
    spans = ours(pipeline)
    assert len(spans) == 5
    for span in spans:
        assert not any(key in span.attributes for key in CONTENT_KEYS), span.name
        assert ASK not in repr(dict(span.attributes)) and SYSTEM not in repr(dict(span.attributes))


# -- the settings ---------------------------------------------------------------------------------
def test_the_standard_variable_turns_capture_on_and_ours_wins(tmp_path: Path) -> None:
    standard = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
    assert load_config(environ={}, cwd=tmp_path).otel_capture_content is False
    assert load_config(environ={standard: "true"}, cwd=tmp_path).otel_capture_content is True
    assert load_config(environ={standard: "false"}, cwd=tmp_path).otel_capture_content is False
    assert load_config(environ={"AIOS_OTEL_CAPTURE_CONTENT": "1"}, cwd=tmp_path).otel_capture_content is True
    off = {standard: "true", "AIOS_OTEL_CAPTURE_CONTENT": "false"}
    assert load_config(environ=off, cwd=tmp_path).otel_capture_content is False
