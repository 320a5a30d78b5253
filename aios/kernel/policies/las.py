"""Least attained service per agent, in levels (after Autellix's program-level scheduler)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from aios.kernel.policies.base import AgentQueues, lazy_sorted
from aios.kernel.syscall import Syscall

#: Ranks of consecutive levels are this far apart: more than any clock reading in between.
_LEVEL_SPAN = 1e9


class LasPolicy(AgentQueues):
    """The agent that has had the least service goes first.

    Service is the seconds an agent's calls have spent running. Agents are grouped into levels
    (level 0 below ``las_first_level_s``, each next level starting at twice the previous
    threshold); within a level the agent that arrived first goes first. Levels let agents that
    started first keep going, which is what cuts mean completion time when equal agents share a
    few slots, while a long agent still falls behind short ones, approximating
    shortest-remaining-first without knowing any lengths.
    """

    name = "las"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.attained: dict[str, float] = {}
        self._arrival: dict[str, int] = {}
        self._first_seen: dict[str, float] = {}

    def on_active(self, key: str) -> None:
        self._arrival.setdefault(key, len(self._arrival))

    def rank(self, sc: Syscall) -> float:
        # Level first, then when the agent's first call was made (the order ``_arrival`` keeps).
        k = self.key_of(sc)
        first = self._first_seen.setdefault(k, sc.created_at)
        return float(self.level(k)) * _LEVEL_SPAN + first

    def level(self, key: str) -> float:
        served = self.attained.get(key, 0.0)
        first = self.options.las_first_level_s
        if first <= 0:
            return served
        if served < first:
            return 0
        return 1 + math.floor(math.log2(served / first))

    def hold_after(self, sc: Syscall, now: float) -> float:
        # Only an agent still in the first level is worth waiting for: it is ahead of newcomers.
        return self.options.las_hold_s if self.level(self.key_of(sc)) == 0 else 0.0

    def on_finish(self, sc: Syscall, now: float) -> None:
        # Only this attempt's running time: a retry's backoff and queueing are not service.
        start = sc.attempt_started_at if sc.attempt_started_at is not None else sc.started_at
        if start is not None:
            k = self.key_of(sc)
            self.attained[k] = self.attained.get(k, 0.0) + max(0.0, now - start)

    def ordered_keys(self) -> Iterator[str]:
        return lazy_sorted(self.queues, key=lambda k: (self.level(k), self._arrival[k]))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "attained_s": dict(self.attained)}
