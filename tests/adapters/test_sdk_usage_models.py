"""Usage read from the SDKs' own pydantic models: fields, extras, properties and absent names."""

from __future__ import annotations

import anthropic.types
import openai.types
import pydantic

from aios.adapters._sdk_usage import read_usage, response_model, usage_of_payload
from aios.kernel.failures import Usage


def test_anthropic_usage_adds_its_cached_input_to_the_input() -> None:
    usage = anthropic.types.Usage(
        input_tokens=10, output_tokens=4, cache_creation_input_tokens=3, cache_read_input_tokens=2
    )
    assert read_usage(usage) == Usage(input_tokens=15, output_tokens=4)


def test_openai_usage_reads_prompt_and_completion_tokens() -> None:
    usage = openai.types.CompletionUsage(prompt_tokens=7, completion_tokens=5, total_tokens=12)
    assert read_usage(usage) == Usage(input_tokens=7, output_tokens=5)


def test_a_field_the_model_does_not_declare_is_read_from_its_extras() -> None:
    # A newer API adds fields an installed SDK does not know yet; its models keep them as extras.
    class Loose(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="allow")
        id: str

    assert read_usage(Loose(id="u", prompt_tokens=9, completion_tokens=3)) == Usage(9, 3)
    assert read_usage(Loose(id="u")) is None


def test_a_property_of_a_model_is_read_as_an_attribute() -> None:
    class Counted(pydantic.BaseModel):
        raw: int

        @property
        def output_tokens(self) -> int:
            return self.raw * 2

    assert read_usage(Counted(raw=4)) == Usage(input_tokens=None, output_tokens=8)


def test_a_result_model_gives_its_usage_and_model() -> None:
    message = anthropic.types.Message.model_validate(
        {
            "id": "m",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5",
            "content": [],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 6, "output_tokens": 1},
        }
    )
    assert usage_of_payload(message) == Usage(input_tokens=6, output_tokens=1)
    assert response_model(message) == "claude-haiku-4-5"
