"""Higher priority first, with aging so that nothing waits forever."""

from __future__ import annotations

from collections.abc import Iterator

from aios.kernel.policies.base import Policy, PolicyOptions, SortedQueue
from aios.kernel.syscall import Syscall


class PriorityPolicy(Policy):
    """Runs the syscall with the highest ``priority + aging_rate * seconds_waited``.

    Comparing two such scores at any moment is the same as comparing
    ``priority - aging_rate * created_at``, which does not change while they wait: so a sorted
    queue with a fixed key serves, and a syscall that waited long enough outranks any newcomer.
    """

    name = "priority"

    def __init__(self, options: PolicyOptions | None = None) -> None:
        super().__init__(options)
        rate = self.options.aging_rate
        self._q = SortedQueue(lambda sc: rate * sc.created_at - sc.priority)

    def push(self, sc: Syscall) -> None:
        self._q.push(sc)

    def remove(self, sc: Syscall) -> None:
        self._q.remove(sc)

    def ordered(self) -> Iterator[Syscall]:
        return iter(self._q)

    def __len__(self) -> int:
        return len(self._q)
