"""The adapter contract: patch a framework so its calls go through the kernel, and undo it exactly.

After OpenTelemetry's ``BaseInstrumentor``: public ``patch()``/``unpatch()`` that warn on
repetition and check the framework's version range; subclasses implement ``_patch()`` and
``_unpatch()`` and wrap with ``self.wrap(...)``, which records every original so that
``unpatch`` puts back the very same objects. Patching before the framework is imported waits for
its import (a post-import hook) and patches then.

The helpers every wrapper uses live here too, so that each adapter only says *where* its
framework is intercepted and *what* a call is: ``llm_syscall`` builds the syscall, ``kernel``
runs it (``call``/``acall``), ``stream``/``astream`` hold it over a stream, ``run_tool`` /
``arun_tool`` run a tool, and ``gated_below`` is the one rule for "does an SDK adapter already
make this call's LLM syscall?".
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import logging
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import wrapt
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from aios import runtime
from aios.errors import AdapterError
from aios.kernel.context import AgentIdentity, current_agent, inside_syscall, tool_call
from aios.kernel.failures import Failure, classify_generic
from aios.kernel.lease import Admit, AsyncHeldStream, HeldStream, UsageFold
from aios.kernel.syscall import Syscall
from aios.kernel.tokens import estimate_tokens

if TYPE_CHECKING:
    from aios.kernel.kernel import Kernel

log = logging.getLogger("aios.adapters")

_MISSING = object()
T = TypeVar("T")


def installed_version(distribution: str) -> str | None:
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    # The Version header alone: ``dist.version`` runs the email parser over the whole file
    # (long descriptions included), ≈ 1.5 ms a call, twice per adapter in every process that
    # patches under ``aios run``.
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    for line in text.partition("\n\n")[0].splitlines():
        if line[:8].lower() == "version:":
            return line[8:].strip()
    return dist.version


class Adapter(ABC):
    """One framework's interception. Subclasses set the class attributes and the two hooks."""

    #: The name users pass to ``aios.patch()``.
    name: ClassVar[str]
    #: The distribution whose version is checked (``pip show`` name).
    distribution: ClassVar[str]
    #: Supported versions as a pip specifier (``">=2,<4"``); the same range is the extra.
    supported: ClassVar[str]
    #: The module whose import triggers patching.
    module: ClassVar[str]
    #: The framework name syscalls are attributed to (default: ``name``).
    framework: ClassVar[str] = ""
    #: Classes of this framework that reach a provider SDK: ``"module.Class"`` (or a package
    #: name) -> the SDK adapter's name, or ``None`` for a wrapper that only delegates to another
    #: model (its calls are made by what it delegates to). See ``gated_below``.
    sdk_backed: ClassVar[Mapping[str, str | None]] = {}

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._wanted = False
        self._applied = False
        self._hook_registered = False
        self._originals: list[tuple[Any, str, Any]] = []
        self._kernel: Kernel | None = None
        self._sdk_of: dict[type, str | object | None] = {}
        self.error: str | None = None

    # -- facts ------------------------------------------------------------------------------------
    def version(self) -> str | None:
        return installed_version(self.distribution)

    def is_installed(self) -> bool:
        return self.version() is not None

    def in_range(self) -> bool | None:
        """Whether the installed version is supported (``None`` if not installed or unparsable)."""
        v = self.version()
        if v is None:
            return None
        try:
            return Version(v) in SpecifierSet(self.supported)
        except (InvalidVersion, InvalidSpecifier):
            return None

    @property
    def patched(self) -> bool:
        """Whether the framework's classes are wrapped right now."""
        return self._applied

    @property
    def requested(self) -> bool:
        """Whether ``patch()`` was called (the import may still be pending)."""
        return self._wanted

    # -- public contract --------------------------------------------------------------------------
    def patch(self, kernel: Kernel | None = None) -> None:
        """Patch now if the framework is imported, else as soon as it is. Idempotent.

        :param kernel: the kernel this adapter's calls go to; by default the process's kernel
            (``aios.get_kernel()``, booted on first use).
        """
        with self._lock:
            if kernel is not None:
                self._kernel = kernel
            if self._wanted:
                log.debug("aios adapter %r is already patched; nothing to do", self.name)
                return
            if self.in_range() is False:
                log.warning(
                    "aios adapter %r supports %s %s, but %s is installed; patching anyway, "
                    "but some calls may not be intercepted",
                    self.name,
                    self.distribution,
                    self.supported,
                    self.version(),
                )
            self._wanted = True
            self.error = None
            if not self._hook_registered:
                self._hook_registered = True
                # Calls the hook at once if the module is already imported.
                wrapt.register_post_import_hook(self._on_import, self.module)
            elif self.module in sys.modules:
                self._on_import(sys.modules[self.module])
            if self.error is not None:
                self._wanted = False
                raise AdapterError(
                    f"aios adapter {self.name!r} could not patch {self.distribution} "
                    f"{self.version()}: {self.error}"
                )

    def unpatch(self) -> None:
        """Put back every original object by identity. Idempotent."""
        with self._lock:
            self._wanted = False
            self._kernel = None
            if not self._applied:
                return
            try:
                self._unpatch()
            finally:
                self._restore_all()
                self._applied = False

    def _on_import(self, _module: Any) -> None:
        with self._lock:
            if not self._wanted or self._applied:
                return
            try:
                self._patch()
            except Exception as exc:  # any framework surprise; the others keep working
                self._restore_all()
                self.error = f"{type(exc).__name__}: {exc}"
                # Raising here would break the program's own import: report and carry on.
                log.warning("aios adapter %r failed to patch: %s", self.name, self.error)
                return
            self._applied = True

    # -- for wrappers: the kernel and the syscalls ------------------------------------------------
    @property
    def kernel(self) -> Kernel:
        """The kernel given to ``patch``, else the process's kernel."""
        k = self._kernel
        return k if k is not None else runtime.kernel()

    def llm_syscall(
        self,
        *,
        api: str,
        model: str | None,
        prompt: Any = None,
        base_url: str | None = None,
        max_tokens: int | None = None,
        stream: bool = False,
        agent: AgentIdentity | None = None,
        input_tokens: int | None = None,
        operation: str = "chat",
    ) -> Syscall:
        """A new LLM syscall of this framework (``prompt`` is estimated unless ``input_tokens``)."""
        if input_tokens is None:
            input_tokens = estimate_tokens(prompt) if prompt is not None else 0
        ident = agent or current_agent()
        framework = (ident.framework if ident is not None else None) or self.framework or self.name
        return self.kernel.llm_syscall(
            api=api,
            model=model,
            base_url=base_url,
            input_tokens=input_tokens,
            max_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None,
            stream=stream,
            framework=framework,
            agent=agent,
            operation=operation,
        )

    def stream(
        self,
        sc: Syscall,
        open: Callable[[], Iterable[T]],
        *,
        fold: UsageFold[T] | None = None,
        classify: Callable[[BaseException], Failure] = classify_generic,
    ) -> HeldStream[T]:
        """Hold ``sc`` from admission to the last item of the stream ``open()`` returns."""
        return HeldStream(self.kernel, sc, open, fold=fold, classify=classify)

    def astream(
        self,
        sc: Syscall,
        open: Callable[[], AsyncIterable[T]],
        *,
        fold: UsageFold[T] | None = None,
        classify: Callable[[BaseException], Failure] = classify_generic,
        admit: Admit | None = None,
    ) -> AsyncHeldStream[T]:
        """``stream`` for async iterators."""
        return AsyncHeldStream(self.kernel, sc, open, fold=fold, classify=classify, admit=admit)

    def run_tool(
        self,
        tool: str,
        fn: Callable[[], T],
        *,
        agent: AgentIdentity | None = None,
        arguments: Any = None,
        call_id: str | None = None,
    ) -> T:
        """Run a tool call as a tool syscall, once; inside a running tool it is part of that tool.

        The one place a sync tool call of this framework reaches the kernel. ``arguments`` are
        shown to the approver of a ``confirm`` tool (never passed to ``fn``); ``call_id`` is the
        framework's id of the call, for tracing. A refused call raises :class:`ToolRefused`
        before ``fn`` runs: the adapter returns its framework's tool-error result for it.
        """
        if inside_syscall():
            return fn()
        with tool_call(call_id):
            if self.capturing():  # traces get the arguments and the result
                # Imported here: a program that captures nothing never loads aios.telemetry.
                from aios.telemetry.content import handing, keeping_result

                content: dict[str, Any] = {"arguments": arguments}
                with handing(content):
                    return self.kernel.run_tool(
                        tool,
                        keeping_result(content, fn),
                        framework=self.framework or self.name,
                        agent=agent,
                        arguments=arguments,
                    )
            return self.kernel.run_tool(
                tool, fn, framework=self.framework or self.name, agent=agent, arguments=arguments
            )

    async def arun_tool(
        self,
        tool: str,
        fn: Callable[[], Awaitable[T]],
        *,
        agent: AgentIdentity | None = None,
        arguments: Any = None,
        call_id: str | None = None,
    ) -> T:
        """``run_tool`` for async tools (``agent`` read before any executor hop loses it)."""
        if inside_syscall():
            return await fn()
        with tool_call(call_id):
            if self.capturing():  # traces get the arguments and the result
                from aios.telemetry.content import akeeping_result, handing

                content: dict[str, Any] = {"arguments": arguments}
                with handing(content):
                    return await self.kernel.arun_tool(
                        tool,
                        akeeping_result(content, fn),
                        framework=self.framework or self.name,
                        agent=agent,
                        arguments=arguments,
                    )
            return await self.kernel.arun_tool(
                tool, fn, framework=self.framework or self.name, agent=agent, arguments=arguments
            )

    def capturing(self) -> bool:
        """Whether calls hand their content to traces (``otel`` with ``otel_capture_content``).

        Adapters build a syscall's ``content`` only when this is true: with it off, nothing of
        a call's content is kept or serialized.
        """
        config = self.kernel.config
        return config.otel_capture_content and config.otel

    # -- the one gating rule --------------------------------------------------------------------
    def gated_below(self, cls: type) -> bool:
        """Whether a model of class ``cls`` gets its LLM syscall below this framework.

        True for a class in ``sdk_backed`` whose SDK adapter is patched right now (it makes the
        syscall at the SDK's transport, seeing the real URL, usage and limits), and for a
        delegating wrapper; false otherwise, also when that SDK's adapter is disabled
        (``disable_adapters``) or unpatched: then this framework's adapter makes the syscall.
        Decided at call time, so patching order does not matter.
        """
        sdk = self._sdk_entry(cls)
        if sdk is _MISSING:
            return False
        return sdk is None or sdk_adapter_patched(str(sdk))

    def sdk_of(self, cls: type) -> str | None:
        """The SDK adapter's name for an SDK-backed class (``sdk_backed``), else ``None``."""
        sdk = self._sdk_entry(cls)
        return sdk if isinstance(sdk, str) else None

    def _sdk_entry(self, cls: type) -> object:
        sdk = self._sdk_of.get(cls, _MISSING)
        if sdk is _MISSING:
            sdk = self._sdk_of[cls] = _find_sdk(cls, self.sdk_backed)
        return sdk

    # -- for subclasses -----------------------------------------------------------------------------
    @abstractmethod
    def _patch(self) -> None:
        """Wrap the framework (the module is imported). Use ``self.wrap``."""

    def _unpatch(self) -> None:  # noqa: B027 - optional: ``wrap`` records are undone anyway
        """Undo anything not done through ``self.wrap``."""

    def wrap(self, target: str | Any, attribute: str, wrapper: Callable[..., Any]) -> None:
        """``wrapt.wrap_function_wrapper`` that remembers the original for ``unpatch``.

        :param target: a module name or object, e.g. ``"openai._base_client"``.
        :param attribute: a dotted attribute, e.g. ``"SyncAPIClient.request"``.
        """
        owner = importlib.import_module(target) if isinstance(target, str) else target
        *path, attr = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = owner.__dict__.get(attr, _MISSING) if hasattr(owner, "__dict__") else _MISSING
        if original is _MISSING:
            original = inspect.getattr_static(owner, attr, _MISSING)
            inherited = True
        else:
            inherited = False
        if original is _MISSING:
            raise AdapterError(f"{owner!r} has no attribute {attr!r} to wrap")
        wrapt.wrap_function_wrapper(owner, attr, wrapper)
        self._originals.append((owner, attr, _MISSING if inherited else original))

    def replace(self, owner: Any, attribute: str, value: Any) -> None:
        """Set ``owner.attribute = value``, remembering the original for ``unpatch``."""
        original = owner.__dict__.get(attribute, _MISSING)
        setattr(owner, attribute, value)
        self._originals.append((owner, attribute, original))

    def _restore_all(self) -> None:
        while self._originals:
            owner, attr, original = self._originals.pop()
            if original is _MISSING:
                try:
                    delattr(owner, attr)
                except AttributeError:
                    pass
            else:
                setattr(owner, attr, original)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "installed": self.version(),
            "supported": self.supported,
            "in_range": self.in_range(),
            "patched": self.patched,
            "requested": self.requested,
            "error": self.error,
        }

    def __repr__(self) -> str:
        state = "patched" if self.patched else ("pending import" if self._wanted else "unpatched")
        return f"<aios adapter {self.name} ({self.distribution} {self.supported}) {state}>"


def _find_sdk(cls: type, table: Mapping[str, str | None]) -> str | object | None:
    for klass in cls.__mro__:
        module = klass.__module__
        for key in (f"{module}.{klass.__qualname__}", module.split(".", 1)[0]):
            if key in table:
                return table[key]
    return _MISSING


def sdk_adapter_patched(name: str) -> bool:
    """Whether the adapter ``name`` (``"openai"``, ``"anthropic"``) is patched right now."""
    from aios.adapters.plugins import plugins

    adapter = plugins().adapters.get(name)
    return adapter is not None and adapter.patched


def first_text(obj: Any, *attributes: str) -> str | None:
    """The first of ``attributes`` of ``obj`` that is a non-empty string (model names, URLs)."""
    for attr in attributes:
        value = getattr(obj, attr, None)
        if isinstance(value, str) and value:
            return value
    return None


_END: Any = object()


def each_step_in(gen: Iterable[T], enter: Callable[[], AbstractContextManager[Any]]) -> Iterator[T]:
    """Re-yield ``gen``, running each of its steps (and its close) inside ``enter()``.

    Setting a contextvar (an agent identity) once around a whole generator would leak it into
    the consumer between items, and resetting it from another context would fail; per step it
    does neither.
    """
    it = iter(gen)
    try:
        while True:
            with enter():
                item = next(it, _END)
            if item is _END:
                return
            yield item
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            with enter():
                close()


async def aeach_step_in(
    agen: AsyncIterable[T], enter: Callable[[], AbstractContextManager[Any]]
) -> AsyncIterator[T]:
    """``each_step_in`` for async generators."""
    it = aiter(agen)
    try:
        while (item := await _anext_in(it, enter)) is not _END:
            yield item
    finally:
        aclose = getattr(it, "aclose", None)
        if aclose is not None:
            with enter():
                await aclose()


async def _anext_in(it: AsyncIterator[T], enter: Callable[[], AbstractContextManager[Any]]) -> Any:
    with enter():
        return await anext(it, _END)
