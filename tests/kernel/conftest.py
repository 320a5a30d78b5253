"""Fixtures for kernel tests: kernels that are always shut down, syscall factories."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aios.config import KernelConfig
from aios.kernel.clock import ManualClock
from aios.kernel.kernel import Kernel
from aios.kernel.syscall import Kind, Syscall

MakeSyscall = Callable[..., Syscall]
MakeKernel = Callable[..., Kernel]


@pytest.fixture
def make_sc() -> MakeSyscall:
    """Syscalls numbered in creation order (``seq``), as the scheduler would number them."""
    seqs = itertools.count(1)

    def make(
        agent: str = "a",
        *,
        priority: int = 0,
        created_at: float = 0.0,
        est_in: int = 0,
        est_out: int = 0,
        candidates: tuple[str, ...] = ("c",),
        seq: bool = True,
    ) -> Syscall:
        sc = Syscall(
            kind=Kind.LLM,
            agent=agent,
            created_at=created_at,
            priority=priority,
            est_input_tokens=est_in,
            est_output_tokens=est_out,
            candidates=candidates,
        )
        if seq:
            sc.seq = next(seqs)
        return sc

    return make


@pytest.fixture(params=["local", "shared"])
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Config keys of each admission-state backend: in-process, and shared on a real server."""
    if request.param == "local":
        return {}
    url = request.getfixturevalue("redis_url")
    return {"redis_url": url, "redis_prefix": f"test-{uuid.uuid4().hex[:12]}"}


@pytest.fixture
def make_kernel(backend: dict[str, Any]) -> Iterator[MakeKernel]:
    """Build kernels from config keys, on each backend; every one is shut down after the test.

    Kernels made in one test share their admission state (as processes of one kernel would)."""
    made: list[Kernel] = []

    def make(*, clock: ManualClock | None = None, **config: Any) -> Kernel:
        k = Kernel(KernelConfig.model_validate({**backend, **config}), clock=clock)
        made.append(k)
        return k

    yield make
    for k in made:
        k.shutdown()


class Wakes:
    """A waiter (for ``Scheduler.submit``) that counts its wake-ups; none may carry an error."""

    def __init__(self) -> None:
        self.count = 0

    def wake(self, error: BaseException | None) -> None:
        assert error is None
        self.count += 1
