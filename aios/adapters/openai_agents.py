"""openai-agents (import name ``agents``): each turn runs as its agent; function tools are tool syscalls.

Where the calls are intercepted (checked in the installed source of 0.20 and 0.24):

* Identity. The run loop runs one agent turn at a time through ``run_single_turn`` (``Runner.run``
  and ``run_sync``) and ``run_single_turn_streamed`` (``Runner.run_streamed``); both get the
  turn's agent in ``bindings``. Wrapping them puts the whole turn (its model call and its tools)
  inside ``acting_as(agent)``, so after a handoff the next turn is the specialist's.
* LLM calls of SDK-backed models (``OpenAIResponsesModel``, ``OpenAIChatCompletionsModel`` and
  their subclasses, from a string or an instance) become syscalls at the openai SDK transport
  while the ``openai`` adapter is patched; here they only get their agent. Any other ``Model``
  (a custom subclass, litellm), and the SDK-backed ones when the ``openai`` adapter is disabled,
  gets its syscall here (``Adapter.gated_below``, decided per call): ``get_model`` in the run
  loop returns every model a turn uses, and the first time a model class is seen its
  ``get_response``/``stream_response`` are wrapped.
* Tools. ``_invoke_function_tool_with_metadata`` in ``agents.tool`` runs every function tool; the
  run loop imports it by name, so every module holding a reference is wrapped. The agent comes
  from the tool's ``ToolContext``.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any

from aios.adapters._sdk_usage import latest_usage, usage_outcome
from aios.adapters.base import Adapter, first_text
from aios.adapters.hookspecs import hookimpl
from aios.errors import AdapterError, ToolRefused
from aios.kernel.context import AgentIdentity, agent_run, agent_step, current_agent, inside_llm_call
from aios.kernel.syscall import Syscall

FRAMEWORK = "openai-agents"

#: The turn functions and every module known to hold its own reference to them.
TURN_REFS: tuple[tuple[str, str], ...] = (
    ("agents.run_internal.run_loop", "run_single_turn"),
    ("agents.run_internal.run_loop", "run_single_turn_streamed"),
    ("agents.run", "run_single_turn"),
)
TOOL_REFS: tuple[tuple[str, str], ...] = (
    ("agents.tool", "_invoke_function_tool_with_metadata"),
    ("agents.run_internal.tool_execution", "_invoke_function_tool_with_metadata"),
)
MODEL_REFS: tuple[tuple[str, str], ...] = (("agents.run_internal.run_loop", "get_model"),)


# -- identity -------------------------------------------------------------------------------------
def identity_of(agent: Any) -> AgentIdentity | None:
    """The aios identity of an openai-agents ``Agent``; priority and group come from outside."""
    name = getattr(agent, "name", None)
    if not isinstance(name, str) or not name.strip():
        return None
    outer = current_agent()
    return AgentIdentity(
        name.strip(),
        priority=None if outer is None else outer.priority,
        group=None if outer is None else outer.group,
        framework=FRAMEWORK,
    )


_signatures: dict[Any, inspect.Signature] = {}


def _argument(wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> Any:
    """Argument ``name`` of a call, whether it was passed by keyword or by position."""
    if name in kwargs:
        return kwargs[name]
    sig = _signatures.get(wrapped)
    if sig is None:
        try:
            sig = _signatures[wrapped] = inspect.signature(wrapped)
        except (TypeError, ValueError):
            return None
    try:
        return sig.bind_partial(*args, **kwargs).arguments.get(name)
    except TypeError:
        return None


def _turn_identity(
    wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> AgentIdentity | None:
    bindings = _argument(wrapped, args, kwargs, "bindings")
    agent = getattr(bindings, "public_agent", None) if bindings is not None else None
    if agent is None:
        agent = _argument(wrapped, args, kwargs, "agent")
    return identity_of(agent)


async def _turn(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    # A fresh step: the agent may run as another agent's tool, and its calls are its own.
    ident = _turn_identity(wrapped, args, kwargs)
    with agent_step(ident):
        if ident is None:
            return await wrapped(*args, **kwargs)
        with agent_run(ident):  # its scope hooks: the turn's invoke_agent span when tracing
            return await wrapped(*args, **kwargs)


def _model_name(model: Any) -> str:
    return first_text(model, "model") or type(model).__name__


# -- the adapter ----------------------------------------------------------------------------------
class OpenAIAgentsAdapter(Adapter):
    name = "openai-agents"
    distribution = "openai-agents"
    supported = ">=0.20,<1"
    module = "agents"
    framework = FRAMEWORK
    sdk_backed = {
        "agents.models.openai_responses.OpenAIResponsesModel": "openai",
        "agents.models.openai_chatcompletions.OpenAIChatCompletionsModel": "openai",
    }

    def __init__(self) -> None:
        super().__init__()
        self._gated: set[type] = set()

    def _patch(self) -> None:
        self._wrap_everywhere(TURN_REFS, _turn)
        self._wrap_everywhere(TOOL_REFS, self._invoke_tool)
        self._wrap_everywhere(MODEL_REFS, self._get_model)

    def _unpatch(self) -> None:
        self._gated.clear()

    def _wrap_everywhere(self, refs: tuple[tuple[str, str], ...], wrapper: Callable[..., Any]) -> None:
        """Wrap each named reference, and any other ``agents.*`` module holding the same function."""
        import importlib

        originals: dict[int, Any] = {}
        for module_name, attr in refs:
            module = importlib.import_module(module_name)
            if attr not in vars(module):
                continue
            originals[id(vars(module)[attr])] = vars(module)[attr]
        if not originals:
            names = ", ".join(f"{m}.{a}" for m, a in refs)
            raise AdapterError(f"none of {names} exists in this openai-agents version")
        for module_name, module in list(sys.modules.items()):
            if module is None or not (module_name == "agents" or module_name.startswith("agents.")):
                continue
            for attr, value in list(vars(module).items()):
                if id(value) in originals and value is originals[id(value)]:
                    self.wrap(module, attr, wrapper)

    def _get_model(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        model = wrapped(*args, **kwargs)
        self._gate_model_class(type(model))
        return model

    def _gate_model_class(self, cls: type) -> None:
        """Wrap a model class's calls, once; each call decides whether to gate (``gated_below``)."""
        if cls in self._gated:
            return
        with self._lock:
            if cls in self._gated or not self._applied:
                return
            self._gated.add(cls)
            self.wrap(cls, "get_response", self._get_response)
            self.wrap(cls, "stream_response", self._stream_response)

    # -- tools: the one place an openai-agents tool call reaches the kernel -------------------------
    async def _invoke_tool(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        tool = _argument(wrapped, args, kwargs, "function_tool")
        context = _argument(wrapped, args, kwargs, "context")
        name = getattr(tool, "name", None) or "function_tool"
        ident = identity_of(getattr(context, "agent", None)) or current_agent()
        try:
            return await self.arun_tool(
                name,
                lambda: wrapped(*args, **kwargs),
                agent=ident,
                arguments=_argument(wrapped, args, kwargs, "arguments"),
                call_id=getattr(context, "tool_call_id", None),
            )
        except ToolRefused as exc:
            return _refusal(wrapped, exc)

    # -- models (unless the openai SDK adapter makes the syscall at its transport) --------------
    def _syscall(
        self, wrapped: Callable[..., Any], model: Any, args: Any, kwargs: dict[str, Any], stream: bool
    ) -> Syscall:
        settings = _argument(wrapped, args, kwargs, "model_settings")
        prompt = [_argument(wrapped, args, kwargs, k) for k in ("system_instructions", "input")]
        sdk = self.sdk_of(type(model))
        client = getattr(model, "_client", None)
        return self.llm_syscall(
            api="openai.responses" if sdk else f"{FRAMEWORK}.model",
            model=_model_name(model),
            base_url=str(client.base_url) if sdk and client is not None else None,
            prompt=prompt,
            max_tokens=getattr(settings, "max_tokens", None),
            stream=stream,
        )

    async def _get_response(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if inside_llm_call() or self.gated_below(type(instance)):
            return await wrapped(*args, **kwargs)
        sc = self._syscall(wrapped, instance, args, kwargs, False)
        return await self.kernel.acall(sc, lambda _lease: wrapped(*args, **kwargs), outcome=usage_outcome)

    def _stream_response(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if inside_llm_call() or self.gated_below(type(instance)):
            return wrapped(*args, **kwargs)
        sc = self._syscall(wrapped, instance, args, kwargs, True)
        return self.astream(sc, lambda: wrapped(*args, **kwargs), fold=latest_usage)


@hookimpl
def aios_register_adapters(register: Callable[[Adapter], None]) -> None:
    register(OpenAIAgentsAdapter())


def _refusal(wrapped: Callable[..., Any], exc: ToolRefused) -> Any:
    """A refused call returns its text as the tool's output, as a tool's ``failure_error_function``
    output is returned: the model reads it and the run goes on."""
    module = sys.modules.get(getattr(wrapped, "__module__", ""))
    result = getattr(module, "_FunctionToolInvocationResult", None)
    return str(exc) if result is None else result(str(exc))
