"""Responses and Conversations APIs through the real openai SDK over HTTP."""

from __future__ import annotations

import json

import openai
import pytest
from pydantic import BaseModel

ADD = {
    "type": "function",
    "name": "add",
    "description": "Add two integers.",
    "parameters": {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
    "strict": True,
}


def test_text_response(openai_client: openai.OpenAI) -> None:
    response = openai_client.responses.create(model="gpt-4o", input="Hello there")
    assert response.status == "completed"
    assert response.output_text
    assert response.usage is not None and response.usage.input_tokens > 0
    assert response.id.startswith("resp_")


def test_function_call_round_trip(openai_client: openai.OpenAI) -> None:
    first = openai_client.responses.create(model="m", input="add 2 and 40", tools=[ADD])  # type: ignore[list-item]
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and json.loads(calls[0].arguments) == {"a": 2, "b": 40}
    second = openai_client.responses.create(
        model="m",
        previous_response_id=first.id,
        tools=[ADD],  # type: ignore[list-item]
        input=[{"type": "function_call_output", "call_id": calls[0].call_id, "output": "42"}],
    )
    assert second.previous_response_id == first.id
    assert "42" in second.output_text
    assert not [i for i in second.output if i.type == "function_call"]


def test_unknown_previous_response_is_400(openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        openai_client.responses.create(model="m", input="x", previous_response_id="resp_nope")
    assert info.value.param == "previous_response_id"


def test_stream_events_and_final_response(openai_client: openai.OpenAI) -> None:
    events = list(
        openai_client.responses.create(
            model="m",
            input="add 1 and 1",
            tools=[ADD],
            stream=True,  # type: ignore[list-item]
        )
    )
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.function_call_arguments.delta" in kinds
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response  # type: ignore[union-attr]
    assert final.output[0].type == "function_call"


def test_stream_helper_text(openai_client: openai.OpenAI) -> None:
    with openai_client.responses.stream(model="m", input="tell me a story") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text != ""


def test_reasoning_summary(openai_client: openai.OpenAI) -> None:
    response = openai_client.responses.create(
        model="o4-mini", input="why is the sky blue", reasoning={"effort": "low", "summary": "auto"}
    )
    reasoning = [i for i in response.output if i.type == "reasoning"]
    assert reasoning and reasoning[0].summary and reasoning[0].summary[0].text
    assert response.usage is not None
    assert response.usage.output_tokens_details.reasoning_tokens > 0
    events = list(
        openai_client.responses.create(
            model="o4-mini", input="why", reasoning={"summary": "auto"}, stream=True
        )
    )
    assert "response.reasoning_summary_text.delta" in [e.type for e in events]


def test_max_output_tokens_is_incomplete(openai_client: openai.OpenAI) -> None:
    response = openai_client.responses.create(model="m", input="write", max_output_tokens=16)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage is not None and response.usage.output_tokens == 16


class Person(BaseModel):
    name: str
    age: int


def test_responses_parse(openai_client: openai.OpenAI) -> None:
    response = openai_client.responses.parse(
        model="gpt-4o", input="Describe Alice who is 31", text_format=Person
    )
    assert response.output_parsed == Person(name="Alice", age=31)


def test_conversations_api(openai_client: openai.OpenAI) -> None:
    conv = openai_client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "remember Zurich"}]
    )
    response = openai_client.responses.create(model="m", input="and now?", conversation=conv.id)
    assert response.conversation is not None and response.conversation.id == conv.id
    items = list(openai_client.conversations.items.list(conv.id, order="asc"))
    assert [i.type for i in items] == ["message", "message", "message"]
    assert items[-1].role == "assistant"  # type: ignore[union-attr]
    added = openai_client.conversations.items.create(
        conv.id, items=[{"type": "message", "role": "user", "content": "more"}]
    )
    item_id = added.data[0].id
    assert openai_client.conversations.items.retrieve(item_id, conversation_id=conv.id).id == item_id
    openai_client.conversations.items.delete(item_id, conversation_id=conv.id)
    assert len(list(openai_client.conversations.items.list(conv.id))) == 3
    assert openai_client.conversations.delete(conv.id).deleted
    with pytest.raises(openai.NotFoundError):
        openai_client.conversations.retrieve(conv.id)


def test_retrieve_and_delete_response(openai_client: openai.OpenAI) -> None:
    response = openai_client.responses.create(model="m", input="keep me")
    assert openai_client.responses.retrieve(response.id).output_text == response.output_text
    openai_client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.retrieve(response.id)


def test_bad_responses_request(openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        openai_client.post("/responses", body={"input": "no model"}, cast_to=object)
    with pytest.raises(openai.BadRequestError):
        openai_client.post("/responses", body={"model": "m", "input": 12}, cast_to=object)
