"""Higher priority first, with aging so that nothing waits forever."""

from __future__ import annotations

from aios.kernel.policies.base import KeyedPolicy
from aios.kernel.syscall import Syscall


class PriorityPolicy(KeyedPolicy):
    """Runs the syscall with the highest ``priority + aging_rate * seconds_waited``.

    Comparing two such scores at any moment is the same as comparing
    ``priority - aging_rate * created_at``, which does not change while they wait: so a sorted
    queue with a fixed key serves, and a syscall that waited long enough outranks any newcomer.
    """

    name = "priority"

    def sort_key(self, sc: Syscall) -> float:
        return self.options.aging_rate * sc.created_at - sc.priority

    def rank(self, sc: Syscall) -> float:
        # Without aging, priority alone orders; creation time only breaks ties.
        return self.sort_key(sc) if self.options.aging_rate else -sc.priority + sc.created_at * 1e-12
