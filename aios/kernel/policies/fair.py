"""Fair share in weighted tokens: the virtual token counter (VTC, Sheng et al., OSDI 2024)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aios.kernel.policies.base import AgentQueues, PolicyOptions, lazy_sorted
from aios.kernel.syscall import Syscall


class FairPolicy(AgentQueues):
    """The backlogged agent with the fewest weighted tokens served goes first.

    An agent is charged its input tokens when admitted and its output tokens (and the error of
    the input estimate) when the call ends, each divided by the agent's weight. An agent that
    comes back after being idle is lifted to the least counter among the backlogged agents, so
    idleness earns no credit: this is what bounds the service difference between agents.
    """

    name = "fair"

    def __init__(self, options: PolicyOptions | None = None) -> None:
        super().__init__(options)
        self.counters: dict[str, float] = {}
        self._arrival: dict[str, int] = {}
        self._last_served = 0.0

    def _weight(self, agent: str) -> float:
        return self.options.weights.get(agent, 1.0)

    def on_active(self, key: str) -> None:
        backlogged = [self.counters[k] for k in self.queues]
        floor = min(backlogged) if backlogged else self._last_served
        shared = self._shared_floor()
        if shared is not None:
            # Across processes the least backlogged counter is at most the one admitted last
            # anywhere; with none backlogged here, that one is the freshest "last served".
            floor = min(floor, shared) if backlogged else shared
        self.counters[key] = max(self.counters.get(key, 0.0), floor)
        self._arrival.setdefault(key, len(self._arrival))

    def on_dispatch(self, sc: Syscall, now: float) -> None:
        k = self.key_of(sc)
        self.counters[k] = self.counters.get(k, 0.0) + (
            sc.est_input_tokens * self.options.input_token_weight / self._weight(k)
        )
        self._last_served = self.counters[k]

    def on_finish(self, sc: Syscall, now: float) -> None:
        k = self.key_of(sc)
        o = self.options
        if not sc.attempt_ran:
            # Given back before it ran (a retry, a cancellation): nothing was served.
            correction = -sc.est_input_tokens * o.input_token_weight
            self.counters[k] = self.counters.get(k, 0.0) + correction / self._weight(k)
            return
        if not sc.usage_known:
            return  # nothing reported: the input estimate charged at admission stands
        correction = (sc.input_tokens - sc.est_input_tokens) * o.input_token_weight
        charge = correction + sc.output_tokens * o.output_token_weight
        self.counters[k] = self.counters.get(k, 0.0) + charge / self._weight(k)

    def rank(self, sc: Syscall) -> float:
        return self.counters.get(self.key_of(sc), 0.0)

    def ordered_keys(self) -> Iterator[str]:
        return lazy_sorted(self.queues, key=lambda k: (self.counters[k], self._arrival[k]))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "counters": dict(self.counters)}
