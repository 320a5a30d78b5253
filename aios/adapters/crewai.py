"""crewai 1.15: agents get their role as identity, tools become tool syscalls.

Where crewai is intercepted (checked in the installed 1.15.30 source):

- Identity: ``Agent.execute_task`` / ``aexecute_task`` (crew tasks, hierarchical delegation) and
  ``Agent.kickoff`` / ``kickoff_async`` / ``akickoff`` (an agent used on its own) run as
  ``AgentIdentity(agent.role, group=crew.name)``, each an agent run (an ``invoke_agent`` span
  when tracing, inside the crew's: ``Crew.kickoff`` and its async forms). crewai hands work to threads
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
from contextlib import nullcontext
from typing import Any

import wrapt

from aios.adapters._agent_runs import run_as
from aios.adapters.base import Adapter, first_text
from aios.adapters.hookspecs import hookimpl
from aios.errors import ToolRefused
from aios.kernel.context import AgentIdentity, acting_as, agent_step, current_agent, inside_llm_call
from aios.kernel.syscall import Syscall

FRAMEWORK = "crewai"

#: Provider classes whose ``call``/``acall`` are wrapped: (module, class).
_PROVIDERS: tuple[tuple[str, str], ...] = (
    ("crewai.llms.providers.openai.completion", "OpenAICompletion"),
    ("crewai.llms.providers.anthropic.completion", "AnthropicCompletion"),
    ("crewai.llm", "LLM"),
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


def _as_agent(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    ident = agent_identity(instance)
    run = run_as(ident)  # decided before the step names the agent: one run per agent's task
    with agent_step(ident), run:
        return wrapped(*args, **kwargs)


async def _aas_agent(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    ident = agent_identity(instance)
    run = run_as(ident)
    with agent_step(ident), run:
        return await wrapped(*args, **kwargs)


def crew_identity(crew: Any) -> AgentIdentity:
    """A crew's run: its name (crewai's default ``crew``), also the group of its agents."""
    name = getattr(crew, "name", None)
    name = name.strip() if isinstance(name, str) and name.strip() else "crew"
    return AgentIdentity(name, group=name, framework=FRAMEWORK)


def _crew_run(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    with run_as(crew_identity(instance)):
        return wrapped(*args, **kwargs)


async def _acrew_run(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    with run_as(crew_identity(instance)):
        return await wrapped(*args, **kwargs)


# -- LLM calls ------------------------------------------------------------------------------------
def _caller(kwargs: dict[str, Any]) -> AgentIdentity | None:
    # crewai passes the calling agent explicitly; it survives thread hops that lose the context.
    return agent_identity(kwargs.get("from_agent")) or current_agent()


# -- tools ----------------------------------------------------------------------------------------
def _is_delegation(instance: Any) -> bool:
    mod = sys.modules.get("crewai.tools.agent_tools.base_agent_tools")
    cls = getattr(mod, "BaseAgentTool", None) if mod is not None else None
    if isinstance(cls, type) and isinstance(instance, cls):
        return True
    original = getattr(instance, "_original_tool", None)
    return original is not None and isinstance(cls, type) and isinstance(original, cls)


def _tool_name(instance: Any) -> str:
    return first_text(instance, "name") or type(instance).__name__


# -- the adapter ----------------------------------------------------------------------------------
class CrewAIAdapter(Adapter):
    name = "crewai"
    distribution = "crewai"
    supported = ">=1.15,<2"
    module = "crewai"
    framework = FRAMEWORK
    sdk_backed = {
        "crewai.llms.providers.openai.completion.OpenAICompletion": "openai",
        "crewai.llms.providers.anthropic.completion.AnthropicCompletion": "anthropic",
    }

    def __init__(self) -> None:
        super().__init__()
        self._provider_hooks: set[str] = set()

    def _patch(self) -> None:
        for method in ("execute_task", "kickoff"):
            self.wrap("crewai.agent.core", f"Agent.{method}", _as_agent)
        for method in ("aexecute_task", "kickoff_async", "akickoff"):
            self.wrap("crewai.agent.core", f"Agent.{method}", _aas_agent)
        # A crew's kickoff is a run around its agents' (an invoke_agent span when tracing).
        self.wrap("crewai.crew", "Crew.kickoff", _crew_run)
        for method in ("kickoff_async", "akickoff"):
            self.wrap("crewai.crew", f"Crew.{method}", _acrew_run)
        for owner in ("BaseTool", "Tool"):
            self.wrap("crewai.tools.base_tool", f"{owner}.run", self._tool_run)
            self.wrap("crewai.tools.base_tool", f"{owner}.arun", self._tool_arun)
        self.wrap("crewai.tools.structured_tool", "CrewStructuredTool.invoke", self._tool_run)
        self.wrap("crewai.tools.structured_tool", "CrewStructuredTool.ainvoke", self._tool_arun)
        for module, cls_name in _PROVIDERS:
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
            self.wrap(cls, "call", self._llm_call)
        if "acall" in cls.__dict__:
            self.wrap(cls, "acall", self._llm_acall)

    # -- LLM calls (unless an SDK adapter makes the syscall at the transport) ----------------------
    def _syscall(self, llm: Any, args: Any, kwargs: dict[str, Any], who: AgentIdentity | None) -> Syscall:
        max_tokens = getattr(llm, "max_tokens", None) or getattr(llm, "max_completion_tokens", None)
        return self.llm_syscall(
            api="anthropic.messages" if self.sdk_of(type(llm)) == "anthropic" else "openai.chat",
            model=getattr(llm, "model", None),
            base_url=getattr(llm, "base_url", None) or getattr(llm, "api_base", None),
            prompt=args[0] if args else kwargs.get("messages"),
            max_tokens=int(max_tokens) if max_tokens else None,
            stream=bool(getattr(llm, "stream", False)),
            agent=who,
        )

    def _llm_call(self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if inside_llm_call():
            return wrapped(*args, **kwargs)
        who = _caller(kwargs)
        with acting_as(who) if who is not None else nullcontext():
            if self.gated_below(type(instance)):
                return wrapped(*args, **kwargs)
            sc = self._syscall(instance, args, kwargs, who)
            return self.kernel.call(sc, lambda _lease: wrapped(*args, **kwargs))

    async def _llm_acall(self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if inside_llm_call():
            return await wrapped(*args, **kwargs)
        who = _caller(kwargs)
        with acting_as(who) if who is not None else nullcontext():
            if self.gated_below(type(instance)):
                return await wrapped(*args, **kwargs)
            sc = self._syscall(instance, args, kwargs, who)
            return await self.kernel.acall(sc, lambda _lease: wrapped(*args, **kwargs))

    # -- tools: the one place a crewai tool call reaches the kernel --------------------------------
    def _tool_run(self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if _is_delegation(instance):
            return wrapped(*args, **kwargs)
        try:
            return self.run_tool(
                _tool_name(instance),
                lambda: wrapped(*args, **kwargs),
                agent=current_agent(),
                arguments=_tool_input(args, kwargs),
            )
        except ToolRefused as exc:
            return str(exc)  # see _tool_input

    async def _tool_arun(self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if _is_delegation(instance):
            return await wrapped(*args, **kwargs)
        # Captured here: crewai runs sync tools under ``ainvoke`` in an executor without the context.
        try:
            return await self.arun_tool(
                _tool_name(instance),
                lambda: wrapped(*args, **kwargs),
                agent=current_agent(),
                arguments=_tool_input(args, kwargs),
            )
        except ToolRefused as exc:
            return str(exc)

    def _provider_hook(self, module: str, cls_name: str) -> Callable[[Any], None]:
        def hook(_module: Any) -> None:
            with self._lock:
                if self._applied:
                    self._wrap_provider(module, cls_name)

        return hook


@hookimpl
def aios_register_adapters(register: Callable[[Adapter], None]) -> None:
    register(CrewAIAdapter())


# -- a refused tool call -------------------------------------------------------------------------
# Its text is the tool's result, which crewai shows the model as the observation. Raising would
# make crewai's ToolUsage retry the tool (asking the approver again) before it gives up.
def _tool_input(args: Any, kwargs: Any) -> Any:
    return args[0] if len(args) == 1 and not kwargs else (kwargs or list(args))
