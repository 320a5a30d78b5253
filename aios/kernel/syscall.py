"""The syscall record: one LLM call or tool call of one agent, from submission to its final status."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aios.kernel.cores import AdmissionCore
    from aios.kernel.ledger import Charge
    from aios.kernel.waiters import Waiter


class Kind(StrEnum):
    LLM = "llm"
    TOOL = "tool"


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in FINAL


#: The statuses a syscall ends in (``status in FINAL`` is what ``status.final`` answers, cheaper).
FINAL = frozenset({Status.DONE, Status.FAILED, Status.CANCELLED})
# Members read through their enum class cost a descriptor call each (~60 ns, a dozen times per
# syscall); the kernel's per-call path reads these plain module names instead.
LLM, TOOL = Kind.LLM, Kind.TOOL
QUEUED, RUNNING, DONE = Status.QUEUED, Status.RUNNING, Status.DONE
FAILED, CANCELLED = Status.FAILED, Status.CANCELLED
#: ``member.value`` by member: an enum's ``value`` is a Python-level property, read per call.
KIND_VALUE: dict[Kind, str] = {k: k.value for k in Kind}
STATUS_VALUE: dict[Status, str] = {s: s.value for s in Status}
_ids = itertools.count(1)


@dataclass(eq=False, slots=True)
class Syscall:
    """What the kernel knows of one call. Times are monotonic seconds (see ``Clock``)."""

    kind: Kind
    agent: str
    created_at: float
    framework: str = ""
    model: str | None = None
    tool: str | None = None
    priority: int = 0
    group: str | None = None
    #: Estimated tokens charged at admission: prompt tokens and the output allowance.
    est_input_tokens: int = 0
    est_output_tokens: int = 0
    #: What an LLM syscall asks of the model (GenAI's operation name): ``chat``, ``embeddings``.
    operation: str = "chat"
    #: Core names in order of preference (the route's core, then its fallbacks).
    candidates: tuple[str, ...] = ()
    stream: bool = False
    id: int = field(default_factory=lambda: next(_ids))
    status: Status = Status.QUEUED
    started_at: float | None = None
    finished_at: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    retries: int = 0
    error: str | None = None
    #: The core the syscall holds while running (``None`` when queued or final).
    core: AdmissionCore | None = None
    #: Name of the last core the syscall ran on, kept for the report.
    core_name: str | None = None
    #: Earliest time a retry may be admitted (backoff).
    not_before: float = 0.0
    #: Total seconds spent queued, across retries.
    waited_s: float = 0.0
    #: Seconds spent running, across retries.
    service_s: float = 0.0
    queued_at: float = 0.0
    seq: int = 0
    waiter: Waiter | None = None
    avoid_core: str | None = None
    #: Budget lines this syscall reserves at each admission (see ``aios.kernel.ledger``).
    charges: tuple[Charge, ...] = ()
    #: Whether the current attempt holds its budget reservation.
    budget_held: bool = False
    #: Rate charges of the current attempt, by bucket: ``pending`` from admission until the
    #: caller sends the call (``start``), then ``charged`` until the attempt ends.
    pending_charges: dict[str, float] | None = None
    charged: dict[str, float] | None = None
    #: When the current attempt was admitted (its service time starts there).
    attempt_started_at: float | None = None
    #: Whether the attempt that ended last really ran (False: its slot came back unused).
    attempt_ran: bool = True
    #: Whether the provider reported this call's usage.
    usage_known: bool = False
    #: Set when a rejection's headers told us the provider's remaining counts.
    provider_synced: bool = False
    #: The shared state's lease on this attempt's slot (Redis backend), else ``None``.
    lease_id: str | None = None
    #: Why each retry happened (``rate_limit``, ``overloaded``, ``connection``, ...).
    retry_reasons: list[str] = field(default_factory=list)
    #: The model the provider says answered (may differ from the requested ``model``).
    response_model: str | None = None
    #: What the call cost, when the model's prices are known.
    cost_usd: float | None = None
    # -- access control (aios.kernel.access) --
    #: The run the call belongs to (``aios run``, or the outermost ``aios.agent`` scope).
    run: str | None = None
    #: Prompt tokens the provider served from its cache, when an adapter reports them.
    cached_input_tokens: int = 0
    #: The access rules passed just before the tool's approval: admission does not repeat them.
    access_checked: bool = False
    #: What the call said and answered, for traces (``otel_capture_content``); ``None`` unless
    #: capture is on. Adapters hand the raw parts over (LLM: ``api``, ``request`` body and
    #: ``response``/``response_sse`` bytes; tool: ``arguments`` and ``result``), and only the
    #: exporter turns them into messages, off the caller's path.
    content: dict[str, Any] | None = None

    @property
    def turnaround_s(self) -> float | None:
        return None if self.finished_at is None else self.finished_at - self.created_at

    def to_record(self) -> dict[str, Any]:
        """The JSON-able form used in ``Kernel.report()``."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "agent": self.agent,
            "group": self.group,
            "framework": self.framework,
            "model": self.model,
            "tool": self.tool,
            "operation": self.operation if self.kind is Kind.LLM else None,
            "core": self.core_name,
            "priority": self.priority,
            "status": self.status.value,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "waiting_s": self.waited_s,
            "turnaround_s": self.turnaround_s,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "retries": self.retries,
            "error": self.error,
            "cost_usd": self.cost_usd,
        }

    def __repr__(self) -> str:
        what = self.model if self.kind is Kind.LLM else self.tool
        return f"<Syscall #{self.id} {self.kind.value} {what!r} agent={self.agent!r} {self.status.value}>"
