"""openai-agents (import name ``agents``): each turn runs as its agent; function tools are tool syscalls.

Where the calls are intercepted (checked in the installed source of 0.20 and 0.24):

* Identity. The run loop runs one agent turn at a time through ``run_single_turn`` (``Runner.run``
  and ``run_sync``) and ``run_single_turn_streamed`` (``Runner.run_streamed``); both get the
  turn's agent in ``bindings``. Wrapping them puts the whole turn (its model call and its tools)
  inside ``acting_as(agent)``, so after a handoff the next turn is the specialist's.
* LLM calls of SDK-backed models (``OpenAIResponsesModel``, ``OpenAIChatCompletionsModel`` and
  their subclasses, from a string or an instance) become syscalls at the openai SDK transport
  (adapter ``openai``); here they only get their agent. Any other ``Model`` (a custom subclass,
  litellm) gets its syscall here: ``get_model`` in the run loop returns every model a turn uses,
  and the first time a model class is seen its ``get_response``/``stream_response`` are wrapped.
* Tools. ``_invoke_function_tool_with_metadata`` in ``agents.tool`` runs every function tool; the
  run loop imports it by name, so every module holding a reference is wrapped. The agent comes
  from the tool's ``ToolContext``.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

from aios.adapters.base import Adapter
from aios.adapters.hookspecs import hookimpl
from aios.errors import AdapterError
from aios.kernel.context import (
    AgentIdentity,
    agent_run,
    current_agent,
    inside_llm_call,
    syscall_scope,
    tool_call,
)
from aios.kernel.failures import Usage
from aios.kernel.lease import Lease
from aios.kernel.tokens import estimate_tokens

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
    ident = _turn_identity(wrapped, args, kwargs)
    if ident is None:
        return await wrapped(*args, **kwargs)
    with agent_run(ident):  # acting as the turn's agent, inside its invoke_agent span
        return await wrapped(*args, **kwargs)


# -- tools ----------------------------------------------------------------------------------------
async def _invoke_tool(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    if inside_llm_call():
        return await wrapped(*args, **kwargs)
    from aios.runtime import kernel

    tool = _argument(wrapped, args, kwargs, "function_tool")
    context = _argument(wrapped, args, kwargs, "context")
    name = getattr(tool, "name", None) or "function_tool"
    ident = identity_of(getattr(context, "agent", None)) or current_agent()
    with tool_call(getattr(context, "tool_call_id", None)):
        return await kernel().arun_tool(
            name, lambda: wrapped(*args, **kwargs), framework=FRAMEWORK, agent=ident
        )


# -- models that are not served by the openai SDK ------------------------------------------------
def _model_name(model: Any) -> str:
    name = getattr(model, "model", None)
    return name if isinstance(name, str) and name else type(model).__name__


def _llm_syscall(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], *, stream: bool
) -> Any:
    from aios.runtime import kernel

    instructions = _argument(wrapped, args, kwargs, "system_instructions")
    prompt = _argument(wrapped, args, kwargs, "input")
    settings = _argument(wrapped, args, kwargs, "model_settings")
    return kernel().llm_syscall(
        api=f"{FRAMEWORK}.model",
        model=_model_name(instance),
        input_tokens=estimate_tokens([instructions, prompt]),
        max_tokens=getattr(settings, "max_tokens", None),
        stream=stream,
        framework=FRAMEWORK,
    )


def _usage(usage: Any) -> Usage | None:
    if usage is None:
        return None
    inp, out = getattr(usage, "input_tokens", None), getattr(usage, "output_tokens", None)
    if not inp and not out:
        return None  # a model that reports nothing: keep the estimate
    return Usage(inp, out)


def _response_outcome(response: Any) -> tuple[Usage | None, None]:
    return _usage(getattr(response, "usage", None)), None


async def _model_get_response(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    if inside_llm_call():
        return await wrapped(*args, **kwargs)
    from aios.runtime import kernel

    sc = _llm_syscall(wrapped, instance, args, kwargs, stream=False)
    return await kernel().acall(sc, lambda _lease: wrapped(*args, **kwargs), outcome=_response_outcome)


def _model_stream_response(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    if inside_llm_call():
        return wrapped(*args, **kwargs)
    return _gated_stream(wrapped, instance, args, kwargs)


async def _gated_stream(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> AsyncIterator[Any]:
    """The model's event stream, holding its LLM syscall until the last event (or an error)."""
    from aios.runtime import kernel

    leases: list[Lease] = []

    async def start(lease: Lease) -> Any:
        leases.append(lease)
        return wrapped(*args, **kwargs)

    sc = _llm_syscall(wrapped, instance, args, kwargs, stream=True)
    events = (await kernel().acall(sc, start, hold=True)).__aiter__()
    lease = leases[-1]
    usage: Usage | None = None
    finished = False
    try:
        while True:
            # Only around the model's own work, never across our yield: the scope is a
            # contextvar, and a yield would leak it into the run loop.
            with syscall_scope("llm"):
                try:
                    event = await events.__anext__()
                except StopAsyncIteration:
                    finished = True
                    break
            response = getattr(event, "response", None)
            if getattr(event, "type", None) == "response.completed" and response is not None:
                usage = _usage(getattr(response, "usage", None)) or usage
            yield event
        lease.succeed(usage=usage)
    except Exception as exc:
        lease.fail(exc)
        raise
    except BaseException:  # closed early (GeneratorExit) or cancelled
        lease.cancel("the stream was closed before its last event")
        raise
    finally:
        closer = getattr(events, "aclose", None)
        if not finished and closer is not None:
            with syscall_scope("llm"):
                await closer()


# -- the adapter ----------------------------------------------------------------------------------
class OpenAIAgentsAdapter(Adapter):
    name = "openai-agents"
    distribution = "openai-agents"
    supported = ">=0.20,<1"
    module = "agents"

    def __init__(self) -> None:
        super().__init__()
        self._gated: set[type] = set()

    def _patch(self) -> None:
        self._wrap_everywhere(TURN_REFS, _turn)
        self._wrap_everywhere(TOOL_REFS, _invoke_tool)
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
        """Give a model class that the openai SDK does not serve its own LLM syscalls (once)."""
        if cls in self._gated:
            return
        from agents.models.openai_chatcompletions import OpenAIChatCompletionsModel
        from agents.models.openai_responses import OpenAIResponsesModel

        with self._lock:
            if cls in self._gated or not self._applied:
                return
            self._gated.add(cls)
            if issubclass(cls, (OpenAIResponsesModel, OpenAIChatCompletionsModel)):
                return  # the openai SDK adapter makes these syscalls at its transport
            self.wrap(cls, "get_response", _model_get_response)
            self.wrap(cls, "stream_response", _model_stream_response)


@hookimpl
def aios_register_adapters(register: Callable[[Adapter], None]) -> None:
    register(OpenAIAgentsAdapter())
