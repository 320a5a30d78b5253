"""crewai 1.15: agents get their role as identity, tools become tool syscalls.

Where crewai is intercepted (checked in the installed 1.15.30 source):

- Identity: ``Agent.execute_task`` / ``aexecute_task`` (crew tasks, hierarchical delegation) and
  ``Agent.kickoff`` / ``kickoff_async`` / ``akickoff`` (an agent used on its own) run as
  ``AgentIdentity(agent.role, group=crew.name)``. crewai hands work to threads
  (``kickoff_async`` → ``asyncio.to_thread``, ``async_execution`` tasks, parallel native tool
  calls) mostly with a copied context; the LLM wrapper also reads ``from_agent=`` so that an
  LLM call is attributed even where a thread lost the context.
- LLM calls: ``LLM(...)`` is a factory returning provider classes whose ``call``/``acall``
  ``BaseLLM.__init_subclass__`` already wrapped (so ``BaseLLM.call`` is never the one that runs).
  The SDK-backed providers (``OpenAICompletion``, ``AnthropicCompletion``) reach the openai /
  anthropic SDK, whose adapter makes the LLM syscall at the transport; here they only get the
  caller's identity. Every other provider (litellm's ``LLM``, or an SDK whose adapter is not
  patched) makes its syscall here, around the whole call: one logical call, one syscall.
- Tools: ``BaseTool.run``/``arun`` and the ``@tool`` class ``Tool.run``/``arun`` (native function
  calling), ``CrewStructuredTool.invoke``/``ainvoke`` (the ReAct text path). The paths nest
  (``invoke`` calls ``_run``, cached or not): the ``inside_syscall`` guard keeps one syscall.
  Delegation tools (``BaseAgentTool``) are not tool syscalls: they start another agent's task,
  whose own calls are syscalls (holding a tool slot while a coworker waits for one could deadlock).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import wrapt

from aios.adapters.base import Adapter
from aios.adapters.hookspecs import hookimpl
from aios.errors import ToolRefused
from aios.kernel.context import (
    AgentIdentity,
    acting_as,
    current_agent,
    inside_llm_call,
    inside_syscall,
    syscall_scope,
)
from aios.kernel.tokens import estimate_tokens

FRAMEWORK = "crewai"

#: (module, class, the distribution whose aios adapter gates that provider's SDK, syscall api).
_PROVIDERS: tuple[tuple[str, str, str | None, str], ...] = (
    ("crewai.llms.providers.openai.completion", "OpenAICompletion", "openai", "openai.chat"),
    ("crewai.llms.providers.anthropic.completion", "AnthropicCompletion", "anthropic", "anthropic.messages"),
    ("crewai.llm", "LLM", None, "openai.chat"),
)


# -- identity -------------------------------------------------------------------------------------
def agent_identity(agent: Any) -> AgentIdentity | None:
    """``AgentIdentity(role, group=crew name)`` for a crewai agent, or ``None`` if it has no role."""
    role = getattr(agent, "role", None)
    if not isinstance(role, str) or not role.strip():
        return None
    crew = getattr(agent, "crew", None)
    name = getattr(crew, "name", None) if crew is not None and not isinstance(crew, str) else None
    group = name if isinstance(name, str) and name else None
    return AgentIdentity(role.strip(), group=group, framework=FRAMEWORK)


def _fresh_step(identity: AgentIdentity | None) -> Any:
    """The scope of one agent step: its identity, and outside any enclosing syscall.

    A crewai agent can run inside another's tool (hierarchical delegation); its own calls are
    then still syscalls of their own, not part of the delegating tool.
    """
    if identity is None:
        return _Nothing()
    return _Step(identity)


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class _Step:
    def __init__(self, identity: AgentIdentity) -> None:
        self._as = acting_as(identity)
        # ``None`` clears the nested-syscall guard for this step only.
        self._scope = syscall_scope(None)  # type: ignore[arg-type]

    def __enter__(self) -> None:
        self._as.__enter__()
        self._scope.__enter__()

    def __exit__(self, *exc: object) -> None:
        try:
            self._scope.__exit__(None, None, None)
        finally:
            self._as.__exit__(None, None, None)


def _as_agent(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    with _fresh_step(agent_identity(instance)):
        return wrapped(*args, **kwargs)


async def _aas_agent(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    with _fresh_step(agent_identity(instance)):
        return await wrapped(*args, **kwargs)


# -- LLM calls ------------------------------------------------------------------------------------
def _provider_entry(instance: Any) -> tuple[str | None, str]:
    """(distribution gating this provider's SDK, api) for a crewai LLM instance."""
    for module, cls_name, distribution, api in _PROVIDERS:
        mod = sys.modules.get(module)
        cls = getattr(mod, cls_name, None) if mod is not None else None
        if isinstance(cls, type) and isinstance(instance, cls):
            return distribution, api
    return None, "openai.chat"


def _sdk_gated(distribution: str | None) -> bool:
    """Whether an aios adapter for this SDK is patched, so the SDK transport makes the syscall."""
    if distribution is None:
        return False
    from aios.adapters.plugins import plugins

    return any(a.distribution == distribution and a.patched for a in plugins().adapters.values())


def _caller(kwargs: dict[str, Any]) -> AgentIdentity | None:
    # crewai passes the calling agent explicitly; it survives thread hops that lose the context.
    return agent_identity(kwargs.get("from_agent")) or current_agent()


def _llm_syscall(
    instance: Any, api: str, args: Any, kwargs: dict[str, Any], who: AgentIdentity | None
) -> Any:
    from aios.runtime import kernel

    messages = args[0] if args else kwargs.get("messages")
    max_tokens = getattr(instance, "max_tokens", None) or getattr(instance, "max_completion_tokens", None)
    k = kernel()
    sc = k.llm_syscall(
        api=api,
        model=getattr(instance, "model", None),
        base_url=getattr(instance, "base_url", None) or getattr(instance, "api_base", None),
        input_tokens=estimate_tokens(messages),
        max_tokens=int(max_tokens) if max_tokens else None,
        stream=bool(getattr(instance, "stream", False)),
        framework=FRAMEWORK,
        agent=who,
    )
    return k, sc


def _llm_call(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    if inside_llm_call():
        return wrapped(*args, **kwargs)
    who = _caller(kwargs)
    distribution, api = _provider_entry(instance)
    with acting_as(who) if who is not None else _Nothing():
        if _sdk_gated(distribution):
            return wrapped(*args, **kwargs)
        k, sc = _llm_syscall(instance, api, args, kwargs, who)
        return k.call(sc, lambda _lease: wrapped(*args, **kwargs))


async def _llm_acall(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    if inside_llm_call():
        return await wrapped(*args, **kwargs)
    who = _caller(kwargs)
    distribution, api = _provider_entry(instance)
    with acting_as(who) if who is not None else _Nothing():
        if _sdk_gated(distribution):
            return await wrapped(*args, **kwargs)
        k, sc = _llm_syscall(instance, api, args, kwargs, who)
        return await k.acall(sc, lambda _lease: wrapped(*args, **kwargs))


# -- tools ----------------------------------------------------------------------------------------
def _is_delegation(instance: Any) -> bool:
    mod = sys.modules.get("crewai.tools.agent_tools.base_agent_tools")
    cls = getattr(mod, "BaseAgentTool", None) if mod is not None else None
    if isinstance(cls, type) and isinstance(instance, cls):
        return True
    original = getattr(instance, "_original_tool", None)
    return original is not None and isinstance(cls, type) and isinstance(original, cls)


def _tool_name(instance: Any) -> str:
    name = getattr(instance, "name", None)
    return name if isinstance(name, str) and name else type(instance).__name__


def _tool_run(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    if inside_syscall() or _is_delegation(instance):
        return wrapped(*args, **kwargs)
    from aios.runtime import kernel

    try:
        return kernel().run_tool(
            _tool_name(instance), lambda: wrapped(*args, **kwargs), framework=FRAMEWORK,
            agent=current_agent(), arguments=_tool_input(args, kwargs),
        )
    except ToolRefused as exc:
        return str(exc)  # see _tool_input


async def _tool_arun(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    if inside_syscall() or _is_delegation(instance):
        return await wrapped(*args, **kwargs)
    from aios.runtime import kernel

    # Captured here: crewai runs sync tools under ``ainvoke`` in an executor without the context.
    try:
        return await kernel().arun_tool(
            _tool_name(instance), lambda: wrapped(*args, **kwargs), framework=FRAMEWORK,
            agent=current_agent(), arguments=_tool_input(args, kwargs),
        )
    except ToolRefused as exc:
        return str(exc)


# -- a refused tool call -------------------------------------------------------------------------
# Its text is the tool's result, which crewai shows the model as the observation. Raising would
# make crewai's ToolUsage retry the tool (asking the approver again) before it gives up.
def _tool_input(args: Any, kwargs: Any) -> Any:
    return args[0] if len(args) == 1 and not kwargs else (kwargs or list(args))


# -- the adapter ----------------------------------------------------------------------------------
class CrewAIAdapter(Adapter):
    name = "crewai"
    distribution = "crewai"
    supported = ">=1.15,<2"
    module = "crewai"

    def __init__(self) -> None:
        super().__init__()
        self._provider_hooks: set[str] = set()

    def _patch(self) -> None:
        for method in ("execute_task", "kickoff"):
            self.wrap("crewai.agent.core", f"Agent.{method}", _as_agent)
        for method in ("aexecute_task", "kickoff_async", "akickoff"):
            self.wrap("crewai.agent.core", f"Agent.{method}", _aas_agent)
        for owner in ("BaseTool", "Tool"):
            self.wrap("crewai.tools.base_tool", f"{owner}.run", _tool_run)
            self.wrap("crewai.tools.base_tool", f"{owner}.arun", _tool_arun)
        self.wrap("crewai.tools.structured_tool", "CrewStructuredTool.invoke", _tool_run)
        self.wrap("crewai.tools.structured_tool", "CrewStructuredTool.ainvoke", _tool_arun)
        for module, cls_name, _dist, _api in _PROVIDERS:
            # Provider modules import their SDK: patch them when (if ever) crewai imports them.
            if module in sys.modules:
                self._wrap_provider(module, cls_name)
            elif module not in self._provider_hooks:
                self._provider_hooks.add(module)
                wrapt.register_post_import_hook(self._provider_hook(module, cls_name), module)

    def _wrap_provider(self, module: str, cls_name: str) -> None:
        cls = getattr(sys.modules[module], cls_name, None)
        if not isinstance(cls, type):
            return
        if "call" in cls.__dict__:
            self.wrap(cls, "call", _llm_call)
        if "acall" in cls.__dict__:
            self.wrap(cls, "acall", _llm_acall)

    def _provider_hook(self, module: str, cls_name: str) -> Callable[[Any], None]:
        def hook(_module: Any) -> None:
            with self._lock:
                if self._applied:
                    self._wrap_provider(module, cls_name)

        return hook


@hookimpl
def aios_register_adapters(register: Callable[[Adapter], None]) -> None:
    register(CrewAIAdapter())
