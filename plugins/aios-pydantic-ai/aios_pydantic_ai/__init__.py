"""aios plugin for Pydantic AI 2.x: run identity from ``Agent(name=...)``, tools as tool syscalls.

Where Pydantic AI is intercepted (checked in pydantic-ai-slim 2.68):

- Identity: ``Agent.iter`` is the one async context manager that ``run``, ``run_sync`` and
  ``run_stream`` all enter; the run's calls are attributed to the agent's ``name`` (Pydantic AI
  infers it from the variable name when none is given, while entering ``iter``).
- LLM calls: the ``OpenAIChatModel``/``OpenAIResponsesModel`` reach the openai SDK, whose aios
  adapter makes the LLM syscall at the transport; nothing to do here.
- Tools: ``FunctionToolset.call_tool`` runs every function tool (the agent's own ``@agent.tool``
  ones and any ``FunctionToolset``); sync tools then hop to a worker thread, so the identity is
  read here, before the hop, and passed explicitly.

It uses only the declared plugin API, :mod:`aios.adapters.api`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aios.adapters.api import Adapter, AgentIdentity, ToolRefused, acting_as, current_agent, hookimpl

FRAMEWORK = "pydantic-ai"

__all__ = ["PydanticAIAdapter", "aios_register_adapters"]


class _NamedRun:
    """``Agent.iter``'s context manager, with the run attributed to the agent while it is open."""

    def __init__(self, inner: Any, agent: Any) -> None:
        self._inner = inner
        self._agent = agent
        self._as: Any = None

    async def __aenter__(self) -> Any:
        run = await self._inner.__aenter__()
        name = getattr(self._agent, "name", None)  # inferred by now if it was not given
        if isinstance(name, str) and name:
            self._as = acting_as(AgentIdentity(name, framework=FRAMEWORK))
            self._as.__enter__()
        return run

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            if self._as is not None:
                self._as.__exit__(None, None, None)
        finally:
            return await self._inner.__aexit__(*exc)  # noqa: B012 - the inner manager decides


def _iter(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    return _NamedRun(wrapped(*args, **kwargs), instance)


class PydanticAIAdapter(Adapter):
    name = "pydantic-ai"
    distribution = "pydantic-ai-slim"
    supported = ">=2,<3"
    module = "pydantic_ai"
    framework = FRAMEWORK

    def _patch(self) -> None:
        self.wrap("pydantic_ai.agent", "Agent.iter", _iter)
        self.wrap("pydantic_ai.toolsets.function", "FunctionToolset.call_tool", self._call_tool)

    async def _call_tool(self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        """The one place a Pydantic AI tool call reaches the kernel."""
        name = args[0] if args else kwargs.get("name")
        tool_args = args[1] if len(args) > 1 else kwargs.get("tool_args")
        try:
            return await self.arun_tool(
                str(name), lambda: wrapped(*args, **kwargs), agent=current_agent(), arguments=tool_args
            )
        except ToolRefused as exc:
            # The refusal is the tool's return value: the model reads it. Raising ModelRetry
            # instead would spend the tool's retries and then fail the run.
            return str(exc)


@hookimpl
def aios_register_adapters(register: Callable[[Adapter], None]) -> None:
    register(PydanticAIAdapter())
