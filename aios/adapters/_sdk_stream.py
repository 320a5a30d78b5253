"""Hold a lease for as long as an SDK response body is open, and read its usage on the way past.

Streams (``stream=True``, the ``.stream()`` helpers) and ``with_streaming_response`` return while
the body is still arriving. Every way of consuming or abandoning such a body ends in the HTTP
response's ``close``: the SDK's ``Stream`` closes it when exhausted, ``Stream.close()`` and the
context managers close it, and a dropped iterator closes it when collected. So the watch sits at
the byte stream of the ``httpx``/``httpx2`` response, where it sees every path and needs no
knowledge of the SDK's event classes:

- the bytes reached their end (or the API's own end marker went past): the call succeeded, with
  the usage read from the final usage chunk / ``message_delta`` / ``response.completed``;
- an error event or a broken connection: the call failed;
- closed before that, or its task cancelled, or garbage-collected unclosed: cancelled.

That is the one rule of :meth:`aios.kernel.lease.Lease.end`, which this watch calls.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from orjson import loads

from aios.adapters._sdk_usage import merge, response_model, usage_of_payload
from aios.kernel.failures import Usage
from aios.kernel.lease import Lease

# The event types after which a provider sends nothing more of interest.
_TERMINAL = frozenset({"message_stop", "response.completed", "response.incomplete", "response.failed"})
_TERMINAL_NAMES = frozenset(name.encode() for name in _TERMINAL)
# Data lines worth parsing: usage (OpenAI's last chunk, Anthropic's message events, the
# Responses API's final events, which also carry an ``error``) and errors.
_USAGE, _ERROR, _DONE = b'"usage"', b'"error"', b"[DONE]"
# OpenAI's ``include_usage`` puts a null usage on every chunk before the last.
_NO_USAGE = (b'"usage":null', b'"usage": null')
#: Bytes of a non-SSE body kept to read its usage at the end (bodies are small JSON documents).
_BODY_LIMIT = 4 << 20


class StreamWatch:
    """Reads the bytes of one open response and ends its lease exactly once."""

    __slots__ = (
        "_body",
        "_buf",
        "_finalizer",
        "_size",
        "broken",
        "complete",
        "error_event",
        "headers",
        "lease",
        "raw",
        "sse",
        "usage",
    )

    def __init__(
        self, lease: Lease, *, sse: bool, headers: Mapping[str, str] | None = None
    ) -> None:
        self.lease = lease
        self.sse = sse
        #: The answer's rate-limit headers, if not learned when it opened (see ``Lease.opened``).
        self.headers = headers
        self.usage: Usage | None = None
        self.complete = False
        self.error_event: str | None = None
        self.broken: BaseException | None = None
        self._buf = b""
        self._body: list[bytes] = []
        self._size = 0
        self._finalizer: weakref.finalize | None = None  # type: ignore[type-arg]
        #: Every byte of an SSE body, only for traces that capture content.
        self.raw: list[bytes] | None = None if lease.syscall.content is None else []

    # -- bytes going past -------------------------------------------------------------------------
    def feed(self, chunk: bytes) -> bytes:
        """Read ``chunk`` on its way to the caller; returns it."""
        if not self.sse:
            if self._size < _BODY_LIMIT:
                self._body.append(chunk)
                self._size += len(chunk)
            return chunk
        if self.raw is not None:
            self.raw.append(chunk)
        data = self._buf + chunk if self._buf else chunk
        end = data.rfind(b"\n") + 1
        if end == 0:  # no line ended yet
            self._buf = data
            return chunk
        if end < len(data):
            self._buf = data[end:]
            data = data[:end]
        else:
            self._buf = b""
        # Most chunks carry content deltas only: passed on without looking at their lines.
        # (``find`` rather than ``in``: a bytes ``in`` first tries its operand as an int, at
        # twice the cost, and this runs for every chunk.)
        find = data.find
        if find(b"event:") >= 0 or find(_DONE) >= 0 or find(_ERROR) >= 0 or _usage_in(data):
            for line in data.split(b"\n"):
                if line:
                    self._line(line)
        return chunk

    def failed(self, exc: BaseException) -> None:
        """Reading the body raised: the call broke (the caller sees the error)."""
        self.broken = exc

    def _line(self, line: bytes) -> None:
        """One complete SSE line, looked at once: the end marker, else an error or a usage."""
        if line.startswith(b"data:"):
            if line.find(_DONE) >= 0 and line[5:].strip() == _DONE:
                self.complete = True
            elif line.find(_ERROR) >= 0 or _usage_in(line):
                self._data(line)
        elif line.startswith(b"event:"):
            self._named(line[6:].strip())

    def _data(self, line: bytes) -> None:
        try:
            self._event(loads(line[5:]))  # orjson allows the whitespace around the JSON
        except ValueError:
            pass

    def _named(self, name: bytes) -> None:
        if name in _TERMINAL_NAMES:
            self.complete = True
        elif name == b"error":
            self.error_event = self.error_event or "the provider sent an error event mid-stream"

    def _event(self, event: Any) -> None:
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind in _TERMINAL:
            self.complete = True
        error = event.get("error")
        if error and kind in (None, "error"):
            message = error.get("message") if isinstance(error, dict) else str(error)
            self.error_event = f"the provider sent an error mid-stream: {message}"
        self.usage = merge(self.usage, usage_of_payload(event))
        model = response_model(event)
        if model is not None:
            self.lease.syscall.response_model = model

    def eof(self) -> None:
        if self._buf:
            self._line(self._buf)
            self._buf = b""
        self.complete = True

    # -- the end ----------------------------------------------------------------------------------
    def bind(self, owner: object) -> None:
        self._finalizer = self.lease.bind(owner)

    def closed(self) -> None:
        """The response was closed: end the lease by how far the body got."""
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self.lease.syscall.content is not None:
            _keep_content(self, self.lease.syscall.content)
        if not self.sse and self.complete and self._body:
            try:
                body = loads(b"".join(self._body))
                self.usage = usage_of_payload(body)
                model = response_model(body)
                if model is not None:
                    self.lease.syscall.response_model = model
            except ValueError:
                pass
            self._body = []
        self.lease.end(
            completed=self.complete,
            error=self.broken or self.error_event,
            usage=self.usage,
            reason="the response was closed before the provider finished sending it",
            headers=self.headers,
        )


def _usage_in(data: bytes) -> bool:
    """Whether ``data`` holds a usage that is not null."""
    found = data.count(_USAGE)
    return found > 0 and found > data.count(_NO_USAGE[0]) + data.count(_NO_USAGE[1])


def _keep_content(watch: StreamWatch, content: dict[str, Any]) -> None:
    """What the provider answered, for traces: the whole body, or the stream's events."""
    if watch.raw is not None and watch.sse:
        content["response_sse"] = b"".join(watch.raw)
    elif watch._body and watch.complete:
        content["response"] = b"".join(watch._body)


@functools.cache
def _proxies(httpx_module: Any) -> tuple[type[Any], type[Any]]:
    """Byte-stream proxies subclassing this httpx flavour's bases (``Response`` checks them).

    Reading and closing are spelled out (no context managers): they run for every call.
    """

    class SyncWatched(httpx_module.SyncByteStream):  # type: ignore[misc]
        def __init__(self, inner: Any, watch: StreamWatch) -> None:
            self._inner = inner
            self._watch = watch

        def __iter__(self) -> Iterator[bytes]:
            watch = self._watch
            try:
                for chunk in self._inner:
                    yield watch.feed(chunk)
            except Exception as exc:
                watch.failed(exc)
                raise
            watch.eof()

        def close(self) -> None:
            try:
                self._inner.close()
            finally:
                self._watch.closed()

    class AsyncWatched(httpx_module.AsyncByteStream):  # type: ignore[misc]
        def __init__(self, inner: Any, watch: StreamWatch) -> None:
            self._inner = inner
            self._watch = watch

        async def __aiter__(self) -> AsyncIterator[bytes]:
            watch = self._watch
            watch.lease.follow(asyncio.current_task())
            try:
                async for chunk in self._inner:
                    yield watch.feed(chunk)
            except Exception as exc:
                watch.failed(exc)
                raise
            watch.eof()

        async def aclose(self) -> None:
            try:
                await self._inner.aclose()
            finally:
                self._watch.closed()

    return SyncWatched, AsyncWatched


#: Per response class: its httpx flavour's async byte-stream base and the two proxies.
_FLAVOURS: dict[type, tuple[type[Any], type[Any], type[Any]]] = {}


def _flavour(response: Any) -> tuple[type[Any], type[Any], type[Any]]:
    kind = type(response)
    found = _FLAVOURS.get(kind)
    if found is None:
        module = sys.modules[kind.__module__.split(".", 1)[0]]
        found = _FLAVOURS[kind] = (module.AsyncByteStream, *_proxies(module))
    return found


def watch_response(
    response: Any, lease: Lease, *, sse: bool, headers: Mapping[str, str] | None = None
) -> StreamWatch:
    """Make closing ``response`` (an open ``httpx``/``httpx2`` response) end ``lease``, and
    learn ``headers`` then."""
    async_base, sync_cls, async_cls = _flavour(response)
    watch = StreamWatch(lease, sse=sse, headers=headers)
    inner = response.stream
    if isinstance(inner, async_base):
        response.stream = async_cls(inner, watch)
        lease.follow(asyncio.current_task())
    else:
        response.stream = sync_cls(inner, watch)
    watch.bind(response)
    return watch
