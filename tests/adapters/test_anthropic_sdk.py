"""The anthropic SDK adapter: real clients over real HTTP to a sim, every path through the kernel."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

anthropic = pytest.importorskip("anthropic")

import aios  # noqa: E402
from aios.adapters.plugins import plugins  # noqa: E402
from aios.kernel import Kernel  # noqa: E402
from aios.sim.process import SimServer  # noqa: E402
from tests.adapters.conftest import assert_usage_matches_sim, core_in_use, llm_records  # noqa: E402

MODEL = "claude-haiku-4-5"
MESSAGES = [{"role": "user", "content": "Say something short."}]
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def patched(kernel: Kernel) -> Iterator[Kernel]:
    aios.patch("anthropic")
    try:
        yield kernel
    finally:
        aios.unpatch("anthropic")


@pytest.fixture
def client(sim: SimServer) -> Iterator[Any]:
    c = anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key="sim-key")
    yield c
    c.close()


@pytest.fixture
def aclient(sim: SimServer) -> Any:
    return anthropic.AsyncAnthropic(base_url=sim.anthropic_base_url, api_key="sim-key")


def test_create_sync(patched: Kernel, sim: SimServer, client: Any) -> None:
    out = client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert isinstance(out, anthropic.types.Message)
    [rec] = llm_records(patched)
    assert (rec["status"], rec["framework"], rec["model"]) == ("done", "anthropic", MODEL)
    assert rec["core"].startswith("anthropic@")
    assert (rec["input_tokens"], rec["output_tokens"]) == (out.usage.input_tokens, out.usage.output_tokens)
    assert_usage_matches_sim(patched, sim)


async def test_create_async(patched: Kernel, sim: SimServer, aclient: Any) -> None:
    out = await aclient.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert isinstance(out, anthropic.types.Message)
    assert [r["status"] for r in llm_records(patched)] == ["done"]
    assert_usage_matches_sim(patched, sim)


def test_tool_use_then_answer(patched: Kernel, sim: SimServer, client: Any) -> None:
    first = client.messages.create(model=MODEL, max_tokens=128, messages=MESSAGES, tools=[WEATHER_TOOL])
    [use] = [b for b in first.content if b.type == "tool_use"]
    follow = [
        *MESSAGES,
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]},
    ]
    second = client.messages.create(model=MODEL, max_tokens=128, messages=follow, tools=[WEATHER_TOOL])
    assert second.stop_reason == "end_turn"
    assert_usage_matches_sim(patched, sim)


def test_beta_messages_and_raw_response(patched: Kernel, sim: SimServer, client: Any) -> None:
    beta = client.beta.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert beta.usage.output_tokens > 0
    raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert isinstance(raw.parse(), anthropic.types.Message)
    assert [r["status"] for r in llm_records(patched)] == ["done", "done"]
    assert_usage_matches_sim(patched, sim)


def test_stream_helper_holds_the_slot(patched: Kernel, sim: SimServer, client: Any) -> None:
    with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
        assert core_in_use(patched) == 1 and llm_records(patched) == []
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text
    assert core_in_use(patched) == 0
    [rec] = llm_records(patched)
    assert rec["status"] == "done"
    assert rec["input_tokens"] == final.usage.input_tokens
    assert rec["output_tokens"] == final.usage.output_tokens
    assert_usage_matches_sim(patched, sim)


async def test_async_stream_helper(patched: Kernel, sim: SimServer, aclient: Any) -> None:
    async with aclient.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
        assert core_in_use(patched) == 1
        final = await stream.get_final_message()
    assert final.usage.output_tokens > 0
    assert core_in_use(patched) == 0
    assert [r["status"] for r in llm_records(patched)] == ["done"]
    assert_usage_matches_sim(patched, sim)


def test_raw_stream_events_and_early_close(patched: Kernel, sim: SimServer, client: Any) -> None:
    stream = client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, stream=True)
    events = [e.type for e in stream]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    unread = client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, stream=True)
    unread.close()
    assert core_in_use(patched) == 0
    assert [r["status"] for r in llm_records(patched)] == ["done", "cancelled"]


# -- concurrency, retries, quota --------------------------------------------------------------------
async def _eight_concurrent_calls(sim: SimServer) -> None:
    client = anthropic.AsyncAnthropic(base_url=sim.anthropic_base_url, api_key="sim-key")
    await asyncio.gather(
        *(client.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES) for _ in range(8))
    )
    await client.close()


async def test_max_concurrency_one_serialises_concurrent_calls(
    boot: Callable[..., Kernel], slow_sim: SimServer
) -> None:
    await _eight_concurrent_calls(slow_sim)
    assert slow_sim.stats()["max_in_flight"] > 1
    slow_sim.reset()
    k = boot(max_concurrency=1)
    aios.patch("anthropic")
    try:
        await _eight_concurrent_calls(slow_sim)
    finally:
        aios.unpatch("anthropic")
    assert slow_sim.stats()["max_in_flight"] == 1
    assert slow_sim.stats()["requests"] == len(llm_records(k)) == 8


@pytest.fixture(scope="module")
def flaky_sim() -> Iterator[SimServer]:
    """Seed 1 draws 0.13 then 0.85: after each reset the first call gets a 429, the next succeeds."""
    with SimServer("--profile", "instant", "--faults", "429=0.5", "--seed", "1") as server:
        yield server


def test_429_is_retried_once_by_the_kernel_not_the_sdk(patched: Kernel, flaky_sim: SimServer) -> None:
    flaky_sim.reset()
    client = anthropic.Anthropic(base_url=flaky_sim.anthropic_base_url, api_key="sim-key", max_retries=5)
    out = client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert isinstance(out, anthropic.types.Message)
    stats = flaky_sim.stats()
    assert stats["requests"] == 2 and stats["rate_limited"] == 1
    assert [(r["status"], r["retries"]) for r in llm_records(patched)] == [("done", 1)]


def test_sdk_retries_are_off_for_gated_calls(boot: Callable[..., Kernel], flaky_sim: SimServer) -> None:
    flaky_sim.reset()
    boot(retry={"max_retries": 0})
    aios.patch("anthropic")
    try:
        client = anthropic.Anthropic(base_url=flaky_sim.anthropic_base_url, api_key="sim-key", max_retries=5)
        with pytest.raises(anthropic.RateLimitError):
            client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    finally:
        aios.unpatch("anthropic")
    assert flaky_sim.stats()["requests"] == 1


def test_spend_limit_raises_at_once(patched: Kernel) -> None:
    with SimServer("--profile", "instant", "--budget-tokens", "1") as broke:
        client = anthropic.Anthropic(base_url=broke.anthropic_base_url, api_key="sim-key")
        client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
        started = time.monotonic()
        with pytest.raises(anthropic.RateLimitError):
            client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
        assert time.monotonic() - started < 1.0
        assert broke.stats()["requests"] == 2
    assert [(r["status"], r["retries"]) for r in llm_records(patched)] == [("done", 0), ("failed", 0)]


def test_classifier_reads_overloaded_and_spend_limit() -> None:
    from anthropic import _base_client

    http = getattr(_base_client, "httpx2", None) or _base_client.httpx
    adapter = plugins().adapters["anthropic"]
    request = http.Request("POST", "http://127.0.0.1/v1/messages")

    def error(status: int, headers: dict[str, str], kind: str) -> Any:
        response = http.Response(status, headers=headers, request=request)
        body = {"type": "error", "error": {"type": kind}}
        return anthropic.APIStatusError("x", response=response, body=body)

    overloaded = adapter.classify(error(529, {}, "overloaded_error"))
    assert (overloaded.retryable, overloaded.reason, overloaded.pause_core) == (True, "overloaded", True)
    limited = adapter.classify(error(429, {"retry-after": "3"}, "rate_limit_error"))
    assert (limited.retryable, limited.retry_after, limited.pause_core) == (True, 3.0, True)
    spend = adapter.classify(error(429, {}, "rate_limit_error"))
    assert (spend.retryable, spend.reason) == (False, "quota")


# -- patch / unpatch -----------------------------------------------------------------------------------
def _wrapped_attrs() -> dict[tuple[str, str], Any]:
    from anthropic import _base_client as bc

    return {
        (cls.__name__, name): cls.__dict__.get(name)
        for cls in (bc.SyncAPIClient, bc.AsyncAPIClient)
        for name in ("request", "_process_response")
    }


def test_unpatch_restores_every_attribute_by_identity(kernel: Kernel) -> None:
    aios.unpatch("anthropic")
    before = _wrapped_attrs()
    aios.patch("anthropic")
    during = _wrapped_attrs()
    aios.patch("anthropic")
    assert _wrapped_attrs() == during
    assert all(during[key] is not before[key] for key in before)
    aios.unpatch("anthropic")
    assert all(_wrapped_attrs()[key] is before[key] for key in before)


def test_patch_before_import_in_a_subprocess(sim: SimServer) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        import aios
        assert "anthropic" not in sys.modules
        aios.patch("anthropic")
        import anthropic
        client = anthropic.Anthropic()
        client.messages.create(model={MODEL!r}, max_tokens=32, messages=[{{"role": "user", "content": "hi"}}])
        recs = aios.get_kernel().report()["syscalls"]
        print(len(recs), recs[0]["framework"], recs[0]["status"])
        """
    )
    env = {k: v for k, v in {**os.environ, **sim.env()}.items() if not k.startswith("AIOS_")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1 anthropic done"
