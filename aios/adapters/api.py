"""Everything an adapter or policy author needs, in one import: ``from aios.adapters import api``.

This module is the declared, typed surface for plugins; the rest of ``aios.adapters`` and
``aios.kernel`` may change between releases. See ``docs/writing-adapters.md``.

An adapter (a subclass of :class:`Adapter`) says *where* its framework is intercepted
(``_patch`` with ``self.wrap``) and *what* a call is; the base class does the rest:

- ``self.llm_syscall(api=, model=, prompt=, ...)`` builds an LLM syscall (prompt size estimated),
  ``self.kernel.call``/``acall`` run it (retries, accounting),
- ``self.stream``/``self.astream`` hold it over a stream (:class:`HeldStream`), ending it by the
  one rule (done at the end, failed on an error, cancelled otherwise),
- ``self.run_tool``/``self.arun_tool`` run a tool once as a tool syscall: the one place each
  adapter's tool calls reach the kernel,
- ``self.gated_below(cls)`` says whether an SDK adapter already makes the LLM syscall of a model
  class listed in ``sdk_backed`` (decided per call, following ``disable_adapters``).

The guard: an LLM wrapper passes straight through when :func:`inside_llm_call` is true (the call
is part of one already scheduled); tool wrappers need none (``run_tool`` does it).
"""

from __future__ import annotations

from aios.adapters._sdk_usage import latest_usage, read_usage, usage_outcome
from aios.adapters.base import Adapter, aeach_step_in, each_step_in, first_text, sdk_adapter_patched
from aios.adapters.hookspecs import hookimpl, hookspec
from aios.errors import AccessDenied, AdapterError, AdmissionError, ToolRefused
from aios.kernel.context import AgentIdentity, acting_as, agent_step, current_agent, inside_llm_call
from aios.kernel.failures import Failure, Usage, classify_generic
from aios.kernel.lease import AsyncHeldStream, HeldStream, Lease, UsageFold
from aios.kernel.policies import Policy, PolicyOptions, register_policy
from aios.kernel.syscall import Kind, Status, Syscall
from aios.kernel.tokens import estimate_tokens

__all__ = [
    "AccessDenied",
    "Adapter",
    "AdapterError",
    "AdmissionError",
    "AgentIdentity",
    "AsyncHeldStream",
    "Failure",
    "HeldStream",
    "Kind",
    "Lease",
    "Policy",
    "PolicyOptions",
    "Status",
    "Syscall",
    "ToolRefused",
    "Usage",
    "UsageFold",
    "acting_as",
    "aeach_step_in",
    "agent_step",
    "classify_generic",
    "current_agent",
    "each_step_in",
    "estimate_tokens",
    "first_text",
    "hookimpl",
    "hookspec",
    "inside_llm_call",
    "latest_usage",
    "read_usage",
    "register_policy",
    "sdk_adapter_patched",
    "usage_outcome",
]
