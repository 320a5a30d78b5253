"""Rate limits, spend limits and injected faults, seen through the official SDKs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import anthropic
import httpx
import openai
import pytest

from aios.sim import SimServer

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}
MSG = {"model": "claude-sim", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def sim(sim_server: SimServer) -> Iterator[SimServer]:
    """The session sim, reconfigured per test (starting processes is the slow part) and put
    back to its session settings afterwards."""
    yield sim_server
    setup(sim_server, seed=7)


def setup(server: SimServer, **changes: object) -> SimServer:
    """Defaults plus ``changes``; configuring also resets counters and buckets."""
    defaults: dict[str, object] = {
        "rpm": None,
        "tpm": None,
        "input_tpm": None,
        "output_tpm": None,
        "budget_tokens": None,
        "faults": "",
        "time_scale": 1.0,
        "seed": 0,
    }
    server.configure(**{**defaults, **changes})
    return server


@pytest.fixture
def limited(sim: SimServer) -> SimServer:
    # 20 requests/min in real time: a burst of 30 outruns the one-per-3-seconds refill even on
    # a slow, loaded machine.
    return setup(sim, rpm=20)


def _burst(url: str, count: int, body: dict[str, object], key: str = "k") -> list[httpx.Response]:
    headers = {"authorization": f"Bearer {key}", "x-api-key": key, "anthropic-version": "2023-06-01"}
    with httpx.Client(timeout=10) as client:
        return [client.post(url, json=body, headers=headers) for _ in range(count)]


def test_openai_burst_gets_429_naming_the_bucket(limited: SimServer) -> None:
    responses = _burst(limited.openai_base_url + "/chat/completions", 30, CHAT)
    ok = [r for r in responses if r.status_code == 200]
    denied = [r for r in responses if r.status_code == 429]
    assert denied, "a burst beyond the bucket must be refused"
    # Full bucket (60) plus whatever refilled during the burst, never more.
    assert 20 <= len(ok) < 30
    assert ok[0].headers["x-ratelimit-limit-requests"] == "20"
    assert int(ok[1].headers["x-ratelimit-remaining-requests"]) < int(
        ok[0].headers["x-ratelimit-remaining-requests"]
    )
    reset = ok[-1].headers["x-ratelimit-reset-requests"]
    assert reset.endswith(("ms", "s"))
    body = denied[0].json()["error"]
    assert body["type"] == "requests" and body["code"] == "rate_limit_exceeded"
    assert "try again in" in body["message"]
    assert 0 < int(denied[0].headers["retry-after-ms"]) <= 3000
    assert denied[0].headers["x-ratelimit-remaining-requests"] == "0"


def test_admissions_never_exceed_the_limit_over_a_window(sim: SimServer) -> None:
    # 12/min at 50x simulated speed: the bucket holds 12 and refills 10 per real second.
    limited = setup(sim, rpm=12, time_scale=50)
    start = time.monotonic()
    _burst(limited.openai_base_url + "/chat/completions", 12, CHAT)  # drain
    admitted_before = limited.stats()["admitted"]
    window_start = time.monotonic()
    while time.monotonic() < window_start + 1.5:
        _burst(limited.openai_base_url + "/chat/completions", 5, CHAT)
    window = time.monotonic() - window_start
    elapsed = time.monotonic() - start
    admitted = limited.stats()["admitted"]
    # capacity + refill over the whole run (10 requests per real second), plus rounding.
    assert admitted <= 12 + 10 * elapsed + 1
    assert admitted - admitted_before >= 10 * (window - 0.6)  # the refill really happens


def test_openai_sdk_honours_retry_after(sim: SimServer) -> None:
    # 10/min at 6x simulated speed: holds 10, one request refills every real second.
    server = setup(sim, rpm=10, time_scale=6)
    strict = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
    patient = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=3)
    with pytest.raises(openai.RateLimitError) as info:
        for _ in range(100):
            strict.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    wait_ms = float(info.value.response.headers["retry-after-ms"])
    assert 0 < wait_ms <= 1000
    before = server.stats()["rate_limited"]
    started = time.monotonic()
    result = patient.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    waited = time.monotonic() - started
    assert result.choices[0].message.content
    assert server.stats()["rate_limited"] > before  # it was refused first ...
    assert waited < 3  # ... waited about retry-after-ms (<= 1 s), then succeeded
    strict.close()
    patient.close()


def test_keys_have_separate_buckets(limited: SimServer) -> None:
    _burst(limited.openai_base_url + "/chat/completions", 25, CHAT, key="a")
    other = _burst(limited.openai_base_url + "/chat/completions", 1, CHAT, key="b")
    assert other[0].status_code == 200


def test_anthropic_rate_limit_headers_and_error(limited: SimServer) -> None:
    responses = _burst(limited.url + "/v1/messages", 30, MSG)
    ok = responses[0]
    assert ok.status_code == 200
    assert ok.headers["anthropic-ratelimit-requests-limit"] == "20"
    datetime.fromisoformat(ok.headers["anthropic-ratelimit-requests-reset"].replace("Z", "+00:00"))
    denied = next(r for r in responses if r.status_code == 429)
    assert denied.json()["error"]["type"] == "rate_limit_error"
    assert int(denied.headers["retry-after"]) >= 1
    client = anthropic.Anthropic(base_url=limited.url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.RateLimitError):
        for _ in range(100):
            client.messages.create(**MSG)  # type: ignore[arg-type]
    client.close()


def test_anthropic_input_and_output_buckets(sim: SimServer) -> None:
    server = setup(sim, input_tpm=100_000, output_tpm=25)
    first, second = _burst(server.url + "/v1/messages", 2, {**MSG, "max_tokens": 20})
    assert first.status_code == 200
    # max_tokens is reserved at admission, the unused part refunded afterwards.
    used = first.json()["usage"]["output_tokens"]
    assert second.status_code == (200 if used <= 5 else 429)
    assert "anthropic-ratelimit-output-tokens-remaining" in first.headers
    assert "anthropic-ratelimit-input-tokens-limit" in first.headers
    setup(sim, input_tpm=None, output_tpm=None)


def test_openai_token_bucket_charges_max_tokens(sim: SimServer) -> None:
    server = setup(sim, tpm=1000)
    body = {**CHAT, "max_tokens": 600}
    first, second = _burst(server.openai_base_url + "/chat/completions", 2, body)
    assert first.status_code == 200 and second.status_code == 429
    assert second.json()["error"]["type"] == "tokens"
    assert int(first.headers["x-ratelimit-remaining-tokens"]) < 400
    huge = _burst(server.openai_base_url + "/chat/completions", 1, {**CHAT, "max_tokens": 5000})
    assert huge[0].status_code == 429 and huge[0].headers["x-should-retry"] == "false"


def test_spend_limits_are_not_retried(sim: SimServer) -> None:
    server = setup(sim, budget_tokens=50)
    oa = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=2)
    an = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=2)
    for _ in range(4):  # spend the budget (about 15 tokens a request)
        _burst(server.openai_base_url + "/chat/completions", 1, CHAT)
    before = server.stats()["requests"]
    with pytest.raises(openai.RateLimitError) as oa_err:
        oa.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    assert oa_err.value.code == "insufficient_quota"
    with pytest.raises(anthropic.RateLimitError) as an_err:
        an.messages.create(**MSG)  # type: ignore[arg-type]
    assert an_err.value.response.headers.get("retry-after") is None
    assert server.stats()["requests"] == before + 2  # neither SDK retried
    oa.close()
    an.close()


def test_injected_500_and_529(sim: SimServer) -> None:
    server = setup(sim, faults="500=1")
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    client.close()
    server = setup(sim, faults="529=1")
    an = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0)
    # anthropic's own class for 529 where the SDK has one, else its 5xx base class.
    overloaded = getattr(anthropic, "OverloadedError", anthropic.InternalServerError)
    with pytest.raises(overloaded) as info:
        an.messages.create(**MSG)  # type: ignore[arg-type]
    assert info.value.status_code == 529
    assert info.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    an.close()


def test_fault_429_is_retryable_and_sdk_recovers(sim: SimServer) -> None:
    # Seeded: the same seed gives the same fault sequence, so the outcome is stable.
    server = setup(sim, faults="429=0.5", seed=3)
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=5)
    for _ in range(4):
        assert client.chat.completions.create(**CHAT).choices  # type: ignore[call-overload]
    stats = server.stats()
    client.close()
    assert stats["faults"].get("429", 0) >= 1
    assert stats["by_status"]["200"] == 4


def test_mid_stream_error_after_200(sim: SimServer) -> None:
    server = setup(sim, faults="stream_error=1")
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
    stream = client.chat.completions.create(**CHAT, stream=True)  # type: ignore[call-overload]
    assert stream.response.status_code == 200
    with pytest.raises(openai.APIError):
        list(stream)
    client.close()
    an = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as info:
        list(an.messages.create(**MSG, stream=True))  # type: ignore[arg-type]
    assert "overloaded_error" in str(info.value)
    an.close()


def test_mid_stream_disconnect(sim: SimServer) -> None:
    server = setup(sim, faults="disconnect=1")
    with (
        httpx.Client() as client,
        client.stream(
            "POST", server.openai_base_url + "/chat/completions", json={**CHAT, "stream": True}
        ) as response,
    ):
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            for _ in response.iter_bytes():
                pass
    assert server.stats()["faults"]["disconnect"] == 1


def test_stall_trips_client_timeout(sim: SimServer) -> None:
    server = setup(sim, faults="stall=1,stall_seconds=1")
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    client.close()
