"""aios: an operating system for LLM agents, for the agents people already have.

import aios
aios.patch()                      # every installed framework goes through the kernel
with aios.agent("planner"):
    ...                           # calls in here are attributed to "planner"
print(aios.get_kernel().report())

The public names load on first use (PEP 562): ``import aios`` alone costs next to nothing, which
matters to every process ``aios run`` starts and to the ``aios`` command's start-up.
"""

from __future__ import annotations

from importlib import import_module

from aios._version import __version__

TYPE_CHECKING = False  # not typing's: `aios run` imports this package at exit, typing unloaded
if TYPE_CHECKING:
    from typing import Any

    from aios.adapters.patching import patch, patched, unpatch
    from aios.config import KernelConfig, load_config
    from aios.errors import (
        AccessDenied,
        AdapterError,
        AdmissionError,
        AiosError,
        BudgetExceeded,
        ConfigError,
        KernelError,
        KernelShutdown,
        SyscallCancelled,
        ToolRefused,
        ToolTimeout,
        UnknownFrameworkError,
    )
    from aios.kernel.access import ApprovalRequest, Decision
    from aios.kernel.context import agent
    from aios.runner.cluster_report import cluster_report
    from aios.runtime import boot, get_kernel, shutdown

#: Public name -> the module that defines it.
_LAZY: dict[str, str] = {
    **dict.fromkeys(("patch", "patched", "unpatch"), "aios.adapters.patching"),
    **dict.fromkeys(("KernelConfig", "load_config"), "aios.config"),
    **dict.fromkeys(
        (
            "AccessDenied",
            "AdapterError",
            "AdmissionError",
            "AiosError",
            "BudgetExceeded",
            "ConfigError",
            "KernelError",
            "KernelShutdown",
            "SyscallCancelled",
            "ToolRefused",
            "ToolTimeout",
            "UnknownFrameworkError",
        ),
        "aios.errors",
    ),
    **dict.fromkeys(("ApprovalRequest", "Decision"), "aios.kernel.access"),
    "agent": "aios.kernel.context",
    "cluster_report": "aios.runner.cluster_report",
    **dict.fromkeys(("boot", "get_kernel", "shutdown"), "aios.runtime"),
}


#: Subpackages an eager ``import aios`` used to load, so ``aios.runtime`` kept working unimported.
_SUBMODULES = frozenset({"adapters", "config", "errors", "kernel", "runner", "runtime"})


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        if name in _SUBMODULES:
            return import_module(f"aios.{name}")  # the import sets it on this package too
        raise AttributeError(f"module 'aios' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AccessDenied",
    "AdapterError",
    "AdmissionError",
    "AiosError",
    "ApprovalRequest",
    "BudgetExceeded",
    "ConfigError",
    "Decision",
    "KernelConfig",
    "KernelError",
    "KernelShutdown",
    "SyscallCancelled",
    "ToolRefused",
    "ToolTimeout",
    "UnknownFrameworkError",
    "__version__",
    "agent",
    "boot",
    "cluster_report",
    "get_kernel",
    "load_config",
    "patch",
    "patched",
    "shutdown",
    "unpatch",
]
