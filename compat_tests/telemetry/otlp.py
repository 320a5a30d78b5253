"""A real OTLP/HTTP receiver for tests: decodes the protobuf requests the exporters send."""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return _attrs(v.kvlist_value.values)
    return getattr(v, kind) if kind else None


def _attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in kvs if isinstance(kv, KeyValue)}


@dataclass
class ReceivedSpan:
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status_code: int


@dataclass
class Received:
    spans: list[ReceivedSpan] = field(default_factory=list)
    #: Metric name -> list of (attributes, data point) as decoded.
    metrics: dict[str, list[tuple[dict[str, Any], Any]]] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)


class OtlpReceiver:
    """``with OtlpReceiver() as rx:`` then point ``OTEL_EXPORTER_OTLP_ENDPOINT`` at ``rx.url``."""

    def __init__(self) -> None:
        self.received = Received()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                reply = receiver._handle(self.path, body)
                self.send_response(200 if reply is not None else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                data = reply or b""
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handle(self, path: str, body: bytes) -> bytes | None:
        with self._lock:
            self.received.paths.append(path)
            if path == "/v1/traces":
                req = ExportTraceServiceRequest.FromString(body)
                for rs in req.resource_spans:
                    resource = _attrs(rs.resource.attributes)
                    for ss in rs.scope_spans:
                        for s in ss.spans:
                            self.received.spans.append(
                                ReceivedSpan(
                                    name=s.name,
                                    kind=PbSpan.SpanKind.Name(s.kind),
                                    trace_id=s.trace_id.hex(),
                                    span_id=s.span_id.hex(),
                                    parent_span_id=s.parent_span_id.hex(),
                                    attributes=_attrs(s.attributes),
                                    resource=resource,
                                    status_code=s.status.code,
                                )
                            )
                return ExportTraceServiceResponse().SerializeToString()
            if path == "/v1/metrics":
                req_m = ExportMetricsServiceRequest.FromString(body)
                for rm in req_m.resource_metrics:
                    for sm in rm.scope_metrics:
                        for m in sm.metrics:
                            data = getattr(m, m.WhichOneof("data"))
                            points = self.received.metrics.setdefault(m.name, [])
                            points += [(_attrs(p.attributes), p) for p in data.data_points]
                return ExportMetricsServiceResponse().SerializeToString()
        return None

    def env(self) -> dict[str, str]:
        """What a program needs to export here, quickly, with the SDK switched on."""
        return {
            "OTEL_SDK_DISABLED": "false",
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.url,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_METRIC_EXPORT_INTERVAL": "500",
        }

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
