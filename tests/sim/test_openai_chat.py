"""Chat Completions through the real openai SDK over HTTP."""

from __future__ import annotations

import json

import openai
import pytest
from pydantic import BaseModel

from aios.sim import SimServer

from .conftest import ADD_TOOL, WEATHER_TOOL


def test_plain_completion_has_usage_and_ids(openai_client: openai.OpenAI) -> None:
    result = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}]
    )
    assert result.object == "chat.completion"
    assert result.choices[0].finish_reason == "stop"
    assert result.choices[0].message.content
    assert result.usage is not None
    assert result.usage.prompt_tokens > 0
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens


def test_same_conversation_same_answer(openai_client: openai.OpenAI) -> None:
    msgs = [{"role": "user", "content": "Tell me about Paris"}]
    first = openai_client.chat.completions.create(model="m", messages=msgs)  # type: ignore[arg-type]
    second = openai_client.chat.completions.create(model="m", messages=msgs)  # type: ignore[arg-type]
    other = openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Something else entirely"}]
    )
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.id != second.id
    assert first.choices[0].message.content != other.choices[0].message.content


def test_parallel_tool_calls_then_final_answer(openai_client: openai.OpenAI) -> None:
    messages: list[dict[str, object]] = [
        {"role": "user", "content": "Add 3 and 4, and get the weather in Paris."}
    ]
    first = openai_client.chat.completions.create(
        model="m",
        messages=messages,
        tools=[ADD_TOOL, WEATHER_TOOL],  # type: ignore[arg-type,list-item]
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [c.function.name for c in calls] == ["add", "get_weather"]
    assert json.loads(calls[0].function.arguments) == {"a": 3, "b": 4}
    assert json.loads(calls[1].function.arguments) == {"city": "Paris"}
    assert len({c.id for c in calls}) == 2
    messages.append(choice.message.model_dump(exclude_none=True))
    messages += [
        {"role": "tool", "tool_call_id": calls[0].id, "content": "7"},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "sunny"},
    ]
    final = openai_client.chat.completions.create(
        model="m",
        messages=messages,
        tools=[ADD_TOOL, WEATHER_TOOL],  # type: ignore[arg-type,list-item]
    )
    assert final.choices[0].finish_reason == "stop"
    text = final.choices[0].message.content or ""
    assert "7" in text and "sunny" in text


def test_tool_call_ids_never_repeat(openai_client: openai.OpenAI) -> None:
    ids = set()
    for _ in range(5):
        result = openai_client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "add 1 and 2"}],
            tools=[ADD_TOOL],  # type: ignore[list-item]
        )
        ids.update(c.id for c in result.choices[0].message.tool_calls or [])
    assert len(ids) == 5


def test_tool_choice_none_required_and_named(openai_client: openai.OpenAI) -> None:
    msgs = [{"role": "user", "content": "add 1 and 2"}]
    none = openai_client.chat.completions.create(
        model="m",
        messages=msgs,
        tools=[ADD_TOOL],
        tool_choice="none",  # type: ignore[arg-type,list-item]
    )
    assert none.choices[0].message.tool_calls is None
    named = openai_client.chat.completions.create(
        model="m",
        messages=msgs,
        tools=[ADD_TOOL, WEATHER_TOOL],  # type: ignore[arg-type,list-item]
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert [c.function.name for c in named.choices[0].message.tool_calls or []] == ["get_weather"]
    single = openai_client.chat.completions.create(
        model="m",
        messages=msgs,
        tools=[ADD_TOOL, WEATHER_TOOL],
        parallel_tool_calls=False,  # type: ignore[arg-type,list-item]
    )
    assert len(single.choices[0].message.tool_calls or []) == 1


def test_n_stop_and_max_tokens(openai_client: openai.OpenAI) -> None:
    msgs = [{"role": "user", "content": "Write something"}]
    many = openai_client.chat.completions.create(model="m", messages=msgs, n=3)  # type: ignore[arg-type]
    assert [c.index for c in many.choices] == [0, 1, 2]
    cut = openai_client.chat.completions.create(model="m", messages=msgs, max_tokens=3)  # type: ignore[arg-type]
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage is not None and cut.usage.completion_tokens == 3
    stopped = openai_client.chat.completions.create(model="m", messages=msgs, stop=[":"])  # type: ignore[arg-type]
    assert stopped.choices[0].message.content == "Answer"
    assert stopped.choices[0].finish_reason == "stop"


def test_stream_with_usage_and_tool_calls(openai_client: openai.OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "add 5 and 6"}],
        tools=[ADD_TOOL],  # type: ignore[list-item]
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    args = "".join(
        tc.function.arguments or ""
        for ch in chunks
        for choice in ch.choices
        for tc in choice.delta.tool_calls or []
        if tc.function
    )
    assert json.loads(args) == {"a": 5, "b": 6}
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    finishes = [c.finish_reason for ch in chunks for c in ch.choices if c.finish_reason]
    assert finishes == ["tool_calls"]


def test_stream_helper_accumulates_text(openai_client: openai.OpenAI) -> None:
    plain = openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "stream me"}]
    )
    with openai_client.chat.completions.stream(
        model="m", messages=[{"role": "user", "content": "stream me"}]
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == plain.choices[0].message.content


class Weather(BaseModel):
    city: str
    degrees: int
    tags: list[str]


def test_parse_structured_output(openai_client: openai.OpenAI) -> None:
    result = openai_client.chat.completions.parse(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Weather in Oslo is 12 degrees"}],
        response_format=Weather,
    )
    parsed = result.choices[0].message.parsed
    assert isinstance(parsed, Weather)
    assert parsed.city == "Oslo" and parsed.degrees == 12


def test_parse_with_strict_function_tool(openai_client: openai.OpenAI) -> None:
    class Add(BaseModel):
        a: int
        b: int

    result = openai_client.chat.completions.parse(
        model="m",
        messages=[{"role": "user", "content": "add 8 and 9"}],
        tools=[openai.pydantic_function_tool(Add)],
    )
    call = (result.choices[0].message.tool_calls or [])[0]
    assert call.function.parsed_arguments == Add(a=8, b=9)


def test_json_object_mode(openai_client: openai.OpenAI) -> None:
    result = openai_client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "json please"}],
        response_format={"type": "json_object"},
    )
    assert isinstance(json.loads(result.choices[0].message.content or ""), dict)


def test_reasoning_model_reports_reasoning_tokens(openai_client: openai.OpenAI) -> None:
    result = openai_client.chat.completions.create(
        model="o4-mini",
        messages=[{"role": "user", "content": "think hard"}],
        reasoning_effort="high",
    )
    assert result.usage is not None and result.usage.completion_tokens_details is not None
    assert (result.usage.completion_tokens_details.reasoning_tokens or 0) > 0


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": "hello"}, "messages"),
        ({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"model": 5, "messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 0}, "n"),
    ],
)
def test_bad_requests_are_400_in_openai_shape(
    openai_client: openai.OpenAI, kwargs: dict[str, object], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        openai_client.post("/chat/completions", body=kwargs, cast_to=object)
    assert info.value.status_code == 400
    body = info.value.body
    assert isinstance(body, dict) and body["param"] == param and body["type"] == "invalid_request_error"


def test_invalid_json_and_unknown_path(sim_server: SimServer) -> None:
    import httpx

    bad = httpx.post(
        sim_server.openai_base_url + "/chat/completions",
        content=b"{nope",
        headers={"content-type": "application/json"},
    )
    assert bad.status_code == 400 and "error" in bad.json()
    missing = httpx.get(sim_server.openai_base_url + "/no/such/thing")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "invalid_request_error"
    anth = httpx.get(sim_server.url + "/v1/nothing", headers={"anthropic-version": "2023-06-01"})
    assert anth.status_code == 404 and anth.json()["type"] == "error"


def test_models_list(openai_client: openai.OpenAI) -> None:
    ids = [m.id for m in openai_client.models.list()]
    assert "gpt-4o-mini" in ids
    assert openai_client.models.retrieve("gpt-4o").id == "gpt-4o"


async def test_async_client_concurrency(sim_server: SimServer) -> None:
    import asyncio

    client = openai.AsyncOpenAI(base_url=sim_server.openai_base_url, api_key="k", max_retries=0)
    async with client:
        results = await asyncio.gather(
            *[
                client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"q {i}"}])
                for i in range(20)
            ]
        )
    assert len({r.id for r in results}) == 20
