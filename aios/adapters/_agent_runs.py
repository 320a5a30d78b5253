"""A framework agent's run as one scope: ``agent_run`` for a block, and for a generator's steps.

``agent_run(identity)`` names the caller and enters the scope hooks (with tracing: an
``invoke_agent {name}`` span, under which the run's LLM and tool syscall spans nest). A run that
is a generator (a langgraph graph's ``stream``, an autogen agent's ``on_messages_stream``) cannot
hold a context open across its ``yield``s: the consumer would run inside it between steps, and
the hooks would exit in another context than they entered. So the hooks are entered once, in a
private copy of the context, at the first step; each step then runs with the context variables
they set (the identity, the current span), and the hooks exit in that private context when the
generator ends. With no scope hooks registered a generator run is the plain per-step identity.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar

from aios.adapters.base import aeach_step_in, each_step_in
from aios.kernel.context import AgentIdentity, acting_as, agent_run, current_agent, scope_hooks

T = TypeVar("T")


def run_as(identity: AgentIdentity | None) -> AbstractContextManager[Any]:
    """``agent_run(identity)``; nothing new inside a run of the same agent (one span per run)."""
    if identity is None or current_agent() == identity:
        return nullcontext()
    return agent_run(identity)


class _StepRun:
    """One agent run spread over the steps of a generator."""

    __slots__ = ("_context", "_identity", "_scope", "_values")

    def __init__(self, identity: AgentIdentity) -> None:
        self._identity = identity
        self._context: contextvars.Context | None = None
        self._scope: AbstractContextManager[Any] | None = None
        self._values: list[tuple[contextvars.ContextVar[Any], Any]] = []

    def _open(self) -> None:
        context = contextvars.copy_context()
        scope = agent_run(self._identity)
        context.run(scope.__enter__)
        self._context, self._scope = context, scope
        outer = contextvars.copy_context()
        self._values = [(var, value) for var, value in context.items() if outer.get(var, _UNSET) is not value]

    @contextmanager
    def step(self) -> Iterator[None]:
        if self._context is None:
            self._open()
        tokens = [(var, var.set(value)) for var, value in self._values]
        try:
            yield
        finally:
            for var, token in reversed(tokens):
                var.reset(token)

    def close(self, error: BaseException | None) -> None:
        context, scope = self._context, self._scope
        if context is None or scope is None:
            return
        self._context = self._scope = None
        if error is None or isinstance(error, GeneratorExit):  # stopped early by its consumer: no error
            context.run(scope.__exit__, None, None, None)
        else:
            context.run(scope.__exit__, type(error), error, error.__traceback__)


_UNSET = object()


def each_step_in_run(gen: Iterable[T], identity: AgentIdentity | None) -> Iterator[T] | Iterable[T]:
    """``gen`` as one run of ``identity`` (as it is for ``None`` or inside that agent's run)."""
    if identity is None or current_agent() == identity:
        return gen
    if not scope_hooks:
        return each_step_in(gen, lambda: acting_as(identity))
    return _steps(gen, _StepRun(identity))


def _steps(gen: Iterable[T], run: _StepRun) -> Iterator[T]:
    error: BaseException | None = None
    try:
        yield from each_step_in(gen, run.step)
    except BaseException as exc:
        error = exc
        raise
    finally:
        run.close(error)


def aeach_step_in_run(
    agen: AsyncIterable[T], identity: AgentIdentity | None
) -> AsyncIterator[T] | AsyncIterable[T]:
    """``each_step_in_run`` for async generators."""
    if identity is None or current_agent() == identity:
        return agen
    if not scope_hooks:
        return aeach_step_in(agen, lambda: acting_as(identity))
    return _asteps(agen, _StepRun(identity))


async def _asteps(agen: AsyncIterable[T], run: _StepRun) -> AsyncIterator[T]:
    error: BaseException | None = None
    try:
        async for item in aeach_step_in(agen, run.step):
            yield item
    except BaseException as exc:
        error = exc
        raise
    finally:
        run.close(error)
