"""Round-robin across agents: each agent with work gets a turn before any gets a second."""

from __future__ import annotations

from collections.abc import Iterator

from aios.kernel.policies.base import AgentQueues
from aios.kernel.syscall import Syscall

#: Ranks of consecutive turns are this far apart: more than any clock reading in between.
_TURN_SPAN = 1e9


class RoundRobinPolicy(AgentQueues):
    """Agents take turns; an agent served goes to the back of the ring."""

    name = "round-robin"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._ring: dict[str, None] = {}
        self._turns: dict[str, int] = {}

    def on_active(self, key: str) -> None:
        self._ring.setdefault(key, None)
        shared = self._shared_floor()
        if shared is not None:
            # An agent new here has had the turns the shared order stands at, not none.
            turns = max(0, int(shared // _TURN_SPAN))
            self._turns[key] = max(self._turns.get(key, 0), turns)

    def on_idle(self, key: str) -> None:
        self._ring.pop(key, None)

    def rank(self, sc: Syscall) -> float:
        # Agents that had fewer turns first; among equals, the older call.
        return self._turns.get(self.key_of(sc), 0) * _TURN_SPAN + sc.created_at

    def on_dispatch(self, sc: Syscall, now: float) -> None:
        k = self.key_of(sc)
        self._turns[k] = self._turns.get(k, 0) + 1
        if k in self._ring:
            del self._ring[k]
            self._ring[k] = None

    def ordered(self) -> Iterator[Syscall]:
        # The heads of every agent in ring order come first, then every agent's second, and so on.
        iters = [iter(self.queues[k]) for k in self._ring if k in self.queues]
        while iters:
            alive = []
            for it in iters:
                sc = next(it, None)
                if sc is not None:
                    alive.append(it)
                    yield sc
            iters = alive
