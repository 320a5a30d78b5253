"""Finished syscall spans handed straight to the span processors of aios's own tracer provider.

A syscall's span is built after it ended, complete: no attribute will be added, no event, no
child started from it. The SDK's live ``Span`` (a lock, bounded attribute maps re-checking every
value, ``on_start``, and a ``ReadableSpan`` copied from it at ``end``) costs about half of all
the tracing work per call for nothing here, so the finished record is built once, as the
``ReadableSpan`` that ``end`` would have handed on, after the provider's own sampler agreed.

Used only where that is the same thing: an SDK tracer whose provider's processors are all the
SDK's batch or simple ones (they do nothing at ``on_start``), with no limit on attribute length,
and an SDK that exposes what is needed; the provider's sampler, id generator and resource are
its own. Anything else (a program's own processors, another SDK) takes the SDK's usual path.
(The SDK's own experimental span-count metrics do not count these spans.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, Tracer
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode, TraceFlags

_PLAIN_PROCESSORS = (BatchSpanProcessor, SimpleSpanProcessor)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_RANDOM = getattr(TraceFlags, "RANDOM_TRACE_ID", 0)
_UNSET = Status(StatusCode.UNSET)


class DirectSpans:
    """Builds finished spans for one SDK tracer; ``usable()`` says when it may."""

    def __init__(self, tracer: Any) -> None:
        self._tracer = tracer
        self._processor = tracer.span_processor
        self._sampler = tracer.sampler
        self._ids = tracer.id_generator
        self._scope = tracer._instrumentation_scope
        self._info = tracer.instrumentation_info
        self._limits = tracer._span_limits
        self._random = bool(_RANDOM) and self._ids.is_trace_id_random()

    @classmethod
    def of(cls, tracer: Any) -> DirectSpans | None:
        """For a tracer of this SDK (of a version that has what is needed), else ``None``."""
        if not isinstance(tracer, Tracer):
            return None
        try:
            return cls(tracer)
        except AttributeError:
            return None

    def usable(self, attribute_count: int) -> bool:
        processors = getattr(self._processor, "_span_processors", None)
        if processors is None or any(type(p) not in _PLAIN_PROCESSORS for p in processors):
            return False  # a processor may want on_start or a live span
        limits = self._limits
        if limits.max_span_attribute_length is not None or limits.max_attribute_length is not None:
            return False  # values would have to be cut as the SDK cuts them
        max_attributes = limits.max_span_attributes
        if max_attributes is not None and attribute_count > max_attributes:
            return False
        enabled = getattr(self._tracer, "_is_enabled", None)
        return enabled is None or bool(enabled())

    def emit(
        self,
        name: str,
        parent: Any,
        kind: SpanKind,
        attributes: Mapping[str, Any],
        start_ns: int,
        end_ns: int,
        error_type: str | None,
    ) -> None:
        """The span ``tracer.start_span(...)`` then ``span.end(...)`` would have exported."""
        parent_span = trace.get_current_span(parent).get_span_context()
        if parent_span.is_valid:
            trace_id = parent_span.trace_id
            random = bool(_RANDOM) and bool(parent_span.trace_flags & _RANDOM)
            parent_context: Any = parent_span
        else:
            trace_id = self._ids.generate_trace_id()
            random = self._random
            parent_context = None
        sampled = self._sampler.should_sample(parent, trace_id, name, kind, attributes, ())
        if not sampled.decision.is_sampled():
            return  # an unsampled span reaches no exporter
        if sampled.attributes:
            attributes = {**sampled.attributes, **attributes}
        flags = TraceFlags(_SAMPLED | _RANDOM) if random else _SAMPLED
        context = trace.SpanContext(
            trace_id,
            self._ids.generate_span_id(),
            is_remote=False,
            trace_flags=flags,
            trace_state=sampled.trace_state,
        )
        status = Status(StatusCode.ERROR, error_type) if error_type else _UNSET
        span = ReadableSpan(
            name=name,
            context=context,
            parent=parent_context,
            resource=self._tracer.resource,
            attributes=attributes,
            kind=kind,
            instrumentation_info=self._info,
            status=status,
            start_time=start_ns,
            end_time=end_ns,
            instrumentation_scope=self._scope,
        )
        self._processor.on_end(span)
