"""A lease: the right to perform one admitted call, ended exactly once; and held streams.

One rule ends every held call (a stream, a streaming HTTP body, a streaming tool):

- read to its end → **done** (with the usage seen on the way);
- the source raised an error → **failed**;
- anything else before the end → **cancelled**, and the slot is given back at once: the consumer
  closed it or broke out early and closed it, the task consuming it was cancelled (even while
  something still references the stream), or it was garbage-collected unclosed.

``Lease.end`` applies the rule; :class:`HeldStream` and :class:`AsyncHeldStream` apply it to any
iterator, and the SDK adapters' byte-stream watch applies it to an HTTP body.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from aios.kernel.context import syscall_scope
from aios.kernel.cores import CoreSpec
from aios.kernel.failures import Failure, Usage, classify_generic
from aios.kernel.syscall import CANCELLED, DONE, FAILED, RUNNING, Syscall

if TYPE_CHECKING:
    from aios.kernel.kernel import Kernel

T = TypeVar("T")
#: Folds one item of a stream into the usage seen so far.
UsageFold = Callable[[Usage | None, T], Usage | None]
#: Wraps the awaitable that admits a stream and reads its first item (a framework's cancel token).
Admit = Callable[[Awaitable[Any]], Awaitable[Any]]

_END: Any = object()
_ABANDONED = "the stream was garbage-collected before it was read to the end or closed"
_CLOSED = "the stream was closed before its end"
_TASK_ENDED = "the task consuming the stream was cancelled before reading it to the end"


class Lease:
    """Held by a caller between admission and the end of its call (for a stream: its last chunk).

    ``succeed``, ``fail``, ``cancel`` and ``end`` are idempotent: the first one ends the syscall
    and gives its slot back; later ones do nothing.
    """

    __slots__ = ("__weakref__", "_followed", "kernel", "syscall")

    def __init__(self, kernel: Kernel, syscall: Syscall) -> None:
        self.kernel = kernel
        self.syscall = syscall
        self._followed: tuple[asyncio.Task[Any], Callable[[asyncio.Task[Any]], None]] | None = None

    @property
    def core(self) -> CoreSpec | None:
        core = self.syscall.core
        return None if core is None else core.spec

    @property
    def active(self) -> bool:
        return self.syscall.status is RUNNING

    def observe(
        self, *, usage: Usage | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        """Record usage and rate-limit headers without ending the call (streams, as they go)."""
        sc = self.syscall
        if usage is not None:
            _record(sc, usage)
        if sc.core_name is None or headers is None:
            return
        # Headers without rate limits still end a core's slow start: the provider answered.
        if headers or _probing(sc):
            self.kernel.scheduler.learn(sc.core_name, headers, sc)

    def opened(self, headers: Mapping[str, str] | None) -> Mapping[str, str] | None:
        """An answer arrived whose body is still to come (a stream): returns the headers to end
        the call with, or ``None`` if they were learned now.

        A core still in its slow start learns them at once (nothing else is admitted until it
        does). Otherwise they are learned when the call ends, in the step that ends it: one
        locked step (one round trip with shared state) per call instead of two. Learning later
        errs on the safe side: the call's charge stays in flight meanwhile, and the provider's
        remaining count, taken before the calls admitted since, can only look higher than ours.
        """
        sc = self.syscall
        if headers is None or sc.core_name is None:
            return None
        if _probing(sc):
            self.observe(headers=headers)
            return None
        return headers

    def succeed(
        self, *, usage: Usage | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        if self._followed is not None:
            self._unfollow()
        sc = self.syscall
        if usage is not None:
            _record(sc, usage)
        if sc.core_name is None or not (headers or (headers is not None and _probing(sc))):
            headers = None  # nothing ``observe`` would learn from
        # The headers are learned as ``observe`` would, in the same step that ends the call
        # (``Kernel._finish``, inlined: nothing to cancel, so no error to wake anyone with).
        kernel = self.kernel
        if kernel.scheduler.finish(sc, DONE, usage_known=sc.usage_known, headers=headers):
            if kernel.observers:
                kernel._observe_final(sc)

    def fail(self, error: BaseException | str) -> None:
        self._unfollow()
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self.kernel._finish(self.syscall, FAILED, error=text)

    def cancel(self, reason: str = "cancelled by the caller", *, ran: bool = True) -> None:
        self._unfollow()
        self.kernel._finish(self.syscall, CANCELLED, error=reason, ran=ran)

    def end(
        self,
        *,
        completed: bool,
        error: BaseException | str | None = None,
        usage: Usage | None = None,
        reason: str = _CLOSED,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """End a held call by the one rule: an error fails it, its end is done, else cancelled.

        A ``BaseException`` that is not an ``Exception`` (``GeneratorExit``, task cancellation,
        ``KeyboardInterrupt``) is an interruption, not a failure of the call. ``headers`` are
        those :meth:`opened` kept: learned whatever the outcome (the provider did answer).
        """
        if error is not None and not isinstance(error, (str, Exception)):
            error, completed = None, False
        if error is not None:
            self.observe(usage=usage, headers=headers)
            self.fail(error)
        elif completed:
            self.succeed(usage=usage, headers=headers)
        else:
            self.observe(usage=usage, headers=headers)
            self.cancel(reason)

    # -- abandonment ------------------------------------------------------------------------------
    def bind(self, owner: object) -> weakref.finalize:  # type: ignore[type-arg]
        """End the lease as cancelled if ``owner`` (a stream) is collected before it ended."""
        return weakref.finalize(owner, _abandon, self.kernel, self.syscall)

    def follow(self, task: asyncio.Task[Any] | None) -> None:
        """Cancel the lease if ``task`` (the one consuming the stream) is cancelled.

        A cancelled task's exception keeps its frames, and so an abandoned stream, alive: without
        this the slot would stay taken until garbage collection. A task that ends otherwise may
        have handed the stream on (and reading its exception would mark it retrieved), so it is
        left alone.
        """
        followed = self._followed
        if task is None or (followed is not None and followed[0] is task) or not self.active:
            return
        self._unfollow()
        ref = weakref.ref(self)

        def on_done(t: asyncio.Task[Any]) -> None:
            lease = ref()
            if lease is None or not lease.active:
                return
            if t.cancelled():
                lease._followed = None
                lease.cancel(_TASK_ENDED)

        task.add_done_callback(on_done)
        self._followed = (task, on_done)

    def _unfollow(self) -> None:
        followed = self._followed
        if followed is None:
            return
        self._followed = None
        task, callback = followed
        try:
            same_loop = asyncio.get_running_loop() is task.get_loop()
        except RuntimeError:
            same_loop = False
        if same_loop:  # else the callback stays and finds the lease ended: harmless
            task.remove_done_callback(callback)

    def __repr__(self) -> str:
        return f"<Lease {self.syscall!r} core={self.syscall.core_name!r}>"


def _record(sc: Syscall, usage: Usage) -> None:
    if usage.input_tokens is not None:
        sc.input_tokens = usage.input_tokens
    if usage.output_tokens is not None:
        sc.output_tokens = usage.output_tokens
    sc.usage_known = True


def _probing(sc: Syscall) -> bool:
    core = sc.core
    return core is not None and core.probing


def _abandon(kernel: Kernel, sc: Syscall) -> None:
    # A finalizer runs wherever the garbage collector does, also in a thread inside the
    # scheduler's lock (which is not reentrant): ending the call there would deadlock. Then the
    # kernel's own thread ends it, as soon as the lock is free.
    if kernel.scheduler.busy():
        kernel.soon(kernel._finish, sc, CANCELLED, error=_ABANDONED)
    else:
        kernel._finish(sc, CANCELLED, error=_ABANDONED)


def _keep_last(_usage: Usage | None, _item: Any) -> Usage | None:
    return _usage


class _Held(Generic[T]):
    """What the sync and async held streams share: the syscall, its lease, and ending it once."""

    __slots__ = (
        "__weakref__",
        "_classify",
        "_finalizer",
        "_fold",
        "_kernel",
        "_lease",
        "_sc",
        "_source",
        "_usage",
        "closed",
    )

    def __init__(
        self,
        kernel: Kernel,
        syscall: Syscall,
        fold: UsageFold[T] | None,
        classify: Callable[[BaseException], Failure],
    ) -> None:
        self._kernel = kernel
        self._sc = syscall
        self._fold: UsageFold[T] = fold or _keep_last
        self._classify = classify
        self._lease: Lease | None = None
        self._source: Any = None
        self._usage: Usage | None = None
        self._finalizer: weakref.finalize | None = None  # type: ignore[type-arg]
        #: Ended (or closed before it began): iteration stops.
        self.closed = False

    @property
    def syscall(self) -> Syscall:
        return self._sc

    def _hold(self, lease: Lease, source: Any) -> None:
        self._lease, self._source = lease, source
        if self._finalizer is not None:  # an earlier attempt's (retried)
            self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _abandon, self._kernel, self._sc)

    def _item(self, item: T) -> T:
        if item is _END:
            self._end(completed=True)
            return item
        self._usage = self._fold(self._usage, item)
        core = self._sc.core
        if core is not None and core.probing and self._lease is not None:
            self._lease.observe(headers={})  # the provider answered: its core's slow start ends
        return item

    def _end(self, *, completed: bool, error: BaseException | None = None) -> None:
        self.closed = True
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._lease is not None:
            self._lease.end(completed=completed, error=error, usage=self._usage)


class HeldStream(_Held[T], Iterator[T]):
    """An LLM or tool syscall held from admission to the last item of a sync stream.

    ``open()`` starts the provider's stream; it and the first item are one attempt (retried by
    the kernel like any call). Later items are read inside the syscall's scope, so nothing below
    intercepts them again. Use it as the stream, or ``with`` it, or ``close()`` it.
    """

    __slots__ = ("_open",)

    def __init__(
        self,
        kernel: Kernel,
        syscall: Syscall,
        open: Callable[[], Iterable[T]],
        *,
        fold: UsageFold[T] | None = None,
        classify: Callable[[BaseException], Failure] = classify_generic,
    ) -> None:
        super().__init__(kernel, syscall, fold, classify)
        self._open = open

    def _start(self, lease: Lease) -> T:
        it = iter(self._open())
        self._hold(lease, it)
        return next(it, _END)

    def __iter__(self) -> HeldStream[T]:
        return self

    def __next__(self) -> T:
        if self.closed:
            raise StopIteration
        try:
            if self._lease is None:
                item = self._kernel.call(self._sc, self._start, classify=self._classify, hold=True)
            else:
                with syscall_scope(self._sc.kind.value):
                    item = next(self._source, _END)
        except BaseException as exc:
            if self._lease is None:  # the kernel ended the syscall already
                self.closed = True
                raise
            self._end(completed=False, error=exc)
            self._close_source()
            raise
        if self._item(item) is _END:
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop reading: ends the syscall (cancelled unless it already ended) and closes the source."""
        if not self.closed:
            self._end(completed=False)
        self._close_source()

    def _close_source(self) -> None:
        source, self._source = self._source, None
        close = getattr(source, "close", None)
        if close is not None:
            with syscall_scope(self._sc.kind.value):
                close()

    def __enter__(self) -> HeldStream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncHeldStream(_Held[T], AsyncIterator[T]):
    """:class:`HeldStream` for async iterators; also ends when its consuming task is cancelled."""

    __slots__ = ("_admit", "_open")

    def __init__(
        self,
        kernel: Kernel,
        syscall: Syscall,
        open: Callable[[], AsyncIterable[T]],
        *,
        fold: UsageFold[T] | None = None,
        classify: Callable[[BaseException], Failure] = classify_generic,
        admit: Admit | None = None,
    ) -> None:
        super().__init__(kernel, syscall, fold, classify)
        self._open = open
        self._admit = admit

    async def _start(self, lease: Lease) -> T:
        it = aiter(self._open())
        self._hold(lease, it)
        return await anext(it, _END)

    def __aiter__(self) -> AsyncHeldStream[T]:
        return self

    async def __anext__(self) -> T:
        if self.closed:
            raise StopAsyncIteration
        try:
            if self._lease is None:
                call = self._kernel.acall(self._sc, self._start, classify=self._classify, hold=True)
                item = await (call if self._admit is None else self._admit(call))
            else:
                with syscall_scope(self._sc.kind.value):
                    item = await anext(self._source, _END)
        except BaseException as exc:
            if self._lease is None:
                self.closed = True
                raise
            self._end(completed=False, error=exc)
            await self._aclose_source()
            raise
        if self._item(item) is _END:
            raise StopAsyncIteration
        if self._lease is not None:
            self._lease.follow(asyncio.current_task())
        return item

    async def aclose(self) -> None:
        """Stop reading: ends the syscall (cancelled unless it already ended) and closes the source."""
        if not self.closed:
            self._end(completed=False)
        await self._aclose_source()

    async def _aclose_source(self) -> None:
        source, self._source = self._source, None
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            with syscall_scope(self._sc.kind.value):
                await aclose()

    async def __aenter__(self) -> AsyncHeldStream[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
