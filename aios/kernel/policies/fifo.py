"""First come, first served."""

from __future__ import annotations

from collections.abc import Iterator

from aios.kernel.policies.base import Policy, PolicyOptions, SortedQueue, by_seq
from aios.kernel.syscall import Syscall


class FifoPolicy(Policy):
    """Syscalls run in the order they were first submitted (a retry keeps its place)."""

    name = "fifo"

    def __init__(self, options: PolicyOptions | None = None) -> None:
        super().__init__(options)
        self._q = SortedQueue(by_seq)

    def push(self, sc: Syscall) -> None:
        self._q.push(sc)

    def remove(self, sc: Syscall) -> None:
        self._q.remove(sc)

    def ordered(self) -> Iterator[Syscall]:
        return iter(self._q)

    def __len__(self) -> int:
        return len(self._q)
