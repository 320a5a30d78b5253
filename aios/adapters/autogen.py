"""autogen-agentchat / autogen-core / autogen-ext 0.7: agent identity, tool syscalls, model clients.

Where the calls go through the kernel:

- Identity: every ``BaseChatAgent`` subclass's ``on_messages``/``on_messages_stream`` runs as
  ``AgentIdentity(agent.name, group=<team>, framework="autogen")``, as an agent run (traced as
  an ``invoke_agent`` span; a team's run is one too, around its members'). A team's ``run_stream``
  (``BaseGroupChat``: RoundRobin, Selector, Swarm, ...) names the group; calls the team makes
  outside any agent (a selector's speaker choice) are the team's own.
- LLM calls of the OpenAI/Azure and Anthropic clients are made syscalls by the SDK adapters at
  the transport (one logical call, one syscall) while those are patched; this adapter only names
  who makes them. Every other ``ChatCompletionClient`` (Ollama, Azure AI, llama.cpp, replay,
  user-written clients), and the SDK-backed ones when their SDK adapter is disabled, gets its
  syscall here, at ``create``/``create_stream`` (``Adapter.gated_below``, decided per call).
- Tools: ``BaseTool.run_json`` and ``BaseStreamTool.run_json_stream`` are tool syscalls. autogen
  runs sync function tools with ``run_in_executor``, which drops contextvars, so the identity is
  read on the event loop and passed to the kernel explicitly.
- An autogen ``CancellationToken`` also cancels a call still waiting for admission.

Classes defined after patching (user subclasses) are wrapped as they are created, through an
``__init_subclass__`` on each base that ``unpatch`` removes again.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import importlib
import logging
import sys
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any

import wrapt

from aios.adapters._agent_runs import aeach_step_in_run, run_as
from aios.adapters._sdk_usage import latest_usage, usage_outcome
from aios.adapters.base import Adapter, aeach_step_in, first_text
from aios.adapters.hookspecs import hookimpl
from aios.kernel.context import AgentIdentity, acting_as, current_agent, inside_llm_call, inside_syscall
from aios.kernel.failures import Failure
from aios.kernel.lease import Lease
from aios.kernel.syscall import Syscall

log = logging.getLogger("aios.adapters")

FRAMEWORK = "autogen"

#: The team whose ``run_stream`` is running in this context (copied into the team's runtime task).
_team: contextvars.ContextVar[str | None] = contextvars.ContextVar("aios_autogen_team", default=None)
#: Agents of a running team, for teams on a runtime started elsewhere (no context to inherit).
_members: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()

# -- identity -------------------------------------------------------------------------------------
def _team_name(team: Any) -> str:
    name = getattr(team, "name", None)
    return name if isinstance(name, str) and name else type(team).__name__


def agent_identity(agent: Any) -> AgentIdentity:
    """Who an autogen chat agent is: its name, in the team running it (if any)."""
    group = _team.get() or _members.get(agent)
    return AgentIdentity(str(agent.name), group=group, framework=FRAMEWORK)


async def _on_messages(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    # The agent's turn is an agent run (an invoke_agent span when tracing); ``on_messages``
    # running ``on_messages_stream`` stays one run.
    with run_as(agent_identity(instance)):
        return await wrapped(*args, **kwargs)


def _on_messages_stream(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    return aeach_step_in_run(wrapped(*args, **kwargs), agent_identity(instance))


class _TeamScope:
    """The team's name in ``_team`` and, for calls outside any agent, the team as the caller."""

    def __init__(self, name: str) -> None:
        self.identity = _team_identity(name)
        self._tokens: list[tuple[contextvars.Token[str | None], Any]] = []

    def __enter__(self) -> None:
        scope = acting_as(self.identity)
        scope.__enter__()
        self._tokens.append((_team.set(self.identity.name), scope))

    def __exit__(self, *exc: object) -> None:
        token, scope = self._tokens.pop()
        _team.reset(token)
        scope.__exit__(*exc)


def _team_identity(name: str) -> AgentIdentity:
    return AgentIdentity(name, group=name, framework=FRAMEWORK)


def _team_run_stream(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> AsyncIterator[Any]:
    name = _team_name(instance)
    steps = aeach_step_in(wrapped(*args, **kwargs), lambda: _TeamScope(name))
    # The team's run is an agent run too: its members' runs nest inside it (their runtime's
    # tasks start within the team's steps and inherit its context).
    return _members_during(instance, name, aeach_step_in_run(steps, _team_identity(name)))


async def _members_during(team: Any, name: str, agen: AsyncIterable[Any]) -> AsyncIterator[Any]:
    members = [p for p in getattr(team, "_participants", ()) if hasattr(p, "on_messages")]
    for member in members:
        _members[member] = name
    try:
        async for item in agen:
            yield item
    finally:
        for member in members:
            if _members.get(member) == name:
                del _members[member]


async def _team_run(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    # ``run`` uses ``run_stream`` in the base class; a subclass's own ``run`` still names the team.
    name = _team_name(instance)
    with run_as(_team_identity(name)), _TeamScope(name):
        return await wrapped(*args, **kwargs)


# -- cancellation ---------------------------------------------------------------------------------
def _token_of(args: Any, kwargs: Any, position: int) -> Any:
    token = kwargs.get("cancellation_token")
    if token is None and len(args) > position:
        token = args[position]
    return token if hasattr(token, "link_future") else None


async def _linked(coro: Any, token: Any) -> Any:
    """Await ``coro`` as a task the autogen token can cancel (also while it waits for admission)."""
    if token is None:
        return await coro
    task = asyncio.ensure_future(coro)
    token.link_future(task)
    return await task


# -- tools ----------------------------------------------------------------------------------------
def _is_agent_tool(tool: Any) -> bool:
    # AgentTool/TeamTool run a whole agent: its model and tool calls are syscalls of their own.
    mod = sys.modules.get("autogen_agentchat.tools._task_runner_tool")
    cls = getattr(mod, "TaskRunnerTool", None) if mod is not None else None
    return cls is not None and isinstance(tool, cls)


def _never_retry(_exc: BaseException) -> Failure:
    return Failure(False, "tool")  # tools may have side effects


# -- model clients --------------------------------------------------------------------------------
def _model_of(client: Any) -> str | None:
    name = first_text(client, "_model_name", "_model", "model")
    if name is not None:
        return name
    info = getattr(client, "_create_args", None)
    if isinstance(info, dict) and isinstance(info.get("model"), str):
        return str(info["model"])
    return None


def _base_url_of(client: Any) -> str | None:
    url = first_text(client, "_host", "_endpoint", "base_url")
    if url is not None:
        return url
    inner = getattr(client, "_client", None)  # an SDK-backed client: its SDK client's URL
    sdk_url = getattr(inner, "base_url", None)
    return str(sdk_url) if sdk_url is not None else None


def _api_of(client: Any, sdk: str | None) -> str:
    if sdk == "openai":
        return "openai.chat"
    if sdk == "anthropic":
        return "anthropic.messages"
    # One core family per client kind (``ollama.chat``, ``replay.chat``...).
    name = type(client).__name__.removesuffix("ChatCompletionClient").removesuffix("CompletionClient")
    return f"{(name or 'autogen').lower()}.chat"


# -- the adapter ----------------------------------------------------------------------------------
class AutogenAdapter(Adapter):
    name = "autogen"
    distribution = "autogen-agentchat"
    supported = ">=0.7,<0.8"
    # autogen_core is imported by agentchat and by programs that use only core + ext clients.
    module = "autogen_core"
    framework = FRAMEWORK
    #: Clients whose requests go through the openai/anthropic SDK, and wrappers that only
    #: delegate to another client (``None``: a cache hit must never be a syscall).
    sdk_backed = {
        "autogen_ext.models.openai._openai_client.BaseOpenAIChatCompletionClient": "openai",
        "autogen_ext.models.anthropic._anthropic_client.BaseAnthropicChatCompletionClient": "anthropic",
        "autogen_ext.models.cache._chat_completion_cache.ChatCompletionCache": None,
        "autogen_ext.models.semantic_kernel._sk_chat_completion_adapter.SKChatCompletionAdapter": None,
    }

    #: module defining a base class -> (base class, {method: wrapper, or the adapter's method name}).
    _BASES: dict[str, tuple[str, dict[str, Callable[..., Any] | str]]] = {
        "autogen_core.tools._base": ("BaseTool", {"run_json": "_run_json"}),
        "autogen_core.tools._base#stream": ("BaseStreamTool", {"run_json_stream": "_run_json_stream"}),
        "autogen_core.models._model_client": (
            "ChatCompletionClient",
            {"create": "_create", "create_stream": "_create_stream"},
        ),
        "autogen_agentchat.agents._base_chat_agent": (
            "BaseChatAgent",
            {"on_messages": _on_messages, "on_messages_stream": _on_messages_stream},
        ),
        "autogen_agentchat.teams._group_chat._base_group_chat": (
            "BaseGroupChat",
            {"run": _team_run, "run_stream": _team_run_stream},
        ),
    }

    def __init__(self) -> None:
        super().__init__()
        self._done: set[str] = set()
        self._hooked: set[str] = set()

    def _patch(self) -> None:
        self._done = set()
        for key in self._BASES:
            module = key.split("#", 1)[0]
            if _fully_imported(module):
                self._patch_base(key)
        for key in self._BASES:
            module = key.split("#", 1)[0]
            if key not in self._hooked:
                self._hooked.add(key)
                # Hooks cannot be removed: they check that this adapter is applied.
                wrapt.register_post_import_hook(functools.partial(self._late, key), module)

    def _unpatch(self) -> None:
        self._done = set()

    # -- tools: the one place an autogen tool call reaches the kernel -----------------------------
    async def _run_json(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if _is_agent_tool(instance):
            return await wrapped(*args, **kwargs)
        # Read on the loop: a sync tool body runs in an executor thread without this context.
        # A refused call raises ToolRefused here, which autogen's workbench turns into an error result.
        call = self.arun_tool(
            str(instance.name),
            lambda: wrapped(*args, **kwargs),
            agent=current_agent(),
            arguments=args[0] if args else kwargs.get("args"),
        )
        return await _linked(call, _token_of(args, kwargs, 1))

    def _run_json_stream(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if inside_syscall() or _is_agent_tool(instance):
            return wrapped(*args, **kwargs)
        sc = self.kernel.tool_syscall(str(instance.name), framework=FRAMEWORK, agent=current_agent())
        token = _token_of(args, kwargs, 1)
        arguments = args[0] if args else kwargs.get("args")

        async def admit(acquire: Awaitable[Lease]) -> Any:
            try:  # a `confirm` tool is approved before it waits for a slot
                await self.kernel.aapprove(sc, arguments)
            except BaseException:
                acquire.close()  # type: ignore[attr-defined]
                raise
            return await _linked(acquire, token)

        return self.astream(sc, lambda: wrapped(*args, **kwargs), classify=_never_retry, admit=admit)

    # -- model clients (unless an SDK adapter makes the syscall at the transport) -----------------
    def _syscall(self, client: Any, args: Any, kwargs: Any, stream: bool) -> Syscall:
        messages = kwargs.get("messages", args[0] if args else None)
        if isinstance(messages, list | tuple):
            messages = [getattr(m, "content", m) for m in messages]
        sdk = self.sdk_of(type(client))
        return self.llm_syscall(
            api=_api_of(client, sdk),
            model=_model_of(client),
            base_url=_base_url_of(client),
            prompt=messages,
            stream=stream,
        )

    async def _create(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if inside_llm_call() or self.gated_below(type(instance)):
            return await wrapped(*args, **kwargs)
        sc = self._syscall(instance, args, kwargs, False)
        call = self.kernel.acall(sc, lambda _lease: wrapped(*args, **kwargs), outcome=usage_outcome)
        return await _linked(call, kwargs.get("cancellation_token"))

    def _create_stream(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if inside_llm_call() or self.gated_below(type(instance)):
            return wrapped(*args, **kwargs)
        sc = self._syscall(instance, args, kwargs, True)
        token = kwargs.get("cancellation_token")
        return self.astream(
            sc, lambda: wrapped(*args, **kwargs), fold=latest_usage, admit=lambda c: _linked(c, token)
        )

    def _late(self, key: str, _module: Any) -> None:
        with self._lock:
            if not self._applied or key in self._done:
                return
            try:
                self._patch_base(key)
            except Exception as exc:  # a framework surprise must not break the program's import
                log.warning("aios adapter 'autogen' could not patch %s: %r", key, exc)

    def _patch_base(self, key: str) -> None:
        module_name = key.split("#", 1)[0]
        base_name, methods = self._BASES[key]
        base = getattr(importlib.import_module(module_name), base_name)
        wrappers = {m: getattr(self, w) if isinstance(w, str) else w for m, w in methods.items()}
        for cls in _hierarchy(base):
            self._wrap_class(cls, wrappers)
        self._hook_subclasses(base, wrappers)
        self._done.add(key)

    def _wrap_class(self, cls: type, methods: dict[str, Callable[..., Any]]) -> None:
        for method, wrapper in methods.items():
            fn = cls.__dict__.get(method)
            if fn is None or getattr(fn, "__isabstractmethod__", False):
                continue
            if isinstance(fn, wrapt.FunctionWrapper):
                continue  # already ours (a base listed twice)
            self.wrap(cls, method, wrapper)

    def _hook_subclasses(self, base: type, methods: dict[str, Callable[..., Any]]) -> None:
        """Wrap subclasses defined from now on, as they are created."""
        adapter = self
        own = base.__dict__.get("__init_subclass__")

        def __init_subclass__(cls: Any, /, **kw: Any) -> None:
            if own is not None:
                own.__get__(None, cls)(**kw)
            else:
                super(base, cls).__init_subclass__(**kw)  # type: ignore[arg-type]
            with adapter._lock:
                if adapter._applied or adapter._wanted:
                    adapter._wrap_class(cls, methods)

        self.replace(base, "__init_subclass__", classmethod(__init_subclass__))


def _hierarchy(base: type) -> list[type]:
    seen: dict[type, None] = {base: None}
    stack: list[type] = [base]
    while stack:
        subclasses: list[type] = stack.pop().__subclasses__()
        for sub in subclasses:
            if sub not in seen:
                seen[sub] = None
                stack.append(sub)
    return list(seen)


def _fully_imported(module: str) -> bool:
    mod = sys.modules.get(module)
    if mod is None:
        return False
    spec = getattr(mod, "__spec__", None)
    return not getattr(spec, "_initializing", False)


@hookimpl
def aios_register_adapters(register: Callable[[Adapter], None]) -> None:
    register(AutogenAdapter())
