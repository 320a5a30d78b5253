"""One in-memory OpenTelemetry pipeline for the whole test process (global providers are set once)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


@dataclass
class Pipeline:
    spans: object
    metrics: object


@pytest.fixture(scope="session")
def pipeline() -> Pipeline:
    """The SDK's in-memory span exporter and metric reader, installed as the global providers.

    aios finds them already set and uses them, as it would a program's own.
    """
    # The suite disables the SDK everywhere; these tests exercise our export, so turn it on
    # before the providers read it.
    before = os.environ.get("OTEL_SDK_DISABLED")
    os.environ["OTEL_SDK_DISABLED"] = "false"
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    if before is None:  # the frameworks' own telemetry stays off for the rest of the session
        del os.environ["OTEL_SDK_DISABLED"]
    else:
        os.environ["OTEL_SDK_DISABLED"] = before
    return Pipeline(exporter, reader)


@pytest.fixture
def spans(pipeline: Pipeline) -> Iterator[object]:
    pipeline.spans.clear()  # type: ignore[attr-defined]
    yield pipeline.spans
