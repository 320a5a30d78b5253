"""Tokenizer, schema filling and header formats."""

from __future__ import annotations

import jsonschema
import pytest
from pydantic import BaseModel, Field

from aios.sim.ratelimit import go_duration
from aios.sim.schema_fill import fill
from aios.sim.tokens import count_tokens, split_tokens, truncate_tokens


@pytest.mark.parametrize(
    "text", ["", "Hello, world!", "  spaced\n\nout\ttabs ", "día 123456 ✓", '{"a": [1, 2.5, "x"]}']
)
def test_pieces_rebuild_text(text: str) -> None:
    assert "".join(split_tokens(text)) == text
    assert count_tokens(text) == len(split_tokens(text))


def test_token_count_is_plausible() -> None:
    prose = "The quick brown fox jumps over the lazy dog near the riverbank every morning."
    words = len(prose.split())
    assert words <= count_tokens(prose) <= 2 * words
    assert truncate_tokens(prose, 3) == "The quick brown"


class Address(BaseModel):
    city: str
    zip_code: str = Field(min_length=5, max_length=5)


class Order(BaseModel):
    item: str
    quantity: int = Field(ge=1, le=10)
    price: float
    express: bool
    tags: list[str] = Field(min_length=2)
    address: Address
    note: str | None = None
    kind: str = Field(json_schema_extra={"enum": ["a", "b"]})


def test_fill_satisfies_pydantic_schema() -> None:
    schema = Order.model_json_schema()
    value = fill(schema, "Ship 3 lamps to Berlin for 19.99 quickly")
    jsonschema.validate(value, schema)
    order = Order.model_validate(value)
    assert order.quantity == 3 and order.price == 19.99


def test_fill_handles_refs_any_of_const_and_formats() -> None:
    schema = {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "mode": {"const": "fast"},
            "choice": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 100}]},
            "ref": {"$ref": "#/$defs/Thing"},
            "items": {"type": "array", "items": {"type": "number"}, "minItems": 3},
        },
        "$defs": {"Thing": {"type": "object", "properties": {"ok": {"type": "boolean"}}}},
    }
    value = fill(schema, "7 things")
    jsonschema.validate(value, schema)
    assert value["choice"] >= 100 and len(value["items"]) == 3 and value["mode"] == "fast"


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.012, "12ms"), (1.0, "1s"), (1.5, "1.5s"), (360, "6m0s"), (90.25, "1m30.25s")]
)
def test_openai_reset_durations(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_fill_picks_an_argument_value_the_tool_description_lists() -> None:
    # crewai's delegation tool names its coworkers only in the description.
    description = (
        "Delegate a specific task to one of the following coworkers: Analyst, Editor\n"
        "The input to this tool should be the coworker, the task you want them to do."
    )
    schema = {
        "type": "object",
        "properties": {"task": {"type": "string"}, "coworker": {"type": "string"}},
        "required": ["task", "coworker"],
    }
    args = fill(schema, "Write a short report about Paris", description)
    assert args["coworker"] == "Analyst"
    assert fill(schema, "Write a short report about Paris")["coworker"] not in ("Analyst", "Editor")
