"""The kernel: syscalls, scheduling policies, cores with real limits, accounting.

Nothing here imports a framework, an adapter or the simulator.
"""

from aios.kernel.clock import Clock, ManualClock, MonotonicClock
from aios.kernel.context import AgentIdentity, agent, current_agent, inside_syscall, suppressed
from aios.kernel.cores import Core, CoreSpec
from aios.kernel.failures import Failure, Usage, classify_generic
from aios.kernel.kernel import Kernel
from aios.kernel.lease import Lease
from aios.kernel.policies import Policy, PolicyOptions, register_policy
from aios.kernel.syscall import Kind, Status, Syscall
from aios.kernel.tokens import estimate_tokens

__all__ = [
    "AgentIdentity",
    "Clock",
    "Core",
    "CoreSpec",
    "Failure",
    "Kernel",
    "Kind",
    "Lease",
    "ManualClock",
    "MonotonicClock",
    "Policy",
    "PolicyOptions",
    "Status",
    "Syscall",
    "Usage",
    "agent",
    "classify_generic",
    "current_agent",
    "estimate_tokens",
    "inside_syscall",
    "register_policy",
    "suppressed",
]
