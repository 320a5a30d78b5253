"""langchain / langgraph: name the agent of every chat-model call, and run tools as tool syscalls.

Two jobs, kept apart:

* Identity. ``BaseChatModel._generate_with_cache`` / ``_agenerate_with_cache`` (invoke, batch,
  langgraph message streaming) and ``BaseChatModel.stream`` / ``astream`` (which skip the former)
  run as the agent that langchain names in the run metadata: ``create_agent(name=...)`` puts it
  there as ``lc_agent_name``. A langgraph graph (``Pregel.stream``/``astream``, which ``invoke``
  uses) runs as its run name or its own ``name`` when it has one: an agent run, traced as an
  ``invoke_agent`` span. An agent already set
  (``aios.agent(...)``, an enclosing graph) becomes the group; without any name the current
  identity stands (else the kernel uses the process's name).
* The LLM syscall. Models built on the openai/anthropic SDKs (``langchain_openai``,
  ``langchain_anthropic``) are gated where the SDK sends the request, by the SDK adapter, which
  sees the real URL, usage and rate-limit headers. Every other chat model (custom subclasses,
  fakes, other providers) is gated here, around the provider call only: the subclass's own
  ``_generate`` / ``_agenerate`` / ``_stream`` / ``_astream``, wrapped the first time the class is
  used. So a cache hit, which never reaches the provider, is never an LLM syscall, and one
  logical call is one syscall either way. SDK-backed models are gated here too when the SDK
  adapter is not patched, and inside a tool syscall (a model or subagent called by a tool), where
  the SDK adapters pass straight through.

Tools: ``BaseTool.run`` / ``arun`` (langgraph's ``ToolNode`` reaches them through
``invoke``/``ainvoke``) go through ``kernel.run_tool`` / ``arun_tool``: per-tool concurrency and
timeout from the config, recorded once, never retried. langchain's ``handle_tool_error`` runs
inside the tool syscall, so converted errors behave as without aios (the syscall succeeds).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from typing import Any

import wrapt

from aios.adapters._agent_runs import aeach_step_in_run, each_step_in_run
from aios.adapters._sdk_usage import read_usage
from aios.adapters.base import Adapter, aeach_step_in, each_step_in, first_text
from aios.adapters.hookspecs import hookimpl
from aios.errors import ToolRefused
from aios.kernel.context import AgentIdentity, acting_as, current_agent, inside_llm_call
from aios.kernel.failures import Usage
from aios.kernel.syscall import Syscall

log = logging.getLogger("aios.adapters")

FRAMEWORK = "langchain"
_PREGEL = "langgraph.pregel.main"
#: The name langgraph gives a graph nobody named.
_DEFAULT_GRAPH_NAME = "LangGraph"
_CHAT_MODELS = "langchain_core.language_models.chat_models"
_TOOLS = "langchain_core.tools.base"
_API_OF_SDK: dict[str, str] = {"openai": "openai.chat", "anthropic": "anthropic.messages"}
#: Provider-call methods of a chat model class, gated when the class is not SDK-backed.
_PROVIDER_METHODS = ("_generate", "_agenerate", "_stream", "_astream")


# -- who is calling ---------------------------------------------------------------------------------
def _named_identity(metadata: Mapping[str, Any] | None) -> AgentIdentity | None:
    """The agent langchain names in ``metadata`` (``lc_agent_name``), or ``None`` to keep the current."""
    name = metadata.get("lc_agent_name") if metadata else None
    if not isinstance(name, str) or not name:
        return None
    outer = current_agent()
    if outer is None:
        return AgentIdentity(name, framework=FRAMEWORK)
    if outer.name == name:
        return outer
    # An enclosing agent (a supervisor calling a subagent, or the user's aios.agent block).
    return AgentIdentity(name, outer.priority, group=outer.group or outer.name, framework=FRAMEWORK)


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else None


def _model_call_identity(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> AgentIdentity | None:
    """For ``_generate_with_cache(messages, stop, run_manager, **kw)``: metadata of the run."""
    run_manager = _arg(args, kwargs, 2, "run_manager")
    return _named_identity(getattr(run_manager, "metadata", None))


def _stream_identity(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> AgentIdentity | None:
    """For ``stream(input, config)``: the config merged with the enclosing runnable's."""
    from langchain_core.runnables.config import ensure_config

    config = ensure_config(_arg(args, kwargs, 1, "config"))
    return _named_identity(config.get("metadata"))


def _graph_identity(graph: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> AgentIdentity | None:
    """For ``Pregel.stream(input, config)``: the run name, else the graph's own name if it has one."""
    config = _arg(args, kwargs, 1, "config")
    name = config.get("run_name") if isinstance(config, Mapping) else None
    name = name or getattr(graph, "name", None)
    if name == _DEFAULT_GRAPH_NAME:
        return None
    return _named_identity({"lc_agent_name": name})


def _tool_identity(kwargs: Mapping[str, Any]) -> AgentIdentity | None:
    """For ``BaseTool.run(..., metadata=, config=)``: the agent whose tool node runs it."""
    metadata = kwargs.get("metadata")
    if not metadata:
        config = kwargs.get("config") or {}
        metadata = config.get("metadata") if isinstance(config, Mapping) else None
    return _named_identity(metadata) or current_agent()


def _as(ident: AgentIdentity | None, fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` run as ``ident`` (as it is when ``None``)."""
    if ident is None:
        return fn

    def run() -> Any:
        with acting_as(ident):
            return fn()

    return run


# -- identity wrappers --------------------------------------------------------------------------------
def _named_steps(
    each_step: Callable[..., Any], ident: AgentIdentity | None, gen: Any
) -> Any:
    """``gen`` with each step run as ``ident`` (``each_step_in`` or ``aeach_step_in``)."""
    return gen if ident is None else each_step(gen, lambda: acting_as(ident))


def _graph_stream(run_steps: Callable[..., Any]) -> Callable[..., Any]:
    """A wrapper for ``Pregel.stream``/``astream``: a named graph's run is an agent run (its steps
    run as the graph, inside its ``invoke_agent`` span when tracing)."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        ident = None if inside_llm_call() else _graph_identity(instance, args, kwargs)
        return run_steps(wrapped(*args, **kwargs), ident)

    return wrapper


# -- the LLM syscall for chat models not backed by a patched SDK ------------------------------------------
def _model_name(model: Any) -> str | None:
    name = first_text(model, "model_name", "model", "model_id")
    if name is not None:
        return name
    try:
        llm_type = model._llm_type
    except Exception:  # an abstract or failing property: the class name will do
        return type(model).__name__
    return llm_type if isinstance(llm_type, str) else type(model).__name__


def _base_url(model: Any) -> str | None:
    return first_text(model, "openai_api_base", "anthropic_api_url", "base_url")


def _message_usage(message: Any) -> Usage | None:
    return read_usage(getattr(message, "usage_metadata", None))


def _result_outcome(result: Any) -> tuple[Usage | None, None]:
    """Usage of a ``ChatResult``: its messages' ``usage_metadata`` summed."""
    total: Usage | None = None
    for gen in getattr(result, "generations", None) or []:
        total = _add_chunk(total, gen)
    return total, None


def _add_chunk(total: Usage | None, chunk: Any) -> Usage | None:
    """Chunks' usage adds up (usually only the last one carries any)."""
    usage = _message_usage(getattr(chunk, "message", None))
    if usage is None:
        return total
    if total is None:
        return usage
    return Usage(
        (total.input_tokens or 0) + (usage.input_tokens or 0),
        (total.output_tokens or 0) + (usage.output_tokens or 0),
    )


# -- the adapter ----------------------------------------------------------------------------------------
class LangchainAdapter(Adapter):
    """langchain-core chat models and tools (and so langchain agents and langgraph graphs)."""

    name = "langchain"
    distribution = "langchain-core"
    supported = ">=1.0,<2"
    module = "langchain_core"
    framework = FRAMEWORK
    #: Integration packages whose chat models send their requests through a provider SDK.
    sdk_backed = {"langchain_openai": "openai", "langchain_anthropic": "anthropic"}

    def __init__(self) -> None:
        super().__init__()
        self._classes_seen: set[type] = set()
        self._gated: set[tuple[type, str]] = set()
        self._class_lock = threading.Lock()
        self._graph_hook = False
        self._graph_patched = False

    def _patch(self) -> None:
        self.wrap(_CHAT_MODELS, "BaseChatModel._generate_with_cache", self._generate_with_cache)
        self.wrap(_CHAT_MODELS, "BaseChatModel._agenerate_with_cache", self._agenerate_with_cache)
        self.wrap(_CHAT_MODELS, "BaseChatModel.stream", self._stream(each_step_in))
        self.wrap(_CHAT_MODELS, "BaseChatModel.astream", self._stream(aeach_step_in))
        self.wrap(_TOOLS, "BaseTool.run", self._tool_run)
        self.wrap(_TOOLS, "BaseTool.arun", self._tool_arun)
        # langgraph is optional and may be imported later: name graphs when it is.
        if not self._graph_hook:
            self._graph_hook = True
            wrapt.register_post_import_hook(self._patch_langgraph, _PREGEL)  # runs now if imported
        elif _PREGEL in sys.modules:
            self._patch_langgraph(sys.modules[_PREGEL])

    def _patch_langgraph(self, _module: Any) -> None:
        with self._lock:
            if not self._wanted or self._graph_patched:
                return
            try:
                self.wrap(_PREGEL, "Pregel.stream", _graph_stream(each_step_in_run))
                self.wrap(_PREGEL, "Pregel.astream", _graph_stream(aeach_step_in_run))
            except Exception as exc:  # a langgraph without these: agents are still named by langchain
                log.warning("aios adapter 'langchain' could not name langgraph graphs: %s", exc)
                return
            self._graph_patched = True

    def _unpatch(self) -> None:
        self._graph_patched = False
        with self._class_lock:
            self._classes_seen.clear()
            self._gated.clear()

    def _gate_class(self, cls: type) -> None:
        """Wrap the provider-call methods this chat model class defines (once per class)."""
        if cls in self._classes_seen:
            return
        from langchain_core.language_models.chat_models import BaseChatModel

        with self._lock, self._class_lock:
            if cls in self._classes_seen or not self._applied:
                return
            for attr in _PROVIDER_METHODS:
                owner = next((c for c in cls.__mro__ if attr in c.__dict__), None)
                # BaseChatModel's defaults only delegate to the subclass's sync methods.
                if owner is None or owner is BaseChatModel or (owner, attr) in self._gated:
                    continue
                self.wrap(owner, attr, getattr(self, f"_gate{attr}"))
                self._gated.add((owner, attr))
            self._classes_seen.add(cls)

    # -- the LLM syscall of a provider call (unless an SDK adapter makes it below) ------------------
    def _gated_here(self, model: Any) -> bool:
        return not inside_llm_call() and not self.gated_below(type(model))

    def _syscall(self, model: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any], stream: bool) -> Syscall:
        messages = _arg(args, kwargs, 0, "messages") or []
        sdk = self.sdk_of(type(model))
        return self.llm_syscall(
            api=_API_OF_SDK[sdk] if sdk else FRAMEWORK,
            model=_model_name(model),
            base_url=_base_url(model) if sdk else None,
            prompt=[getattr(m, "content", m) for m in messages],
            max_tokens=getattr(model, "max_tokens", None),
            stream=stream,
        )

    def _gate_generate(self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not self._gated_here(instance):
            return wrapped(*args, **kwargs)
        sc = self._syscall(instance, args, kwargs, False)
        return self.kernel.call(sc, lambda _lease: wrapped(*args, **kwargs), outcome=_result_outcome)

    async def _gate_agenerate(
        self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any
    ) -> Any:
        if not self._gated_here(instance):
            return await wrapped(*args, **kwargs)
        sc = self._syscall(instance, args, kwargs, False)
        return await self.kernel.acall(
            sc, lambda _lease: wrapped(*args, **kwargs), outcome=_result_outcome
        )

    def _gate_stream(self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not self._gated_here(instance):
            return wrapped(*args, **kwargs)
        sc = self._syscall(instance, args, kwargs, True)
        return self.stream(sc, lambda: wrapped(*args, **kwargs), fold=_add_chunk)

    def _gate_astream(self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not self._gated_here(instance):
            return wrapped(*args, **kwargs)
        sc = self._syscall(instance, args, kwargs, True)
        return self.astream(sc, lambda: wrapped(*args, **kwargs), fold=_add_chunk)

    # -- tools: the one place a langchain tool call reaches the kernel ------------------------------
    def _tool_run(self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        ident = _tool_identity(kwargs)
        try:
            return self.run_tool(
                str(instance.name),
                _as(ident, lambda: wrapped(*args, **kwargs)),
                agent=ident,
                arguments=_tool_input(args, kwargs),
                call_id=kwargs.get("tool_call_id"),
            )
        except ToolRefused as exc:
            return _refusal(instance, kwargs, exc)

    async def _tool_arun(self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        ident = _tool_identity(kwargs)

        async def run() -> Any:
            # Whatever the tool calls (a subagent, an SDK) is work of the agent that called it.
            if ident is None:
                return await wrapped(*args, **kwargs)
            with acting_as(ident):
                return await wrapped(*args, **kwargs)

        try:
            return await self.arun_tool(
                str(instance.name),
                run,
                agent=ident,
                arguments=_tool_input(args, kwargs),
                call_id=kwargs.get("tool_call_id"),
            )
        except ToolRefused as exc:
            return _refusal(instance, kwargs, exc)

    # Identity around the whole model call; the LLM syscall is made below (here or in the SDK).
    def _naming(self, instance: Any, ident: Callable[[], AgentIdentity | None]) -> Any:
        """The context a model call runs in: as the agent langchain names, if any."""
        if inside_llm_call():
            return nullcontext()
        self._gate_class(type(instance))
        who = ident()
        return nullcontext() if who is None else acting_as(who)

    def _generate_with_cache(self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        with self._naming(instance, lambda: _model_call_identity(args, kwargs)):
            return wrapped(*args, **kwargs)

    async def _agenerate_with_cache(
        self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any
    ) -> Any:
        with self._naming(instance, lambda: _model_call_identity(args, kwargs)):
            return await wrapped(*args, **kwargs)

    def _stream(self, each_step: Callable[..., Any]) -> Callable[..., Any]:
        """A wrapper for ``stream``/``astream``: each step runs as the agent langchain names."""

        def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
            if inside_llm_call():
                return wrapped(*args, **kwargs)
            self._gate_class(type(instance))
            return _named_steps(each_step, _stream_identity(args, kwargs), wrapped(*args, **kwargs))

        return wrapper


@hookimpl
def aios_register_adapters(register: Callable[[Adapter], None]) -> None:
    register(LangchainAdapter())


# -- a refused tool call: the model reads the refusal, as it reads a handled ToolException ----------
def _tool_input(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[0] if args else kwargs.get("tool_input")


def _refusal(instance: Any, kwargs: dict[str, Any], exc: ToolRefused) -> Any:
    """What ``BaseTool.run`` returns for a ToolException with ``handle_tool_error`` set."""
    call_id = kwargs.get("tool_call_id")
    if call_id is None:
        return str(exc)
    from langchain_core.messages import ToolMessage

    return ToolMessage(content=str(exc), tool_call_id=call_id, name=str(instance.name), status="error")
