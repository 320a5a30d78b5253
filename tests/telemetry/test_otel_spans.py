"""Each attribute of the syscall spans and each metric, through the real SDK's in-memory exporter.

The kernel is booted with ``otel=True`` as a program would; calls go through the kernel's real
gate (``call``/``acall``/``run_tool``) with a perform function standing in for the provider.
"""

from __future__ import annotations

import asyncio
import contextvars
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

import aios
from aios.errors import AccessDenied
from aios.kernel.failures import Failure, Usage
from aios.kernel.kernel import Kernel
from aios.kernel.syscall import Syscall
from aios.telemetry import otel

from .conftest import Pipeline

BASE_URL = "http://127.0.0.1:9/v1"


@pytest.fixture
def k(pipeline: Pipeline) -> Iterator[Kernel]:
    kernel = aios.boot(
        otel=True,
        policy="fair",
        max_concurrency=1,
        agents={"locked": {"allowed_models": ["gpt-4o*"]}},
        retry={"base_delay": 0.001, "max_delay": 0.01},
    )
    pipeline.spans.clear()  # type: ignore[attr-defined]
    yield kernel
    aios.shutdown()


def llm(k: Kernel, **kw: Any) -> Syscall:
    kw.setdefault("api", "openai.chat")
    kw.setdefault("model", "gpt-4o-mini")
    kw.setdefault("base_url", BASE_URL)
    return k.llm_syscall(**kw)


def finished(pipeline: Pipeline, *, syscalls_only: bool = True) -> list[Any]:
    """The ended spans: those of syscalls, or with ``syscalls_only=False`` every one."""
    otel.flush()  # spans of ended syscalls are built off the callers' threads
    spans = list(pipeline.spans.get_finished_spans())  # type: ignore[attr-defined]
    return [s for s in spans if not syscalls_only or not s.name.startswith("invoke_agent")]


def metric_sums(pipeline: Pipeline) -> dict[tuple[str, frozenset[tuple[str, Any]]], float]:
    """Every data point as (metric name, attributes) -> sum (histograms) or value (counters)."""
    otel.flush()
    out: dict[tuple[str, frozenset[tuple[str, Any]]], float] = {}
    data = pipeline.metrics.get_metrics_data()  # type: ignore[attr-defined]
    if data is None:
        return out
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    key = (metric.name, frozenset(point.attributes.items()))
                    out[key] = float(getattr(point, "sum", getattr(point, "value", 0)))
    return out


def grew(before: dict[Any, float], after: dict[Any, float], name: str) -> dict[frozenset[Any], float]:
    return {
        attrs: value - before.get((n, attrs), 0.0)
        for (n, attrs), value in after.items()
        if n == name and value != before.get((n, attrs), 0.0)
    }


def test_llm_call_span_has_the_genai_attributes(k: Kernel, pipeline: Pipeline) -> None:
    before = metric_sums(pipeline)
    with aios.agent("planner", priority=3, group="crew"):
        sc = llm(k, max_tokens=200, input_tokens=12)
        out = k.call(sc, lambda lease: "ok", outcome=lambda r: (Usage(11, 7), None))
    assert out == "ok"
    [span] = finished(pipeline)
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    a = dict(span.attributes)
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.model"] == "gpt-4o-mini"
    assert a["gen_ai.request.max_tokens"] == 200
    assert a["gen_ai.request.stream"] is False
    assert a["gen_ai.usage.input_tokens"] == 11
    assert a["gen_ai.usage.output_tokens"] == 7
    assert a["gen_ai.agent.name"] == "planner"
    assert a["aios.priority"] == 3
    assert a["aios.group"] == "crew"
    assert a["aios.policy"] == "fair"
    assert a["aios.core"] == "openai@http://127.0.0.1:9/v1"
    assert a["aios.attempts"] == 1
    assert a["aios.admission"] == "immediate"
    assert a["aios.status"] == "done"
    assert a["aios.queue.wait_s"] == 0.0
    assert "error.type" not in a and span.status.status_code is StatusCode.UNSET
    assert not any("message" in key or "content" in key for key in a)
    grown = grew(before, metric_sums(pipeline), "gen_ai.client.token.usage")
    by_type = {dict(attrs)["gen_ai.token.type"]: v for attrs, v in grown.items()}
    assert by_type == {"input": 11, "output": 7}
    durations = grew(before, metric_sums(pipeline), "gen_ai.client.operation.duration")
    assert [dict(attrs)["gen_ai.request.model"] for attrs in durations] == ["gpt-4o-mini"]


def test_unknown_usage_is_not_reported_as_zero(k: Kernel, pipeline: Pipeline) -> None:
    k.call(llm(k, stream=True), lambda lease: "ok")
    [span] = finished(pipeline)
    assert span.attributes["gen_ai.request.stream"] is True
    assert "gen_ai.usage.input_tokens" not in span.attributes
    assert "gen_ai.request.max_tokens" not in span.attributes  # the caller set none


def test_span_is_a_child_of_the_callers_span_even_when_it_queues(k: Kernel, pipeline: Pipeline) -> None:
    tracer = trace.get_tracer("test")
    release, started = threading.Event(), threading.Event()

    def slow(lease: Any) -> str:
        started.set()
        release.wait(10)
        return "first"

    # The endpoint allows one call at a time (max_concurrency=1): the second one queues.
    with tracer.start_as_current_span("request-1") as outer1:
        first_sc = llm(k)
        first = threading.Thread(target=contextvars.copy_context().run, args=(k.call, first_sc, slow))
        first.start()
    assert started.wait(10)
    with tracer.start_as_current_span("request-2") as outer2:
        second_sc = llm(k)
        ctx = contextvars.copy_context()  # a thread starts without the caller's context
        second = threading.Thread(target=ctx.run, args=(k.call, second_sc, lambda lease: "second"))
        second.start()
    while second_sc.seq == 0:
        threading.Event().wait(0.005)
    threading.Event().wait(0.05)
    release.set()
    first.join(10)
    second.join(10)
    chats = [s for s in finished(pipeline) if s.name.startswith("chat")]
    by_parent = {s.parent.span_id: s for s in chats}
    assert set(by_parent) == {outer1.get_span_context().span_id, outer2.get_span_context().span_id}
    queued = by_parent[outer2.get_span_context().span_id]
    assert queued.attributes["aios.admission"] == "queued"
    assert queued.attributes["aios.queue.wait_s"] >= 0.04


def test_agent_scope_opens_an_invoke_agent_parent(k: Kernel, pipeline: Pipeline) -> None:
    with aios.agent("researcher"):
        k.call(llm(k), lambda lease: "a")
        k.run_tool("search", lambda q: f"found {q}", "cats")
    spans = finished(pipeline, syscalls_only=False)
    [agent_span] = [s for s in spans if s.name == "invoke_agent researcher"]
    assert agent_span.kind is SpanKind.INTERNAL
    assert agent_span.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert agent_span.attributes["gen_ai.agent.name"] == "researcher"
    children = [s for s in spans if s.parent is not None and s.parent.span_id == agent_span.context.span_id]
    assert sorted(s.name for s in children) == ["chat gpt-4o-mini", "execute_tool search"]
    [tool] = [s for s in children if s.name == "execute_tool search"]
    assert tool.kind is SpanKind.INTERNAL
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "search"
    assert tool.attributes["gen_ai.agent.name"] == "researcher"


async def test_async_agent_decorator_and_acall(k: Kernel, pipeline: Pipeline) -> None:
    @aios.agent("writer")
    async def write() -> str:
        async def perform(lease: Any) -> str:
            await asyncio.sleep(0)
            return "text"

        return await k.acall(llm(k), perform)

    assert await write() == "text"
    spans = finished(pipeline, syscalls_only=False)
    [agent_span] = [s for s in spans if s.name == "invoke_agent writer"]
    [chat] = [s for s in spans if s.name.startswith("chat")]
    assert chat.parent.span_id == agent_span.context.span_id


def test_rate_limited_retries_are_counted_and_named(k: Kernel, pipeline: Pipeline) -> None:
    before = metric_sums(pipeline)
    attempts = iter([RuntimeError("429"), RuntimeError("429"), None])

    def perform(lease: Any) -> str:
        exc = next(attempts)
        if exc is not None:
            raise exc
        return "ok"

    def classify(exc: BaseException) -> Failure:
        return Failure(True, "rate_limit", status=429, retry_after=0.001, pause_core=True)

    sc = llm(k)
    assert k.call(sc, perform, classify=classify) == "ok"
    [span] = finished(pipeline)
    assert span.attributes["aios.attempts"] == 3
    assert list(span.attributes["aios.retry_reasons"]) == ["rate_limit", "rate_limit"]
    absorbed = grew(before, metric_sums(pipeline), "aios.rate_limits.absorbed")
    assert list(absorbed.values()) == [2]


def test_failure_sets_error_type_without_the_message(k: Kernel, pipeline: Pipeline) -> None:
    def perform(lease: Any) -> str:
        raise ValueError("secret sk-test-123 in a provider message")

    with pytest.raises(ValueError):
        k.call(llm(k), perform)
    [span] = finished(pipeline)
    assert span.attributes["error.type"] == "ValueError"
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "ValueError"
    assert "sk-test" not in repr(dict(span.attributes)) and not span.events


def test_denied_call_has_one_span_and_is_counted(k: Kernel, pipeline: Pipeline) -> None:
    before = metric_sums(pipeline)
    with pytest.raises(AccessDenied):
        k.call(llm(k, agent="locked", model="claude-x"), lambda lease: "never")
    [span] = finished(pipeline)
    assert span.attributes["error.type"] == "AccessDenied"
    assert span.attributes["aios.admission"] == "denied"
    assert span.attributes["aios.attempts"] == 0
    denied = grew(before, metric_sums(pipeline), "aios.calls.denied")
    assert {dict(a)["gen_ai.agent.name"]: v for a, v in denied.items()} == {"locked": 1}


def test_held_stream_span_ends_when_the_lease_does(k: Kernel, pipeline: Pipeline) -> None:
    leases: list[Any] = []

    def start(lease: Any) -> str:
        leases.append(lease)
        return "stream"

    k.call(llm(k, stream=True), start, hold=True)
    assert finished(pipeline) == []  # still streaming
    leases[0].succeed(usage=Usage(5, 9))
    leases[0].succeed()  # a second end changes nothing
    [span] = finished(pipeline)
    assert span.attributes["gen_ai.usage.output_tokens"] == 9


def test_queued_calls_cancelled_at_shutdown_end_their_spans(k: Kernel, pipeline: Pipeline) -> None:
    core_sc = llm(k)
    core = k.scheduler.cores[core_sc.candidates[0]]
    core.pause(k.clock.now() + 60)  # nothing is admitted: the call stays queued
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            k.call(core_sc, lambda lease: "never")
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=wait)
    t.start()
    while core_sc.seq == 0:
        threading.Event().wait(0.005)
    aios.shutdown()
    t.join(10)
    assert errors
    [span] = finished(pipeline)
    assert span.attributes["error.type"] == "cancelled"
    assert span.attributes["aios.admission"] == "not_admitted"


def test_the_kernel_does_not_import_opentelemetry_unless_enabled() -> None:
    code = (
        "import sys, aios\n"
        "k = aios.boot()\n"
        "k.run_tool('t', lambda: 1)\n"
        "aios.shutdown()\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
