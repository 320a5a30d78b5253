"""The tracer and meter providers aios builds when the program set none, from ``OTEL_*``.

Only the exporters the ``aios-kernel[otel]`` extra brings (OTLP over HTTP; gRPC when its package
is installed) and the SDK's console exporters are built; anything else is a clear error.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from aios.errors import ConfigError
from aios.kernel.context import process_agent_name

try:
    from opentelemetry import metrics, trace
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ConfigError(
        "`otel = true` (or AIOS_OTEL=1 / `aios run --otel`) needs the OpenTelemetry packages; "
        "install them with: pip install 'aios-kernel[otel]'"
    ) from exc


def _names(variable: str, default: str) -> list[str]:
    raw = os.environ.get(variable, default)
    return [n.strip().lower() for n in raw.split(",") if n.strip()] or [default]


def _protocol(signal: str) -> str:
    default = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    return os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL", default).strip()


def _unknown(variable: str, name: str) -> ConfigError:
    return ConfigError(
        f"{variable}={name!r} is not an exporter aios can build; use otlp, console or none"
    )


def _need_grpc() -> None:
    if importlib.util.find_spec("opentelemetry.exporter.otlp.proto.grpc") is None:
        raise ConfigError(
            "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs the gRPC exporter: "
            "pip install opentelemetry-exporter-otlp-proto-grpc (or use http/protobuf)"
        )


def check_env() -> None:
    """Raise :class:`ConfigError` for exporter settings aios cannot honour (before the program runs)."""
    for variable, signal in (("OTEL_TRACES_EXPORTER", "TRACES"), ("OTEL_METRICS_EXPORTER", "METRICS")):
        for name in _names(variable, "otlp"):
            if name not in ("otlp", "console", "none"):
                raise _unknown(variable, name)
            if name == "otlp" and _protocol(signal) == "grpc":
                _need_grpc()


def _span_exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name != "otlp":
        raise _unknown("OTEL_TRACES_EXPORTER", name)
    if _protocol("TRACES") == "grpc":
        _need_grpc()
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

        return Grpc()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _metric_exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return ConsoleMetricExporter()
    if name != "otlp":
        raise _unknown("OTEL_METRICS_EXPORTER", name)
    if _protocol("METRICS") == "grpc":
        _need_grpc()
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as Grpc

        return Grpc()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter()


def _resource() -> Any:
    from opentelemetry.sdk.resources import Resource

    named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    return Resource.create({} if named else {"service.name": process_agent_name()})


def tracer_provider(owned: list[Any]) -> Any:
    current = trace.get_tracer_provider()
    if not isinstance(current, trace.ProxyTracerProvider):
        return current  # the program set one: use it, add nothing
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=_resource(), shutdown_on_exit=False)
    for name in _names("OTEL_TRACES_EXPORTER", "otlp"):
        if name != "none":
            provider.add_span_processor(BatchSpanProcessor(_span_exporter(name)))
    trace.set_tracer_provider(provider)
    owned.append(provider)
    return provider


def meter_provider(owned: list[Any]) -> Any:
    current = metrics.get_meter_provider()
    # The API's placeholder until a program sets one has no public type; its name is stable.
    if type(current).__name__ != "_ProxyMeterProvider":
        return current
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    readers = [
        PeriodicExportingMetricReader(_metric_exporter(name))
        for name in _names("OTEL_METRICS_EXPORTER", "otlp")
        if name != "none"
    ]
    provider = MeterProvider(resource=_resource(), metric_readers=readers, shutdown_on_exit=False)
    metrics.set_meter_provider(provider)
    owned.append(provider)
    return provider
