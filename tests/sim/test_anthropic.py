"""Anthropic Messages API through the real anthropic SDK over HTTP."""

from __future__ import annotations

import anthropic
import pytest

WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_text_message(anthropic_client: anthropic.Anthropic) -> None:
    message = anthropic_client.messages.create(
        model="claude-sim",
        max_tokens=200,
        system="Be brief.",
        messages=[{"role": "user", "content": "Hello"}],
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.stop_reason == "end_turn"
    assert message.content[0].type == "text" and message.content[0].text
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


def test_tool_use_round_trip(anthropic_client: anthropic.Anthropic) -> None:
    question = {"role": "user", "content": "What is the weather in Rome?"}
    first = anthropic_client.messages.create(
        model="claude-sim",
        max_tokens=200,
        tools=[WEATHER],
        messages=[question],  # type: ignore[list-item]
    )
    assert first.stop_reason == "tool_use"
    use = next(b for b in first.content if b.type == "tool_use")
    assert use.input == {"city": "Rome"} and use.id.startswith("toolu_")
    second = anthropic_client.messages.create(
        model="claude-sim",
        max_tokens=200,
        tools=[WEATHER],  # type: ignore[list-item]
        messages=[
            question,
            {"role": "assistant", "content": first.content},  # type: ignore[list-item]
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "rainy, 9C"}],
            },
        ],
    )
    assert second.stop_reason == "end_turn"
    assert "rainy" in second.content[0].text  # type: ignore[union-attr]


def test_tool_choice_none_and_any(anthropic_client: anthropic.Anthropic) -> None:
    msgs = [{"role": "user", "content": "Weather in Rome?"}]
    none = anthropic_client.messages.create(
        model="c",
        max_tokens=100,
        tools=[WEATHER],  # type: ignore[list-item]
        messages=msgs,
        tool_choice={"type": "none"},
    )  # type: ignore[arg-type]
    assert none.stop_reason == "end_turn"
    forced = anthropic_client.messages.create(
        model="c",
        max_tokens=100,
        tools=[WEATHER],
        messages=msgs,  # type: ignore[list-item,arg-type]
        tool_choice={"type": "tool", "name": "get_weather"},
    )
    assert forced.stop_reason == "tool_use"


def test_stream_accumulates(anthropic_client: anthropic.Anthropic) -> None:
    with anthropic_client.messages.stream(
        model="c",
        max_tokens=300,
        tools=[WEATHER],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "Weather in Lima?"}],
    ) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_message()
    assert events[0] == "message_start" and "content_block_delta" in events
    assert final.stop_reason == "tool_use"
    assert next(b for b in final.content if b.type == "tool_use").input == {"city": "Lima"}


def test_stream_text_equals_plain(anthropic_client: anthropic.Anthropic) -> None:
    kwargs = {"model": "c", "max_tokens": 300, "messages": [{"role": "user", "content": "Tell me something"}]}
    plain = anthropic_client.messages.create(**kwargs)  # type: ignore[arg-type]
    with anthropic_client.messages.stream(**kwargs) as stream:  # type: ignore[arg-type]
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == plain.content[0].text  # type: ignore[union-attr]
    assert final.usage.output_tokens == plain.usage.output_tokens


def test_thinking_max_tokens_and_stop_sequences(anthropic_client: anthropic.Anthropic) -> None:
    msgs = [{"role": "user", "content": "Explain tides"}]
    thought = anthropic_client.messages.create(
        model="c",
        max_tokens=2000,
        messages=msgs,  # type: ignore[arg-type]
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    assert thought.content[0].type == "thinking" and thought.content[0].signature
    cut = anthropic_client.messages.create(model="c", max_tokens=2, messages=msgs)  # type: ignore[arg-type]
    assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens == 2
    stopped = anthropic_client.messages.create(
        model="c",
        max_tokens=200,
        messages=msgs,
        stop_sequences=[":"],  # type: ignore[arg-type]
    )
    assert stopped.stop_reason == "stop_sequence" and stopped.stop_sequence == ":"


def test_count_tokens_and_models(anthropic_client: anthropic.Anthropic) -> None:
    counted = anthropic_client.messages.count_tokens(
        model="c", messages=[{"role": "user", "content": "count these words please"}]
    )
    assert counted.input_tokens > 0
    assert "claude-sim" in [m.id for m in anthropic_client.models.list()]


@pytest.mark.parametrize(
    "body",
    [
        {"model": "c", "messages": [{"role": "user", "content": "x"}]},
        {"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        {"model": "c", "max_tokens": 5, "messages": [{"role": "robot", "content": "x"}]},
        {"model": "c", "max_tokens": "many", "messages": [{"role": "user", "content": "x"}]},
    ],
)
def test_bad_requests_in_anthropic_shape(
    anthropic_client: anthropic.Anthropic, body: dict[str, object]
) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        anthropic_client.post("/v1/messages", body=body, cast_to=object)
    assert info.value.body["type"] == "error"  # type: ignore[index]
    assert info.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
