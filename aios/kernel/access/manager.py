"""The access manager: every rule a syscall must pass, behind one entry point at admission.

``admit`` runs at a syscall's first submission: the allowlists of its agent, the rules plugins
add (the ``aios_access_rule`` hook), and the check that a priced budget can price its model.
As the kernel's metering it names the budget lines a syscall reserves (tokens, dollars, calls per
agent and per run) and what it really used. ``approve``/``aapprove`` ask the approver before a
tool marked ``confirm`` runs. Every decision goes to the audit log when one is configured.
"""

from __future__ import annotations

import fnmatch
import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

from aios.config import KernelConfig
from aios.errors import AccessDenied, AdmissionError, ToolRefused
from aios.kernel.access.approvers import ApprovalRequest, Approver, Decision, aask, ask, make_approver
from aios.kernel.access.audit import AuditLog
from aios.kernel.access.prices import Price, PriceTable
from aios.kernel.context import current_run_scope
from aios.kernel.ledger import Charge
from aios.kernel.syscall import LLM, TOOL, Syscall

#: A rule sees a syscall at admission and returns why it is refused, or ``None`` to let it pass.
Rule = Callable[[Syscall], "str | None"]

#: Set by ``aios run`` for the program and every process it starts: they share one run.
RUN_ID_ENV = "AIOS_RUN_ID"


class AccessManager:
    def __init__(self, config: KernelConfig) -> None:
        self.config = config
        self.prices = PriceTable(
            {g: Price(p.input, p.output, p.cached_input) for g, p in config.prices.items()}
        )
        shared_run = os.environ.get(RUN_ID_ENV)
        self.run_id = shared_run or f"kernel-{uuid.uuid4().hex[:12]}"
        self._scoped_runs = shared_run is None
        self.rules: list[Rule] = []
        self.audit = (
            AuditLog(config.audit_log, arguments=config.audit_arguments) if config.audit_log else None
        )
        self._approver: tuple[str, Approver] | None = None
        self._approver_lock = threading.Lock()
        self._confirm = [g for g, t in config.tools.items() if t.confirm]
        self._cost_limited = config.cost_budget_usd is not None or any(
            a.cost_budget_usd is not None for a in config.agents.values()
        )
        self._has_lines = (
            self._cost_limited
            or bool(config.max_llm_calls or config.max_tool_calls)
            or any(a.token_budget or a.max_llm_calls or a.max_tool_calls for a in config.agents.values())
        )
        # Only per-run caps and the audit log need to know a call's run.
        self._track_runs = bool(config.max_llm_calls or config.max_tool_calls or self.audit is not None)
        if config.approver is not None and config.approver.startswith("python:"):
            self.approver()  # a wrong module or function name is a boot error, not a refusal

    # -- admission: the one entry point ---------------------------------------------------------
    def add_rule(self, rule: Rule) -> None:
        self.rules.append(rule)

    def admit(self, sc: Syscall) -> None:
        """Raise :class:`AccessDenied` (or another admission error) if ``sc`` may not run."""
        if sc.access_checked:
            sc.access_checked = False
            return  # checked just before its approval
        if self._track_runs:
            sc.run = self.run_for()
        try:
            self._check(sc)
        except AdmissionError as exc:
            if self.audit is not None:
                self.audit.write("denied", sc, reason=str(exc))
            raise

    def run_for(self) -> str:
        """The run the calling code belongs to: ``aios run``, else its outermost agent scope."""
        if not self._scoped_runs:
            return self.run_id
        return current_run_scope() or self.run_id

    def _check(self, sc: Syscall) -> None:
        rules = self.config.agents.get(sc.agent)
        if rules is not None:
            if sc.kind is LLM and rules.allowed_models is not None and sc.model is not None:
                if not any(fnmatch.fnmatchcase(sc.model, pat) for pat in rules.allowed_models):
                    raise AccessDenied(
                        f"agent {sc.agent!r} may not call model {sc.model!r}: it is not in "
                        f"`agents.{sc.agent}.allowed_models` {rules.allowed_models!r}"
                    )
            if sc.kind is TOOL and rules.allowed_tools is not None and sc.tool is not None:
                if not any(fnmatch.fnmatchcase(sc.tool, pat) for pat in rules.allowed_tools):
                    raise AccessDenied(
                        f"agent {sc.agent!r} may not run tool {sc.tool!r}: it is not in "
                        f"`agents.{sc.agent}.allowed_tools` {rules.allowed_tools!r}"
                    )
        for rule in self.rules:
            try:
                reason = rule(sc)
            except Exception as exc:  # a broken rule refuses rather than lets everything through
                raise AccessDenied(f"an access rule failed: {type(exc).__name__}: {exc}") from exc
            if reason:
                raise AccessDenied(reason)
        if sc.kind is LLM and self._cost_limited and self.price(sc) is None:
            setting = self._cost_setting(sc.agent)
            if setting is None:
                return
            raise AdmissionError(
                f"model {sc.model!r} has no known price, so `{setting}` cannot be kept; add its "
                f'price to the aios config: [prices."{sc.model}"] input = ..., output = ... '
                "(USD per million tokens)"
            )

    def _cost_setting(self, agent: str) -> str | None:
        """The cost budget ``agent``'s calls count against, if any (its own before the global)."""
        rules = self.config.agents.get(agent)
        if rules is not None and rules.cost_budget_usd is not None:
            return f"agents.{agent}.cost_budget_usd"
        return "cost_budget_usd" if self.config.cost_budget_usd is not None else None

    def price(self, sc: Syscall) -> Price | None:
        return self.prices.lookup(sc.model)

    # -- metering: the budget lines a syscall reserves -------------------------------------------
    def charges(self, sc: Syscall) -> tuple[Charge, ...]:
        """Every budget line ``sc`` must fit in, with its estimate (computed once, at first submit)."""
        if not self._has_lines:
            return ()
        cfg = self.config
        rules = cfg.agents.get(sc.agent)
        run = sc.run or self.run_for()
        out: list[Charge] = []
        agent_key = f"agent:{sc.agent}"
        if sc.kind is LLM:
            if rules is not None and rules.token_budget is not None:
                out.append(
                    Charge(
                        f"{agent_key}:tokens",
                        float(sc.est_input_tokens + sc.est_output_tokens),
                        float(rules.token_budget),
                        f"agents.{sc.agent}.token_budget",
                        "tokens",
                    )
                )
            price = self.price(sc) if self._cost_limited else None
            if price is not None:
                est = price.cost(sc.est_input_tokens, sc.est_output_tokens)
                if rules is not None and rules.cost_budget_usd is not None:
                    out.append(
                        Charge(
                            f"{agent_key}:usd",
                            est,
                            rules.cost_budget_usd,
                            f"agents.{sc.agent}.cost_budget_usd",
                            "USD",
                        )
                    )
                if cfg.cost_budget_usd is not None:
                    out.append(Charge("global:usd", est, cfg.cost_budget_usd, "cost_budget_usd", "USD"))
        what, unit = ("llm_calls", "LLM calls") if sc.kind is LLM else ("tool_calls", "tool calls")
        if sc.kind in (LLM, TOOL):
            agent_cap = getattr(rules, f"max_{what}", None) if rules is not None else None
            if agent_cap is not None:
                out.append(
                    Charge(
                        f"{agent_key}:{what}", 1.0, float(agent_cap), f"agents.{sc.agent}.max_{what}", unit
                    )
                )
            run_cap = getattr(cfg, f"max_{what}")
            if run_cap is not None:
                out.append(Charge(f"run:{run}:{what}", 1.0, float(run_cap), f"max_{what}", unit))
        return tuple(out)

    def actual(self, sc: Syscall, charge: Charge) -> float:
        """What an attempt of ``sc`` that ran used of ``charge``'s line.

        Without reported usage the estimate stands: the provider may have billed all of it.
        """
        known = sc.usage_known
        if charge.unit == "tokens":
            return float(sc.input_tokens + sc.output_tokens) if known else charge.amount
        if charge.unit == "USD":
            return self.cost(sc) if known else charge.amount
        return charge.amount  # a call that ran counts, whatever it returned

    def cost(self, sc: Syscall) -> float:
        """Dollars of ``sc``'s reported usage (0 for an unpriced model)."""
        price = self.price(sc)
        if price is None:
            return 0.0
        cached = float(sc.cached_input_tokens)
        return price.cost(sc.input_tokens, sc.output_tokens, cached)

    # -- approval -------------------------------------------------------------------------------
    def needs_approval(self, tool: str) -> bool:
        return bool(self._confirm) and any(fnmatch.fnmatchcase(tool, g) for g in self._confirm)

    def approver(self) -> tuple[str, Approver]:
        with self._approver_lock:
            if self._approver is None:
                self._approver = make_approver(self.config.approver, timeout=self.config.approval_timeout)
            return self._approver

    def _request(self, sc: Syscall, arguments: Any) -> ApprovalRequest:
        return ApprovalRequest(sc.agent, sc.tool or "", arguments, sc.group, sc.framework, sc.id)

    def approve(self, sc: Syscall, arguments: Any) -> None:
        """Before a tool runs: check it, ask the approver if it is marked ``confirm``, raise
        :class:`ToolRefused` on anything but yes."""
        if sc.tool is None or not self.needs_approval(sc.tool):
            return
        self.admit(sc)  # a tool the agent may not run at all is not put to a person
        sc.access_checked = True
        by, approver = self.approver()
        self._decided(
            sc, ask(approver, by, self._request(sc, arguments), self.config.approval_timeout), arguments
        )

    async def aapprove(self, sc: Syscall, arguments: Any) -> None:
        if sc.tool is None or not self.needs_approval(sc.tool):
            return
        self.admit(sc)
        sc.access_checked = True
        by, approver = self.approver()
        decision = await aask(approver, by, self._request(sc, arguments), self.config.approval_timeout)
        self._decided(sc, decision, arguments)

    def _decided(self, sc: Syscall, decision: Decision, arguments: Any) -> None:
        if self.audit is not None:
            self.audit.write(
                "approved" if decision.approved else "refused",
                sc,
                by=decision.by,
                reason=decision.reason,
                arguments=arguments,
            )
        if not decision.approved:
            raise ToolRefused(decision.reason or "the approver refused it", by=decision.by)

    # -- what the kernel reports back ------------------------------------------------------------
    def admitted(self, sc: Syscall) -> None:
        if self.audit is not None:
            self.audit.write("admitted", sc, attempt=sc.retries + 1)

    def finished(self, sc: Syscall) -> None:
        """A syscall reached its final status (called once, under the scheduler's lock)."""
        if sc.kind is LLM:
            sc.cost_usd = self.cost(sc) if sc.input_tokens or sc.output_tokens else 0.0
        if self.audit is not None:
            if sc.started_at is None and (sc.error or "").startswith("BudgetExceeded"):
                # Refused by the scheduler's budget check rather than by a rule in ``admit``.
                self.audit.write("denied", sc, reason=sc.error)
            self.audit.write(
                "finished",
                sc,
                status=sc.status.value,
                error=sc.error,
                input_tokens=sc.input_tokens,
                output_tokens=sc.output_tokens,
                cost_usd=sc.cost_usd,
                retries=sc.retries,
            )

    def close(self) -> None:
        if self.audit is not None:
            self.audit.close()
