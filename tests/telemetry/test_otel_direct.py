"""Finished syscall spans built directly are the spans the SDK's usual path would export."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode

from aios.telemetry.direct import DirectSpans


@pytest.fixture(autouse=True)
def sdk_on(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite disables the SDK everywhere; these providers are this test's own.
    monkeypatch.setenv("OTEL_SDK_DISABLED", "false")


ATTRS = {"gen_ai.operation.name": "chat", "aios.attempts": 2, "aios.retry_reasons": ["rate_limit"]}


def _provider(**kw: Any) -> tuple[TracerProvider, InMemorySpanExporter]:
    provider = TracerProvider(resource=Resource.create({"service.name": "direct-test"}), **kw)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _shape(span: Any) -> tuple[Any, ...]:
    return (
        span.name,
        span.kind,
        span.parent.span_id if span.parent else None,
        span.context.trace_id,
        {k: list(v) if isinstance(v, tuple | list) else v for k, v in span.attributes.items()},
        span.status.status_code,
        span.status.description,
        span.start_time,
        span.end_time,
        dict(span.resource.attributes),
        span.instrumentation_scope.name,
        span.context.trace_flags.sampled,
    )


def test_a_direct_span_is_the_usual_span() -> None:
    provider, exporter = _provider()
    tracer = provider.get_tracer("aios")
    direct = DirectSpans.of(tracer)
    assert direct is not None and direct.usable(len(ATTRS))
    with tracer.start_as_current_span("parent") as parent:
        ctx = trace.set_span_in_context(parent)
    for error in (None, "RateLimitError"):
        exporter.clear()
        usual = tracer.start_span(
            "chat m", context=ctx, kind=SpanKind.CLIENT, attributes=ATTRS, start_time=10
        )
        if error:
            usual.set_status(StatusCode.ERROR, error)
        usual.end(end_time=20)
        direct.emit("chat m", ctx, SpanKind.CLIENT, dict(ATTRS), 10, 20, error)
        a, b = exporter.get_finished_spans()
        assert _shape(a) == _shape(b)
        assert b.parent.span_id == parent.get_span_context().span_id
        assert a.context.span_id != b.context.span_id


def test_the_sampler_decides_and_a_root_span_gets_its_own_trace() -> None:
    provider, exporter = _provider(sampler=ALWAYS_OFF)
    direct = DirectSpans.of(provider.get_tracer("aios"))
    assert direct is not None
    direct.emit("chat m", None, SpanKind.CLIENT, dict(ATTRS), 1, 2, None)
    assert exporter.get_finished_spans() == ()
    provider, exporter = _provider()
    direct = DirectSpans.of(provider.get_tracer("aios"))
    assert direct is not None
    direct.emit("chat m", None, SpanKind.CLIENT, dict(ATTRS), 1, 2, None)
    [root] = exporter.get_finished_spans()
    assert root.parent is None and root.context.trace_id != 0


class _Watching(SpanProcessor):
    def __init__(self) -> None:
        self.started = 0

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.started += 1


def test_the_usual_path_where_a_processor_or_a_limit_needs_it() -> None:
    provider, _ = _provider()
    provider.add_span_processor(_Watching())
    direct = DirectSpans.of(provider.get_tracer("aios"))
    assert direct is not None and not direct.usable(3)
    limited, _ = _provider(span_limits=SpanLimits(max_span_attribute_length=10))
    direct = DirectSpans.of(limited.get_tracer("aios"))
    assert direct is not None and not direct.usable(3)
    assert DirectSpans.of(trace.NoOpTracer()) is None
