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


@pytest.fixture(scope="module")
def limited() -> Iterator[SimServer]:
    # 60 requests/min at 10x simulated speed: the bucket refills 10 requests per real second.
    with SimServer("--rpm", "60", "--time-scale", "10") as server:
        yield server


def _burst(url: str, count: int, body: dict[str, object], key: str = "k") -> list[httpx.Response]:
    headers = {"authorization": f"Bearer {key}", "x-api-key": key, "anthropic-version": "2023-06-01"}
    with httpx.Client(timeout=10) as client:
        return [client.post(url, json=body, headers=headers) for _ in range(count)]


def test_openai_burst_gets_429_naming_the_bucket(limited: SimServer) -> None:
    limited.reset()
    responses = _burst(limited.openai_base_url + "/chat/completions", 80, CHAT)
    ok = [r for r in responses if r.status_code == 200]
    denied = [r for r in responses if r.status_code == 429]
    assert denied, "a burst beyond the bucket must be refused"
    # Full bucket (60) plus whatever refilled during the burst, never more.
    assert 60 <= len(ok) < 80
    assert ok[0].headers["x-ratelimit-limit-requests"] == "60"
    assert int(ok[1].headers["x-ratelimit-remaining-requests"]) < int(
        ok[0].headers["x-ratelimit-remaining-requests"]
    )
    reset = ok[-1].headers["x-ratelimit-reset-requests"]
    assert reset.endswith(("ms", "s"))
    body = denied[0].json()["error"]
    assert body["type"] == "requests" and body["code"] == "rate_limit_exceeded"
    assert "try again in" in body["message"]
    assert 0 < int(denied[0].headers["retry-after-ms"]) <= 1000
    assert denied[0].headers["x-ratelimit-remaining-requests"] == "0"


def test_admissions_never_exceed_the_limit_over_a_window(limited: SimServer) -> None:
    limited.reset()
    start = time.monotonic()
    _burst(limited.openai_base_url + "/chat/completions", 60, CHAT)  # drain
    admitted_before = limited.stats()["admitted"]
    deadline = start + 1.5
    while time.monotonic() < deadline:
        _burst(limited.openai_base_url + "/chat/completions", 5, CHAT)
    elapsed = time.monotonic() - start
    admitted = limited.stats()["admitted"]
    # capacity + refill over the window (10 requests per real second), plus rounding.
    assert admitted <= 60 + 10 * elapsed + 1
    assert admitted - admitted_before >= 10 * (elapsed - 0.6)  # the refill really happens


def test_openai_sdk_honours_retry_after() -> None:
    # 30 requests/min in real time: one request refills every 2 s.
    with SimServer("--rpm", "30") as server:
        strict = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
        patient = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=3)
        with pytest.raises(openai.RateLimitError) as info:
            for _ in range(40):
                strict.chat.completions.create(**CHAT)  # type: ignore[call-overload]
        wait_ms = float(info.value.response.headers["retry-after-ms"])
        assert 0 < wait_ms <= 2000
        before = server.stats()["rate_limited"]
        started = time.monotonic()
        result = patient.chat.completions.create(**CHAT)  # type: ignore[call-overload]
        waited = time.monotonic() - started
        assert result.choices[0].message.content
        assert server.stats()["rate_limited"] > before  # it was refused first ...
        assert waited < 4.5  # ... waited about retry-after-ms (<= 2 s), then succeeded
        strict.close()
        patient.close()


def test_keys_have_separate_buckets(limited: SimServer) -> None:
    limited.reset()
    _burst(limited.openai_base_url + "/chat/completions", 70, CHAT, key="a")
    assert _burst(limited.openai_base_url + "/chat/completions", 1, CHAT, key="b")[0].status_code == 200


def test_anthropic_rate_limit_headers_and_error(limited: SimServer) -> None:
    limited.reset()
    responses = _burst(limited.url + "/v1/messages", 75, MSG)
    ok = responses[0]
    assert ok.status_code == 200
    assert ok.headers["anthropic-ratelimit-requests-limit"] == "60"
    datetime.fromisoformat(ok.headers["anthropic-ratelimit-requests-reset"].replace("Z", "+00:00"))
    denied = next(r for r in responses if r.status_code == 429)
    assert denied.json()["error"]["type"] == "rate_limit_error"
    assert int(denied.headers["retry-after"]) >= 1
    client = anthropic.Anthropic(base_url=limited.url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.RateLimitError):
        for _ in range(40):
            client.messages.create(**MSG)  # type: ignore[arg-type]
    client.close()


def test_openai_token_bucket_charges_max_tokens() -> None:
    with SimServer("--tpm", "1000") as server:
        body = {**CHAT, "max_tokens": 600}
        first, second = _burst(server.openai_base_url + "/chat/completions", 2, body)
        assert first.status_code == 200 and second.status_code == 429
        assert second.json()["error"]["type"] == "tokens"
        assert int(first.headers["x-ratelimit-remaining-tokens"]) < 400
        huge = _burst(server.openai_base_url + "/chat/completions", 1, {**CHAT, "max_tokens": 5000})
        assert huge[0].status_code == 429 and huge[0].headers["x-should-retry"] == "false"


def test_spend_limits_are_not_retried() -> None:
    with SimServer("--budget-tokens", "50") as server:
        oa = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=2)
        an = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=2)
        oa.chat.completions.create(**CHAT)  # type: ignore[call-overload]
        an.messages.create(**MSG)  # type: ignore[arg-type]
        for _ in range(3):
            _burst(server.openai_base_url + "/chat/completions", 1, CHAT)
            _burst(server.url + "/v1/messages", 1, MSG)
        server.reset()
        server_budget_spent = True
        assert server_budget_spent
        # after reset the budget is refilled: spend it again, then check non-retry
        for _ in range(4):
            _burst(server.openai_base_url + "/chat/completions", 1, CHAT)
            _burst(server.url + "/v1/messages", 1, MSG)
        before = server.stats()["requests"]
        with pytest.raises(openai.RateLimitError) as oa_err:
            oa.chat.completions.create(**CHAT)  # type: ignore[call-overload]
        assert oa_err.value.code == "insufficient_quota"
        with pytest.raises(anthropic.RateLimitError) as an_err:
            an.messages.create(**MSG)  # type: ignore[arg-type]
        assert an_err.value.response.headers.get("retry-after") is None
        assert server.stats()["requests"] == before + 2  # no retries
        oa.close()
        an.close()


def test_injected_500_and_529() -> None:
    with SimServer("--faults", "500=1") as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
        client.close()
    with SimServer("--faults", "529=1") as server:
        client = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0)
        with pytest.raises(anthropic.InternalServerError) as info:
            client.messages.create(**MSG)  # type: ignore[arg-type]
        assert info.value.status_code == 529
        assert info.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
        client.close()


def test_fault_429_is_retryable_and_sdk_recovers() -> None:
    # Seeded: the same seed gives the same fault sequence, so the outcome is stable.
    with SimServer("--faults", "429=0.5", "--seed", "3") as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=5)
        for _ in range(4):
            assert client.chat.completions.create(**CHAT).choices  # type: ignore[call-overload]
        stats = server.stats()
        client.close()
    assert stats["faults"].get("429", 0) >= 1
    assert stats["by_status"]["200"] == 4


def test_mid_stream_faults() -> None:
    with SimServer("--faults", "stream_error=1") as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
        stream = client.chat.completions.create(**CHAT, stream=True)  # type: ignore[call-overload]
        with pytest.raises(openai.APIError):
            list(stream)
        client.close()
        an = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as info:
            list(an.messages.create(**MSG, stream=True))  # type: ignore[arg-type]
        assert "overloaded_error" in str(info.value)
        an.close()
    with SimServer("--faults", "disconnect=1") as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
        stream = client.chat.completions.create(**CHAT, stream=True)  # type: ignore[call-overload]
        with pytest.raises((openai.APIConnectionError, httpx.HTTPError, Exception)) as info:
            list(stream)
        assert (
            "stream" in str(info.value).lower()
            or "incomplete" in str(info.value).lower()
            or ("connection" in str(info.value).lower())
        )
        client.close()


def test_stall_trips_client_timeout() -> None:
    with SimServer("--faults", "stall=1,stall_seconds=5") as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0, timeout=0.3)
        with pytest.raises(openai.APITimeoutError):
            client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
        client.close()
