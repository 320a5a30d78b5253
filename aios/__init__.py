"""aios: an operating system for LLM agents, for the agents people already have.

import aios
aios.patch()                      # every installed framework goes through the kernel
with aios.agent("planner"):
    ...                           # calls in here are attributed to "planner"
print(aios.get_kernel().report())
"""

from aios._version import __version__
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
