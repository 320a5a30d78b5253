"""A lease: the right to perform one admitted call, ended exactly once."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING

from aios.kernel.cores import CoreSpec
from aios.kernel.failures import Usage
from aios.kernel.syscall import Status, Syscall

if TYPE_CHECKING:
    from aios.kernel.kernel import Kernel


class Lease:
    """Held by a caller between admission and the end of its call (for a stream: its last chunk).

    ``succeed``, ``fail`` and ``cancel`` are idempotent: the first one ends the syscall and gives
    its slot back; later ones do nothing. A lease bound to a stream object ends as cancelled if the
    stream is garbage-collected before it was finished.
    """

    __slots__ = ("__weakref__", "kernel", "syscall")

    def __init__(self, kernel: Kernel, syscall: Syscall) -> None:
        self.kernel = kernel
        self.syscall = syscall

    @property
    def core(self) -> CoreSpec | None:
        core = self.syscall.core
        return None if core is None else core.spec

    @property
    def active(self) -> bool:
        return self.syscall.status is Status.RUNNING

    def observe(
        self, *, usage: Usage | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        """Record usage and rate-limit headers without ending the call (streams, as they go)."""
        sc = self.syscall
        if usage is not None:
            if usage.input_tokens is not None:
                sc.input_tokens = usage.input_tokens
            if usage.output_tokens is not None:
                sc.output_tokens = usage.output_tokens
            sc.usage_known = True
        if headers and sc.core_name is not None:
            self.kernel.scheduler.learn(sc.core_name, headers)

    def succeed(
        self, *, usage: Usage | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        self.observe(usage=usage, headers=headers)
        self.kernel._finish(
            self.syscall, Status.DONE, usage_known=self.syscall.usage_known
        )

    def fail(self, error: BaseException | str) -> None:
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self.kernel._finish(self.syscall, Status.FAILED, error=text)

    def cancel(self, reason: str = "cancelled by the caller", *, ran: bool = True) -> None:
        self.kernel._finish(self.syscall, Status.CANCELLED, error=reason, ran=ran)

    def bind(self, owner: object) -> weakref.finalize:  # type: ignore[type-arg]
        """End the lease as cancelled if ``owner`` (a stream) is collected before it ended."""
        return weakref.finalize(owner, _abandon, self.kernel, self.syscall)

    def __repr__(self) -> str:
        return f"<Lease {self.syscall!r} core={self.syscall.core_name!r}>"


def _abandon(kernel: Kernel, sc: Syscall) -> None:
    kernel._finish(
        sc,
        Status.CANCELLED,
        error="the stream was garbage-collected before it was read to the end or closed",
    )
