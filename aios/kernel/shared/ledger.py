"""Budget lines kept in the shared state: one ledger for every process of a kernel."""

from __future__ import annotations

from collections.abc import Sequence

from aios.kernel.ledger import Charge, LocalLedger, Shortfall
from aios.kernel.shared.state import SharedState


class SharedLedger:
    """Reserve-and-settle of :mod:`aios.kernel.ledger` as one script each on the server.

    Reservations are leases too: those of a process that died are released after
    ``lease_ttl_s``. When the server is lost and ``redis_unavailable = "local"``, reservations
    continue in a per-process ledger.
    """

    def __init__(self, state: SharedState) -> None:
        self.state = state
        self.local = LocalLedger()
        self.keys = state.budget_keys()
        self._shared_holders: set[str] = set()

    def reserve(self, charges: Sequence[Charge], holder: str = "") -> Shortfall | None:
        holder = f"{self.state.process}:{holder}"
        args: list[object] = ["reserve", self.state.clock.now(), holder, self.state.ttl, len(charges)]
        for c in charges:
            args += [c.key, c.amount, c.limit]
        result = self.state.run(self.state.ledger_script, self.keys, args, admission=True)
        if result is None:
            return self.local.reserve(charges, holder)
        index = int(result[0])
        if index == 0:
            self._shared_holders.add(holder)
            self.state.hold_budget(holder)
            return None
        return Shortfall(charges[index - 1], float(result[1]), float(result[2]))

    def settle(self, charges: Sequence[Charge], actual: Sequence[float], holder: str = "") -> None:
        holder = f"{self.state.process}:{holder}"
        if holder not in self._shared_holders:
            self.local.settle(charges, actual, holder)
            return
        self._shared_holders.discard(holder)
        self.state.drop_budget(holder)
        args: list[object] = ["settle", self.state.clock.now(), holder, len(charges)]
        for c, used in zip(charges, actual, strict=True):
            args += [c.key, c.amount, used]
        self.state.run(self.state.ledger_script, self.keys, args)

    def line(self, key: str) -> tuple[float, float]:
        if self.state.degraded:
            return self.local.line(key)
        raw = self.state.client.hmget(self.keys[0], f"u:{key}", f"r:{key}")
        return float(raw[0] or 0), float(raw[1] or 0)
