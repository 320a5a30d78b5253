"""The openai SDK adapter: real clients over real HTTP to a sim, every path through the kernel."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

openai = pytest.importorskip("openai")

from pydantic import BaseModel  # noqa: E402

import aios  # noqa: E402
from aios.adapters.plugins import plugins  # noqa: E402
from aios.kernel import AgentIdentity, Kernel, suppressed  # noqa: E402
from aios.kernel.context import acting_as  # noqa: E402
from aios.sim.process import SimServer  # noqa: E402
from tests.adapters.conftest import assert_usage_matches_sim, core_in_use, llm_records  # noqa: E402

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say something short."}]


@pytest.fixture
def patched(kernel: Kernel) -> Iterator[Kernel]:
    aios.patch("openai")
    try:
        yield kernel
    finally:
        aios.unpatch("openai")


@pytest.fixture
def client(sim: SimServer) -> Iterator[Any]:
    c = openai.OpenAI(base_url=sim.openai_base_url, api_key="sim-key")
    yield c
    c.close()


@pytest.fixture
def aclient(sim: SimServer) -> Any:
    return openai.AsyncOpenAI(base_url=sim.openai_base_url, api_key="sim-key")


# -- plain calls --------------------------------------------------------------------------------------
def test_create_sync(patched: Kernel, sim: SimServer, client: Any) -> None:
    out = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert isinstance(out, openai.types.chat.ChatCompletion)
    [rec] = llm_records(patched)
    assert (rec["status"], rec["framework"], rec["model"]) == ("done", "openai", MODEL)
    assert rec["core"].startswith("openai@")
    assert rec["input_tokens"] == out.usage.prompt_tokens
    assert rec["output_tokens"] == out.usage.completion_tokens
    assert_usage_matches_sim(patched, sim)


async def test_create_async(patched: Kernel, sim: SimServer, aclient: Any) -> None:
    out = await aclient.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert isinstance(out, openai.types.chat.ChatCompletion)
    [rec] = llm_records(patched)
    assert (rec["status"], rec["framework"]) == ("done", "openai")
    assert_usage_matches_sim(patched, sim)


def test_embeddings_are_llm_syscalls(patched: Kernel, sim: SimServer, client: Any) -> None:
    out = client.embeddings.create(model="text-embedding-3-small", input=["a cat", "a dog on a mat"])
    assert len(out.data) == 2
    [rec] = llm_records(patched)
    assert (rec["status"], rec["operation"], rec["model"]) == ("done", "embeddings", "text-embedding-3-small")
    assert rec["input_tokens"] == out.usage.prompt_tokens > 0
    assert rec["output_tokens"] == 0
    [sc] = [sc for sc in patched.accounting.syscalls if sc.operation == "embeddings"]
    assert sc.est_output_tokens == 0  # nothing generated: no output allowance is charged
    stats = sim.stats()
    assert (stats["requests"], stats["input_tokens"], stats["output_tokens"]) == (1, rec["input_tokens"], 0)


async def test_embeddings_async(patched: Kernel, sim: SimServer, aclient: Any) -> None:
    out = await aclient.embeddings.create(model="text-embedding-3-small", input="hello", dimensions=8)
    assert len(out.data[0].embedding) == 8
    [rec] = llm_records(patched)
    assert (rec["status"], rec["operation"]) == ("done", "embeddings")
    assert (sim.stats()["requests"], sim.stats()["input_tokens"]) == (1, rec["input_tokens"])


class Answer(BaseModel):
    city: str
    temperature: int


def test_parse_with_pydantic_model(patched: Kernel, sim: SimServer, client: Any) -> None:
    out = client.chat.completions.parse(model=MODEL, messages=MESSAGES, response_format=Answer)
    assert isinstance(out.choices[0].message.parsed, Answer)
    assert_usage_matches_sim(patched, sim)


async def test_parse_async(patched: Kernel, sim: SimServer, aclient: Any) -> None:
    out = await aclient.chat.completions.parse(model=MODEL, messages=MESSAGES, response_format=Answer)
    assert isinstance(out.choices[0].message.parsed, Answer)
    assert_usage_matches_sim(patched, sim)


def test_responses_create_and_parse(patched: Kernel, sim: SimServer, client: Any) -> None:
    out = client.responses.create(model=MODEL, input="hello")
    assert isinstance(out, openai.types.responses.Response)
    parsed = client.responses.parse(model=MODEL, input="weather", text_format=Answer)
    assert isinstance(parsed.output_parsed, Answer)
    assert [r["status"] for r in llm_records(patched)] == ["done", "done"]
    assert_usage_matches_sim(patched, sim)


def test_with_raw_response(patched: Kernel, sim: SimServer, client: Any) -> None:
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    assert raw.headers.get("content-type", "").startswith("application/json")
    assert isinstance(raw.parse(), openai.types.chat.ChatCompletion)
    assert_usage_matches_sim(patched, sim)


def test_with_streaming_response_holds_the_slot_until_closed(
    patched: Kernel, sim: SimServer, client: Any
) -> None:
    with client.chat.completions.with_streaming_response.create(model=MODEL, messages=MESSAGES) as resp:
        assert core_in_use(patched) == 1 and llm_records(patched) == []
        assert isinstance(resp.parse(), openai.types.chat.ChatCompletion)
    assert core_in_use(patched) == 0
    assert [r["status"] for r in llm_records(patched)] == ["done"]
    assert_usage_matches_sim(patched, sim)


async def test_async_with_streaming_response(patched: Kernel, sim: SimServer, aclient: Any) -> None:
    async with aclient.chat.completions.with_streaming_response.create(
        model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ) as resp:
        assert core_in_use(patched) == 1
        lines = [line async for line in resp.iter_lines()]
    assert any("[DONE]" in line for line in lines)
    assert core_in_use(patched) == 0
    assert [r["status"] for r in llm_records(patched)] == ["done"]
    assert_usage_matches_sim(patched, sim)


# -- streams ----------------------------------------------------------------------------------------
def test_stream_holds_the_slot_until_exhausted(patched: Kernel, sim: SimServer, client: Any) -> None:
    stream = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    assert isinstance(stream, openai.Stream)
    assert core_in_use(patched) == 1 and llm_records(patched) == []
    chunks = list(stream)
    assert chunks[-1].usage is not None
    assert core_in_use(patched) == 0
    [rec] = llm_records(patched)
    assert rec["status"] == "done"
    assert rec["output_tokens"] == chunks[-1].usage.completion_tokens
    assert_usage_matches_sim(patched, sim)


async def test_async_stream_holds_the_slot_until_exhausted(
    patched: Kernel, sim: SimServer, aclient: Any
) -> None:
    stream = await aclient.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    assert isinstance(stream, openai.AsyncStream)
    assert core_in_use(patched) == 1
    chunks = [c async for c in stream]
    assert chunks[-1].usage is not None
    assert core_in_use(patched) == 0
    assert [r["status"] for r in llm_records(patched)] == ["done"]
    assert_usage_matches_sim(patched, sim)


def test_stream_closed_unread_is_cancelled(patched: Kernel, client: Any) -> None:
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    stream.close()
    assert core_in_use(patched) == 0
    assert [r["status"] for r in llm_records(patched)] == ["cancelled"]


def test_stream_break_early_then_close_returns_the_slot(patched: Kernel, client: Any) -> None:
    with client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True) as stream:
        for _chunk in stream:
            break
    assert core_in_use(patched) == 0
    # The instant sim may have delivered every byte already: done or cancelled, but ended.
    assert [r["status"] for r in llm_records(patched)] in (["cancelled"], ["done"])


async def test_async_stream_break_early_then_close(patched: Kernel, aclient: Any) -> None:
    stream = await aclient.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    async for _chunk in stream:
        break
    await stream.close()
    assert core_in_use(patched) == 0
    assert len(llm_records(patched)) == 1


def test_stream_dropped_unread_is_cancelled_by_gc(patched: Kernel, client: Any) -> None:
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    assert core_in_use(patched) == 1
    del stream
    gc.collect()
    assert core_in_use(patched) == 0
    assert [r["status"] for r in llm_records(patched)] == ["cancelled"]


def test_a_stream_collected_while_its_thread_holds_the_kernel_lock_ends_later(
    patched: Kernel, client: Any
) -> None:
    """The garbage collector runs wherever memory is allocated, also inside the scheduler's
    (not reentrant) lock: ending the abandoned call right there would deadlock the kernel."""
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    holder = [stream]
    del stream

    def collect_under_the_lock() -> None:
        with patched.scheduler._lock:
            holder.clear()
            gc.collect()

    worker = threading.Thread(target=collect_under_the_lock, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "the finalizer deadlocked on the scheduler's lock"
    deadline = time.monotonic() + 10
    while core_in_use(patched) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert core_in_use(patched) == 0
    assert [r["status"] for r in llm_records(patched)] == ["cancelled"]


def test_stream_helper_and_responses_stream(patched: Kernel, sim: SimServer, client: Any) -> None:
    with client.chat.completions.stream(
        model=MODEL, messages=MESSAGES, stream_options={"include_usage": True}
    ) as stream:
        final = stream.get_final_completion()
    assert final.usage is not None
    with client.responses.stream(model=MODEL, input="hello") as rstream:
        for _event in rstream:
            pass
        response = rstream.get_final_response()
    assert response.usage is not None
    assert [r["status"] for r in llm_records(patched)] == ["done", "done"]
    assert core_in_use(patched) == 0
    assert_usage_matches_sim(patched, sim)


async def test_async_responses_stream(patched: Kernel, sim: SimServer, aclient: Any) -> None:
    stream = await aclient.responses.create(model=MODEL, input="hello", stream=True)
    kinds = [event.type async for event in stream]
    assert kinds[-1] == "response.completed"
    assert [r["status"] for r in llm_records(patched)] == ["done"]
    assert_usage_matches_sim(patched, sim)


@pytest.fixture(scope="module")
def limited_sim() -> Iterator[SimServer]:
    """An instant sim whose answers carry rate-limit headers: 60 requests a minute."""
    with SimServer("--profile", "instant", "--rpm", "60") as server:
        yield server


def _llm_core(k: Kernel) -> dict[str, Any]:
    [core] = [c for name, c in k.stats()["cores"].items() if not name.startswith("tool:")]
    return core


def test_a_streams_headers_end_the_slow_start_when_it_opens(
    patched: Kernel, limited_sim: SimServer
) -> None:
    limited_sim.reset()
    client = openai.OpenAI(base_url=limited_sim.openai_base_url, api_key="sim-key")
    with client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True) as stream:
        # Nothing else may be admitted until the first answer's limits are known: learned at once.
        core = _llm_core(patched)
        assert core["probing"] is False and core["buckets"]["requests"]["capacity"] == 60
        list(stream)
    assert [r["status"] for r in llm_records(patched)] == ["done"]


@pytest.mark.parametrize("end", ["read", "closed"])
def test_a_streams_headers_are_learned_when_it_ends(
    patched: Kernel, limited_sim: SimServer, end: str
) -> None:
    limited_sim.reset()
    client = openai.OpenAI(base_url=limited_sim.openai_base_url, api_key="sim-key")
    client.chat.completions.create(model=MODEL, messages=MESSAGES)  # the limits are known now
    # Another client spends 20 of the key's 60 requests behind the kernel's back.
    for _ in range(20):
        httpx.post(
            f"{limited_sim.openai_base_url}/chat/completions",
            json={"model": MODEL, "messages": MESSAGES},
            headers={"Authorization": "Bearer sim-key"},
        ).raise_for_status()
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    # The answer's headers say so, but they are learned in the step that ends the call.
    core = _llm_core(patched)
    assert core["contended"] is False and core["buckets"]["requests"]["available"] > 50
    if end == "read":
        list(stream)
    else:
        stream.close()
    core = _llm_core(patched)
    assert core["contended"] is True  # learned, whether the stream was read or abandoned
    assert core["buckets"]["requests"]["available"] < 45
    statuses = [r["status"] for r in llm_records(patched)]
    assert statuses == ["done", "done" if end == "read" else "cancelled"]


# -- what is and is not a syscall --------------------------------------------------------------------
def test_non_generation_endpoints_pass_straight_through(patched: Kernel, sim: SimServer, client: Any) -> None:
    models = client.models.list()
    assert len(list(models)) >= 1
    assert sim.stats()["requests"] >= 1 or sim.stats()["by_endpoint"]
    assert llm_records(patched) == []


def test_inside_a_syscall_passes_through(patched: Kernel, client: Any) -> None:
    with suppressed():
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert llm_records(patched) == []


def test_identity_and_framework_attribution(patched: Kernel, client: Any) -> None:
    with aios.agent("planner"):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    with acting_as(AgentIdentity("writer", framework="langchain")):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    got = [(r["agent"], r["framework"]) for r in llm_records(patched)]
    assert got == [("planner", "openai"), ("writer", "langchain")]


def test_clients_created_before_and_after_patching(kernel: Kernel, sim: SimServer) -> None:
    before = openai.OpenAI(base_url=sim.openai_base_url, api_key="sim-key")
    before.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert llm_records(kernel) == []  # not patched yet
    raw_before = before.chat.completions.with_raw_response  # caches a bound create
    aios.patch("openai")
    try:
        after = openai.OpenAI(base_url=sim.openai_base_url, api_key="sim-key")
        before.chat.completions.create(model=MODEL, messages=MESSAGES)
        after.chat.completions.create(model=MODEL, messages=MESSAGES)
        raw_before.create(model=MODEL, messages=MESSAGES)
    finally:
        aios.unpatch("openai")
    assert len(llm_records(kernel)) == 3
    assert sim.stats()["requests"] == 4


# -- concurrency ------------------------------------------------------------------------------------
async def _eight_concurrent_calls(sim: SimServer) -> None:
    client = openai.AsyncOpenAI(base_url=sim.openai_base_url, api_key="sim-key")
    await asyncio.gather(
        *(client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=8) for _ in range(8))
    )
    await client.close()


async def test_max_concurrency_one_serialises_concurrent_calls(
    boot: Callable[..., Kernel], slow_sim: SimServer
) -> None:
    await _eight_concurrent_calls(slow_sim)  # unpatched: the calls overlap
    assert slow_sim.stats()["max_in_flight"] > 1
    slow_sim.reset()
    k = boot(max_concurrency=1)
    aios.patch("openai")
    try:
        await _eight_concurrent_calls(slow_sim)
    finally:
        aios.unpatch("openai")
    assert slow_sim.stats()["max_in_flight"] == 1
    assert slow_sim.stats()["requests"] == len(llm_records(k)) == 8


# -- retries and errors -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def flaky_sim() -> Iterator[SimServer]:
    """Seed 1 draws 0.13 then 0.85: after each reset the first call gets a 429, the next succeeds."""
    with SimServer("--profile", "instant", "--faults", "429=0.5", "--seed", "1") as server:
        yield server


@pytest.fixture(scope="module")
def broke_sim() -> Iterator[SimServer]:
    """A one-token lifetime budget: the second call gets a non-retryable quota 429."""
    with SimServer("--profile", "instant", "--budget-tokens", "1") as server:
        yield server


def test_429_is_retried_once_by_the_kernel_not_the_sdk(patched: Kernel, flaky_sim: SimServer) -> None:
    flaky_sim.reset()
    client = openai.OpenAI(base_url=flaky_sim.openai_base_url, api_key="sim-key", max_retries=5)
    started = time.monotonic()
    out = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    elapsed = time.monotonic() - started
    assert isinstance(out, openai.types.chat.ChatCompletion)
    stats = flaky_sim.stats()
    assert stats["requests"] == 2 and stats["rate_limited"] == 1
    [rec] = llm_records(patched)
    assert (rec["status"], rec["retries"]) == ("done", 1)
    assert elapsed >= 0.09  # the sim's retry-after-ms of 100 was honoured


def test_sdk_retries_are_off_for_gated_calls(boot: Callable[..., Kernel], flaky_sim: SimServer) -> None:
    flaky_sim.reset()
    k = boot(retry={"max_retries": 0})
    aios.patch("openai")
    try:
        client = openai.OpenAI(base_url=flaky_sim.openai_base_url, api_key="sim-key", max_retries=5)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
    finally:
        aios.unpatch("openai")
    assert flaky_sim.stats()["requests"] == 1  # the SDK would have retried up to 5 times
    assert [r["status"] for r in llm_records(k)] == ["failed"]


async def test_async_429_is_retried_by_the_kernel(patched: Kernel, flaky_sim: SimServer) -> None:
    flaky_sim.reset()
    client = openai.AsyncOpenAI(base_url=flaky_sim.openai_base_url, api_key="sim-key")
    await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert flaky_sim.stats()["requests"] == 2
    assert [r["retries"] for r in llm_records(patched)] == [1]


def test_insufficient_quota_raises_at_once(patched: Kernel, broke_sim: SimServer) -> None:
    broke_sim.reset()
    client = openai.OpenAI(base_url=broke_sim.openai_base_url, api_key="sim-key")
    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert time.monotonic() - started < 1.0
    assert info.value.code == "insufficient_quota"
    assert any("not retried" in note for note in getattr(info.value, "__notes__", []))
    assert broke_sim.stats()["requests"] == 2
    assert [(r["status"], r["retries"]) for r in llm_records(patched)] == [("done", 0), ("failed", 0)]


def test_classifier() -> None:
    adapter = plugins().adapters["openai"]
    assert adapter.classify(openai.APITimeoutError(request=_request())).reason == "timeout"
    conn = adapter.classify(openai.APIConnectionError(request=_request()))
    assert conn.retryable and conn.reason == "connection"
    cases = {
        (429, ()): (True, "rate_limit", True),
        (503, ()): (True, "server", False),
        (400, ()): (False, "client", False),
        (500, (("x-should-retry", "false"),)): (False, "server", False),
        (400, (("x-should-retry", "true"),)): (True, "client", False),
    }
    for (status, headers), want in cases.items():
        f = adapter.classify(_status_error(status, dict(headers), {"error": {"type": "x"}}))
        assert (f.retryable, f.reason, f.pause_core) == want, (status, headers)
    f = adapter.classify(_status_error(429, {"retry-after": "2"}, {"error": {"type": "requests"}}))
    assert f.retry_after == 2.0 and f.headers is not None
    f = adapter.classify(_status_error(429, {"retry-after-ms": "250", "retry-after": "9"}, None))
    assert f.retry_after == 0.25


def _http() -> Any:
    """The HTTP library this openai uses: ``httpx`` (2.x) or ``httpx2`` (3.x)."""
    from openai import _base_client

    return getattr(_base_client, "httpx2", None) or _base_client.httpx


def _request() -> Any:
    return _http().Request("POST", "http://127.0.0.1/v1/chat/completions")


def _status_error(status: int, headers: dict[str, str], body: Any) -> Any:
    response = _http().Response(status, headers=headers, request=_request())
    cls = {429: openai.RateLimitError, 400: openai.BadRequestError}.get(status, openai.APIStatusError)
    return cls("error", response=response, body=body)


# -- patch / unpatch -----------------------------------------------------------------------------------
def _wrapped_attrs() -> dict[tuple[str, str], Any]:
    from openai import _base_client as bc

    return {
        (cls.__name__, name): cls.__dict__.get(name)
        for cls in (bc.SyncAPIClient, bc.AsyncAPIClient)
        for name in ("request", "_process_response")
    }


def test_unpatch_restores_every_attribute_by_identity(kernel: Kernel) -> None:
    aios.unpatch("openai")
    before = _wrapped_attrs()
    aios.patch("openai")
    during = _wrapped_attrs()
    aios.patch("openai")  # a second patch is a no-op
    assert _wrapped_attrs() == during
    assert all(during[key] is not before[key] for key in before)
    aios.unpatch("openai")
    after = _wrapped_attrs()
    assert all(after[key] is before[key] for key in before)


def test_patch_before_import_in_a_subprocess(sim: SimServer) -> None:
    code = textwrap.dedent(
        """
        import sys
        import aios
        assert "openai" not in sys.modules
        aios.patch("openai")
        import openai
        client = openai.OpenAI()
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        recs = aios.get_kernel().report()["syscalls"]
        print(len(recs), recs[0]["framework"], recs[0]["status"])
        """
    )
    env = {**os.environ, **sim.env()}
    env = {k: v for k, v in env.items() if not k.startswith("AIOS_")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1 openai done"
