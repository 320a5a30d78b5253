"""What a syscall reserves of its budgets, and what it really used: the kernel's metering.

The built-in metering covers token budgets (``agents.<name>.token_budget``); the access manager
extends it with costs and call caps. The scheduler reserves a syscall's charges at admission and
settles them through ``actual`` when an attempt that ran ends.
"""

from __future__ import annotations

from typing import Protocol

from aios.config import KernelConfig
from aios.kernel.ledger import Charge
from aios.kernel.syscall import Kind, Syscall


class Metering(Protocol):
    def charges(self, sc: Syscall) -> tuple[Charge, ...]:
        """The budget lines ``sc`` reserves at each admission (computed once, at first submit)."""
        ...

    def actual(self, sc: Syscall, charge: Charge) -> float:
        """What an attempt of ``sc`` that ran used of ``charge``'s line."""
        ...


class TokenBudgets:
    """Each agent's ``token_budget``: an LLM call reserves its prompt estimate plus ``max_tokens``."""

    def __init__(self, config: KernelConfig) -> None:
        self._budgets = {
            name: rules.token_budget
            for name, rules in config.agents.items()
            if rules.token_budget is not None
        }

    def charges(self, sc: Syscall) -> tuple[Charge, ...]:
        budget = self._budgets.get(sc.agent)
        if budget is None or sc.kind is not Kind.LLM:
            return ()
        return (
            Charge(
                key=f"agent:{sc.agent}:tokens",
                amount=float(sc.est_input_tokens + sc.est_output_tokens),
                limit=float(budget),
                setting=f"agents.{sc.agent}.token_budget",
            ),
        )

    def actual(self, sc: Syscall, charge: Charge) -> float:
        if not sc.usage_known:
            return charge.amount  # nothing reported: the estimate stands
        return float(sc.input_tokens + sc.output_tokens)
