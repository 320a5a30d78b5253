"""First come, first served."""

from __future__ import annotations

from aios.kernel.policies.base import KeyedPolicy


class FifoPolicy(KeyedPolicy):
    """Syscalls run in the order they were first submitted (a retry keeps its place)."""

    name = "fifo"
