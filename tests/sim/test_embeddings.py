"""``POST /v1/embeddings`` through the official SDK, and its limits and accounting in process."""

from __future__ import annotations

import base64
import math
import struct

import openai
import pytest

from aios.sim import SimConfig, SimProvider, SimServer

H = {"authorization": "Bearer k"}


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_sdk_gets_normalised_deterministic_vectors(openai_client: openai.OpenAI) -> None:
    # The SDK asks for base64 unless told otherwise and decodes it back to floats.
    one = openai_client.embeddings.create(model="text-embedding-3-small", input="tides and the moon")
    two = openai_client.embeddings.create(model="text-embedding-3-small", input=["tides and the moon"])
    vector = one.data[0].embedding
    assert len(vector) == 1536
    assert math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0, rel_tol=1e-5)
    assert two.data[0].embedding == vector
    assert one.usage.prompt_tokens == one.usage.total_tokens > 0
    assert one.model == "text-embedding-3-small" and one.object == "list"


def test_float_base64_dimensions_and_batches(openai_client: openai.OpenAI) -> None:
    texts = ["first text", "second text", "third text"]
    floats = openai_client.embeddings.create(
        model="text-embedding-3-large", input=texts, encoding_format="float", dimensions=64
    )
    assert [d.index for d in floats.data] == [0, 1, 2]
    assert all(len(d.embedding) == 64 for d in floats.data)
    raw = openai_client.embeddings.with_raw_response.create(
        model="text-embedding-3-large", input=texts, encoding_format="base64", dimensions=64
    ).http_response.json()
    decoded = list(struct.unpack("<64f", base64.b64decode(raw["data"][1]["embedding"])))
    assert [round(v, 5) for v in decoded] == [round(v, 5) for v in floats.data[1].embedding]
    assert (
        len(openai_client.embeddings.create(model="text-embedding-3-large", input="x").data[0].embedding)
        == 3072
    )


def test_similar_texts_are_nearer_than_unrelated_ones(openai_client: openai.OpenAI) -> None:
    docs = [
        "Tides are caused by the gravitational pull of the moon on the oceans.",
        "Volcanoes erupt when magma rises to the surface.",
        "The stock market is where shares are bought and sold.",
    ]
    vectors = [d.embedding for d in openai_client.embeddings.create(model="e", input=docs).data]
    for question, expected in (
        ("What causes ocean tides?", 0),
        ("Why do volcanoes erupt?", 1),
        ("Where are shares sold?", 2),
    ):
        query = openai_client.embeddings.create(model="e", input=question).data[0].embedding
        scores = [cosine(query, v) for v in vectors]
        assert scores.index(max(scores)) == expected, (question, scores)


def test_token_id_inputs_are_accepted(openai_client: openai.OpenAI) -> None:
    result = openai_client.embeddings.create(model="e", input=[[1, 2, 3], [4, 5]], encoding_format="float")
    assert len(result.data) == 2 and result.usage.prompt_tokens == 5


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "e", "input": ""}, "input"),
        ({"model": "e", "input": []}, "input"),
        ({"model": "e", "input": [{"x": 1}]}, "input"),
        ({"model": "e"}, "input"),
        ({"input": "x"}, "model"),
        ({"model": "e", "input": "x", "dimensions": 0}, "dimensions"),
        ({"model": "e", "input": "x", "dimensions": 5000}, "dimensions"),
        ({"model": "text-embedding-ada-002", "input": "x", "dimensions": 8}, "dimensions"),
        ({"model": "e", "input": "x", "encoding_format": "int8"}, "encoding_format"),
    ],
)
async def test_bad_requests_name_the_parameter(body: dict[str, object], param: str) -> None:
    result = await SimProvider().handle("POST", "/v1/embeddings", body, H)
    assert result.status == 400 and result.json is not None
    assert result.json["error"]["param"] == param and result.json["error"]["message"]


async def test_rate_limited_and_counted_like_other_endpoints() -> None:
    sim = SimProvider(SimConfig(rpm=2))
    body = {"model": "e", "input": ["one two three", "four"]}
    first = await sim.handle("POST", "/v1/embeddings", body, H)
    assert first.status == 200 and first.headers["x-ratelimit-remaining-requests"] == "1"
    await sim.handle(
        "POST", "/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "hi"}]}, H
    )
    limited = await sim.handle("POST", "/v1/embeddings", body, H)
    assert limited.status == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json is not None and limited.json["error"]["type"] == "requests"
    stats = sim.stats()
    assert stats["by_endpoint"]["POST /v1/embeddings"] == 2
    assert stats["rate_limited"] == 1
    assert first.json is not None
    assert stats["input_tokens"] >= first.json["usage"]["prompt_tokens"] > 0


async def test_budget_and_faults_apply() -> None:
    body = {"model": "e", "input": "a few words to embed here"}
    spent = SimProvider(SimConfig(budget_tokens=1))
    assert (await spent.handle("POST", "/v1/embeddings", body, H)).status == 200
    over = await spent.handle("POST", "/v1/embeddings", body, H)
    assert over.status == 429 and over.headers["x-should-retry"] == "false"
    failing = SimProvider(SimConfig.model_validate({"faults": {"500": 1.0}}))
    assert (await failing.handle("POST", "/v1/embeddings", body, H)).status == 500


def test_stats_over_http(sim_server: SimServer, openai_client: openai.OpenAI) -> None:
    sim_server.reset()
    openai_client.embeddings.create(model="e", input="hello world")
    assert sim_server.stats()["by_endpoint"] == {"POST /v1/embeddings": 1}
