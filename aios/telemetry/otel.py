"""OpenTelemetry GenAI spans and metrics for every syscall, as a kernel observer.

One span per syscall, started in the caller's context when the syscall is submitted (so a
framework's own span is its parent) and ended exactly once when the kernel ends the syscall
(for a stream: when its held lease ends). ``aios.agent(...)`` scopes open an ``invoke_agent``
span around the calls made inside them. Names follow the GenAI semantic conventions; the
kernel's own facts sit under ``aios.*``. Message contents are exported only with
``otel_capture_content`` (see ``aios.telemetry.content``); otherwise the kernel never holds them.

The program's global tracer and meter providers are used when it set them; otherwise aios
builds its own from the standard ``OTEL_*`` variables and makes them global, so the program's
own spans land in the same trace.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aios.kernel.context import AgentIdentity, current_tool_call, scope_hooks
from aios.kernel.syscall import Kind, Status, Syscall
from aios.telemetry.content import handed, llm_attributes, tool_attributes

# First: it turns a missing OpenTelemetry into one clear error naming the extra to install.
from aios.telemetry.providers import check_env, meter_provider, tracer_provider  # isort: skip

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, StatusCode

__all__ = ["SyscallTracer", "attach", "check_env", "enable_agent_spans", "flush", "setup"]

SCOPE = "aios"
#: What a syscall's span needs from its submission: the caller's context, the start time and
#: the framework's tool call id (both read in the caller's context).
_Begun = tuple[Any, int, str | None]
_DENIED = ("AccessDenied", "BudgetExceeded")
_ATTRS_CACHE_SIZE = 1024


class _Backlog:
    """Ended syscalls waiting to become spans and measurements, off the callers' threads.

    A caller only notes the times and the parent context; building the span (attribute checks,
    ids, the processor) and recording the metrics happen here, ten times a second, so tracing
    adds a few microseconds to a call rather than tens of them.
    """

    def __init__(self, period: float = 0.1) -> None:
        self.period = period
        self._items: deque[tuple[SyscallTracer, Syscall, _Begun | None, int]] = deque()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        os.register_at_fork(after_in_child=self._forget)

    def put(self, item: tuple[SyscallTracer, Syscall, _Begun | None, int]) -> None:
        """``(observer, syscall, begun, end_ns)``; ``begun`` is ``None`` for measurements only."""
        self._items.append(item)
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="aios-otel", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.period)
            self.drain()

    def drain(self) -> None:
        """Emit everything put so far (returns once it is handed to the SDK)."""
        with self._lock:
            while self._items:
                tracer, sc, begun, end_ns = self._items.popleft()
                try:
                    tracer.emit(sc, begun, end_ns)
                except Exception:  # a broken exporter or meter must not stop the others
                    continue

    def _forget(self) -> None:
        # The parent's pending syscalls are the parent's to emit; the child starts afresh.
        self._items = deque()
        self._lock = threading.Lock()
        self._thread = None


@dataclass
class _Telemetry:
    """The process's tracer and meter, and the providers aios made itself (flushed at exit)."""

    tracer: trace.Tracer
    meter: metrics.Meter
    owned: list[Any] = field(default_factory=list)
    kernels: weakref.WeakSet[Any] = field(default_factory=weakref.WeakSet)
    backlog: _Backlog = field(default_factory=_Backlog)
    #: Spans are built off the callers' threads only with aios's own tracer provider, which
    #: aios flushes at exit; a program's own provider may be shut down by the program while a
    #: deferred span waits, so with it spans are built as the syscall ends (measurements are
    #: always deferred).
    defer: bool = False


_lock = threading.Lock()
_state: _Telemetry | None = None


def setup() -> _Telemetry:
    """Once per process: the tracer and meter, and the ``invoke_agent`` span of agent scopes."""
    global _state
    with _lock:
        if _state is None:
            owned: list[Any] = []
            traces = tracer_provider(owned)
            tracer = traces.get_tracer(SCOPE)
            meter = meter_provider(owned).get_meter(SCOPE)
            _state = _Telemetry(tracer, meter, owned, defer=traces in owned)
            atexit.register(_flush_at_exit)
        enable_agent_spans()
        return _state


def enable_agent_spans() -> None:
    """Open ``invoke_agent`` spans for agent scopes from now on, even before the kernel boots.

    The providers are chosen at the first such span (or at kernel boot), not now: by then a
    program that sets its own global tracer provider has done so.
    """
    if _agent_span not in scope_hooks:
        scope_hooks.append(_agent_span)


def attach(kernel: Any) -> SyscallTracer:
    """Trace ``kernel``'s syscalls from now on; returns the observer it was given."""
    state = setup()
    observer = SyscallTracer(kernel, state)
    state.kernels.add(kernel)
    kernel.add_observer(observer)
    return observer


def flush() -> None:
    """Hand every ended syscall's span and measurements to the SDK now."""
    if _state is not None:
        _state.backlog.drain()


def _flush_at_exit() -> None:
    state = _state
    if state is None:
        return
    # Kernels first: calls still queued end (cancelled) and their spans are exported too.
    for k in list(state.kernels):
        k.shutdown()
    state.backlog.drain()
    for provider in state.owned:
        provider.shutdown()


@contextmanager
def _agent_span(identity: AgentIdentity) -> Iterator[None]:
    state = _state or setup()
    attrs: dict[str, Any] = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": identity.name}
    if identity.group:
        attrs["aios.group"] = identity.group
    span = state.tracer.start_span(f"invoke_agent {identity.name}", kind=SpanKind.INTERNAL, attributes=attrs)
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        yield
    except BaseException as exc:
        span.set_attribute("error.type", type(exc).__qualname__)
        span.set_status(StatusCode.ERROR)
        raise
    finally:
        otel_context.detach(token)
        span.end()


def _direct_spans(tracer: Any) -> Any:
    try:
        from aios.telemetry.direct import DirectSpans
    except ImportError:  # a program's provider from another SDK: the usual path
        return None
    return DirectSpans.of(tracer)


def _content_attributes(sc: Syscall) -> dict[str, str]:
    content = sc.content or {}
    try:
        return llm_attributes(content) if sc.kind is Kind.LLM else tool_attributes(content)
    except Exception:  # a body of a shape we do not know: the span goes out without it
        return {}


def _provider_name(api: str) -> str:
    family = api.split(".", 1)[0]
    return "openai" if family == "sim" else family


def _error_type(sc: Syscall) -> str | None:
    if sc.status is Status.CANCELLED:
        return "cancelled"
    if sc.status is Status.FAILED:
        # The text after the class name may quote a provider's message: only the type is kept.
        return (sc.error or "").split(":", 1)[0].strip() or "error"
    return None


def _admission(sc: Syscall, error_type: str | None) -> str:
    if sc.started_at is None:
        return "denied" if error_type in _DENIED else "not_admitted"
    return "queued" if sc.waited_s > 0 else "immediate"


class SyscallTracer:
    """The kernel observer: a span per syscall, and the GenAI and aios metrics."""

    def __init__(self, kernel: Any, state: _Telemetry) -> None:
        self.kernel = kernel
        self.tracer = state.tracer
        self.backlog = state.backlog
        self.defer = state.defer
        #: Finished spans straight to the processors of aios's own provider (see ``direct``).
        self.direct = _direct_spans(state.tracer)
        self.default_max_tokens = kernel.config.default_max_tokens
        self.policy = kernel.policy.name
        #: ``otel_capture_content``: tool syscalls take the content their adapter hands over.
        self.capture = bool(kernel.config.otel_capture_content)
        #: Per core and per (operation, provider, model): the provider's name and the metrics'
        #: attribute sets, made once (a few cores and models per program; bounded anyway).
        self._provider_of: dict[str | None, str] = {}
        self._core_attrs: dict[str, dict[str, Any]] = {}
        self._llm_attrs: dict[tuple[str, str, str | None], tuple[dict[str, Any], ...]] = {}
        #: Where each syscall began (context, time, tool call), from submit until it ends.
        self._begun_by_id: dict[int, _Begun] = {}
        meter = state.meter
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Tokens used per LLM call"
        )
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="LLM call duration, queueing included"
        )
        self.queue_wait = meter.create_histogram(
            "aios.queue.wait", unit="s", description="Seconds a syscall waited for admission"
        )
        self.absorbed = meter.create_counter(
            "aios.rate_limits.absorbed", unit="{response}", description="429 responses retried by aios"
        )
        self.denied = meter.create_counter(
            "aios.calls.denied", unit="{call}", description="Calls refused by access rules or budgets"
        )

    # -- spans --------------------------------------------------------------------------------
    def _provider(self, sc: Syscall) -> str:
        name = sc.core_name or (sc.candidates[0] if sc.candidates else None)
        provider = self._provider_of.get(name)
        if provider is None:
            spec = self.kernel.router.specs.get(name) if name else None
            provider = _provider_name(spec.api) if spec is not None else "unknown"
            if spec is not None:  # a core's API never changes
                self._provider_of[name] = provider
        return provider

    def _begun(self) -> _Begun:
        return (otel_context.get_current(), time.time_ns(), current_tool_call())

    def on_submit(self, sc: Syscall) -> None:
        self._begun_by_id[sc.id] = self._begun()
        if self.capture and sc.kind is Kind.TOOL and sc.content is None:
            sc.content = handed()

    def on_finish(self, sc: Syscall) -> None:
        # Refused before the observers saw it (access rules): still one span, from here.
        begun = self._begun_by_id.pop(sc.id, None) or self._begun()
        if self.defer:
            self.backlog.put((self, sc, begun, time.time_ns()))
        else:
            self.span(sc, begun, time.time_ns())
            self.backlog.put((self, sc, None, 0))

    def _attributes(self, sc: Syscall, call_id: str | None) -> tuple[str, SpanKind, dict[str, Any]]:
        attrs: dict[str, Any] = {
            "gen_ai.agent.name": sc.agent,
            "aios.policy": self.policy,
            "aios.priority": sc.priority,
        }
        if sc.group:
            attrs["aios.group"] = sc.group
        if sc.framework:
            attrs["aios.framework"] = sc.framework
        if sc.kind is Kind.LLM:
            attrs["gen_ai.operation.name"] = sc.operation
            attrs["gen_ai.provider.name"] = self._provider(sc)
            attrs["gen_ai.request.stream"] = sc.stream
            if sc.model:
                attrs["gen_ai.request.model"] = sc.model
            # The kernel keeps the allowance, not whether the caller set one: the default is
            # left out, as the caller most likely did not ask for it.
            if sc.est_output_tokens != self.default_max_tokens:
                attrs["gen_ai.request.max_tokens"] = sc.est_output_tokens
            op = sc.operation
            return (f"{op} {sc.model}" if sc.model else op), SpanKind.CLIENT, attrs
        attrs["gen_ai.operation.name"] = "execute_tool"
        attrs["gen_ai.tool.name"] = sc.tool or ""
        attrs["gen_ai.tool.type"] = "function"
        if call_id:
            attrs["gen_ai.tool.call.id"] = str(call_id)
        return f"execute_tool {sc.tool}", SpanKind.INTERNAL, attrs

    def emit(self, sc: Syscall, begun: _Begun | None, end_ns: int) -> None:
        """The syscall's span (unless ``begun`` is ``None``: made already) and its measurements."""
        if begun is not None:
            self.span(sc, begun, end_ns)
        self._record(sc)

    def span(self, sc: Syscall, begun: _Begun, end_ns: int) -> None:
        """The syscall's span, with its start and end times as they were."""
        parent, start_ns, call_id = begun
        name, kind, attrs = self._attributes(sc, call_id)
        error_type = _error_type(sc)
        reasons = sc.retry_reasons
        usage_known = sc.usage_known
        attrs["aios.status"] = sc.status.value
        attrs["aios.queue.wait_s"] = sc.waited_s
        attrs["aios.attempts"] = sc.retries + (1 if sc.started_at is not None else 0)
        attrs["aios.admission"] = _admission(sc, error_type)
        if sc.core_name:
            attrs["aios.core"] = sc.core_name
        if reasons:
            attrs["aios.retry_reasons"] = list(reasons)
        if error_type:
            attrs["error.type"] = error_type
        response_model = sc.response_model
        if response_model:
            attrs["gen_ai.response.model"] = str(response_model)
        cost = sc.cost_usd
        if cost is not None:
            attrs["aios.cost_usd"] = float(cost)
        if sc.kind is Kind.LLM and usage_known:
            attrs["gen_ai.usage.input_tokens"] = sc.input_tokens
            attrs["gen_ai.usage.output_tokens"] = sc.output_tokens
        if sc.content is not None:
            attrs.update(_content_attributes(sc))
        direct = self.direct
        if direct is not None and direct.usable(len(attrs)):
            direct.emit(name, parent, kind, attrs, start_ns, end_ns, error_type)
            return
        span = self.tracer.start_span(name, context=parent, kind=kind, attributes=attrs, start_time=start_ns)
        if error_type:
            span.set_status(StatusCode.ERROR, error_type)
        span.end(end_time=end_ns)

    # -- metrics ------------------------------------------------------------------------------
    def _record(self, sc: Syscall) -> None:
        error_type = _error_type(sc)
        reasons = sc.retry_reasons
        usage_known = sc.usage_known
        core_name = sc.core_name or "none"
        core = self._core_attrs.get(core_name)
        if core is None:
            core = self._core_attrs[core_name] = {"aios.core": core_name}
        self.queue_wait.record(sc.waited_s, core)
        if error_type in _DENIED:
            self.denied.add(1, {"gen_ai.agent.name": sc.agent, "error.type": error_type or ""})
        absorbed = sum(1 for r in reasons if r == "rate_limit")
        if absorbed:
            self.absorbed.add(absorbed, core)
        if sc.kind is not Kind.LLM:
            return
        attrs, inputs, outputs = self._llm_metric_attrs(sc)
        if sc.turnaround_s is not None:
            timed = {**attrs, "error.type": error_type} if error_type else attrs
            self.duration.record(sc.turnaround_s, timed)
        if usage_known:
            self.token_usage.record(sc.input_tokens, inputs)
            self.token_usage.record(sc.output_tokens, outputs)

    def _llm_metric_attrs(self, sc: Syscall) -> tuple[dict[str, Any], ...]:
        """The attributes of an LLM call's measurements: all, by input tokens, by output tokens."""
        key = (sc.operation, self._provider(sc), sc.model)
        made = self._llm_attrs.get(key)
        if made is None:
            attrs: dict[str, Any] = {"gen_ai.operation.name": key[0], "gen_ai.provider.name": key[1]}
            if sc.model:
                attrs["gen_ai.request.model"] = sc.model
            made = (
                attrs,
                {**attrs, "gen_ai.token.type": "input"},
                {**attrs, "gen_ai.token.type": "output"},
            )
            if len(self._llm_attrs) >= _ATTRS_CACHE_SIZE:
                self._llm_attrs.clear()
            self._llm_attrs[key] = made
        return made

