"""Who is calling: the current agent, carried by a contextvar, and the guard against nested syscalls."""

from __future__ import annotations

import contextvars
import functools
import inspect
import itertools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from aios.config import PRIORITY_LIMIT

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class AgentIdentity:
    name: str
    priority: int | None = None
    group: str | None = None
    framework: str | None = None


_current: contextvars.ContextVar[AgentIdentity | None] = contextvars.ContextVar(
    "aios_agent", default=None
)
_inside: contextvars.ContextVar[str | None] = contextvars.ContextVar("aios_inside", default=None)
#: The variable ``syscall_scope`` sets, for the kernel's per-call path to set without a scope object.
INSIDE_SYSCALL = _inside
#: The id of the outermost ``agent(...)`` scope: a run, for the per-run caps.
_scope_run: contextvars.ContextVar[str | None] = contextvars.ContextVar("aios_run", default=None)
_run_ids = itertools.count(1)


def current_run_scope() -> str | None:
    """The outermost ``agent(...)`` scope this code runs in, as a run id (``None`` outside)."""
    return _scope_run.get()


@contextmanager
def _user_scope(identity: AgentIdentity) -> Iterator[None]:
    """An ``agent(...)`` scope: the outermost one is also a run (framework agents are not)."""
    outermost = _scope_run.get() is None
    token = _scope_run.set(f"scope-{os.getpid()}-{next(_run_ids)}") if outermost else None
    try:
        with _agent_scope(identity):
            yield
    finally:
        if token is not None:
            _scope_run.reset(token)

#: Context managers entered around every ``agent(...)`` scope, innermost last. Tracing adds one
#: that opens an ``invoke_agent`` span; with none registered a scope costs nothing more.
scope_hooks: list[Callable[[AgentIdentity], AbstractContextManager[Any]]] = []


_tool_call: contextvars.ContextVar[str | None] = contextvars.ContextVar("aios_tool_call", default=None)


@contextmanager
def agent_run(identity: AgentIdentity) -> Iterator[None]:
    """A framework agent's run (or turn): ``acting_as`` plus the scope hooks of ``agent``."""
    with _agent_scope(identity):
        yield


@contextmanager
def tool_call(call_id: str | None) -> Iterator[None]:
    """The framework's id of the tool call about to become a syscall (tracing reads it)."""
    token = _tool_call.set(call_id)
    try:
        yield
    finally:
        _tool_call.reset(token)


def current_tool_call() -> str | None:
    return _tool_call.get()


@contextmanager
def _agent_scope(identity: AgentIdentity) -> Iterator[None]:
    token = _current.set(identity)
    try:
        if not scope_hooks:
            yield
            return
        with ExitStack() as stack:
            for hook in list(scope_hooks):
                stack.enter_context(hook(identity))
            yield
    finally:
        _current.reset(token)


#: ``sys.argv[0]`` and the agent name made of it: every call without a named agent asks.
_process_name: tuple[str, str] | None = None


def process_agent_name() -> str:
    """The agent name used when nothing names one: the program's name."""
    global _process_name
    main = sys.argv[0] if sys.argv and sys.argv[0] else ""
    cached = _process_name
    if cached is not None and cached[0] == main:
        return cached[1]
    base = os.path.basename(main)
    if base in ("", "-c", "-m", "__main__.py", "pytest", "py.test"):
        name = "main"
    else:
        name = base.removesuffix(".py") or "main"
    _process_name = (main, name)
    return name


def current_agent() -> AgentIdentity | None:
    return _current.get()


class agent:
    """Run code as agent ``name``: a context manager (sync or async) and a decorator.

    >>> with agent("planner", priority=5):
    ...     ...  # every LLM and tool call in here is attributed to "planner"
    """

    def __init__(self, name: str, priority: int | None = None, *, group: str | None = None) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"an agent needs a non-empty name, got {name!r}")
        if priority is not None and not isinstance(priority, int):
            raise TypeError(f"agent priority must be an int, got {priority!r}")
        if priority is not None and abs(priority) > PRIORITY_LIMIT:
            # Never format a huge int in full: str() of one beyond 4300 digits raises.
            sign = "-" if priority < 0 else ""
            digits = int(priority.bit_length() * 0.30103)
            shown = repr(priority) if digits < 18 else f"about {sign}10**{digits}"
            raise ValueError(f"agent priority must be from -10**9 to 10**9 (aios.agent), got {shown}")
        self.identity = AgentIdentity(name.strip(), priority, group)
        self._scopes: list[AbstractContextManager[None]] = []

    def __enter__(self) -> AgentIdentity:
        scope = _user_scope(self.identity)
        scope.__enter__()
        self._scopes.append(scope)
        return self.identity

    def __exit__(self, *exc: Any) -> None:
        self._scopes.pop().__exit__(*exc)

    async def __aenter__(self) -> AgentIdentity:
        return self.__enter__()

    async def __aexit__(self, *exc: Any) -> None:
        self.__exit__(*exc)

    def __call__(self, fn: F) -> F:
        identity = self.identity
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with _user_scope(identity):
                    return await fn(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _user_scope(identity):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def inside_syscall() -> str | None:
    """The kind of syscall this code runs inside (``"llm"``/``"tool"``), or ``None``.

    Adapters check it so that one logical call is scheduled once: langchain calling the openai
    SDK is one LLM call, and the kernel's own work is never intercepted.
    """
    return _inside.get()


def inside_llm_call() -> bool:
    """Inside an LLM syscall (or suppressed code): a call here is part of one already scheduled.

    Inside a *tool* syscall it is not: a tool that runs another agent makes LLM calls of its own.
    """
    return _inside.get() in ("llm", "suppressed")


class syscall_scope:
    """Code in this block runs inside a syscall of ``kind`` (``None``: outside any syscall).

    A class, not a generator: the kernel enters one around every call it performs.
    """

    __slots__ = ("_kind", "_token")

    def __init__(self, kind: str | None) -> None:
        self._kind = kind

    def __enter__(self) -> None:
        self._token = _inside.set(self._kind)

    def __exit__(self, *exc: object) -> None:
        _inside.reset(self._token)


@contextmanager
def suppressed() -> Iterator[None]:
    """Code in here is not intercepted by any adapter."""
    with syscall_scope("suppressed"):
        yield


class agent_step:
    """One step of a framework agent: run as ``identity``, outside any enclosing syscall.

    An agent can run inside another's tool (delegation, agents as tools); its own LLM and tool
    calls are then syscalls of their own, not part of the tool that started it.
    """

    __slots__ = ("_identity", "_tokens")

    def __init__(self, identity: AgentIdentity | None) -> None:
        self._identity = identity

    def __enter__(self) -> None:
        ident = self._identity
        self._tokens = (_current.set(ident) if ident is not None else None, _inside.set(None))

    def __exit__(self, *exc: object) -> None:
        current, inside = self._tokens
        _inside.reset(inside)
        if current is not None:
            _current.reset(current)


@contextmanager
def acting_as(identity: AgentIdentity) -> Iterator[AgentIdentity]:
    """Attribute calls in this block to ``identity`` (adapters use it to name framework agents)."""
    token = _current.set(identity)
    try:
        yield identity
    finally:
        _current.reset(token)
