"""Helpers for tests of kernels that share one admission state (a Valkey server or cluster)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from aios.kernel.context import AgentIdentity
from aios.kernel.failures import Usage
from aios.kernel.kernel import Kernel
from aios.kernel.syscall import Syscall


def llm(k: Kernel, agent: str = "a", priority: int | None = None, **kw: Any) -> Syscall:
    """An LLM syscall of ``agent`` to the one core the test's config routes everything to."""
    kw["agent"] = AgentIdentity(agent, priority=priority)
    kw.setdefault("api", "openai.chat")
    kw.setdefault("model", "m")
    kw.setdefault("base_url", "http://127.0.0.1:9/v1")
    return k.llm_syscall(**kw)


def acquire_in_thread(k: Kernel, sc: Syscall, order: list[str], tag: str) -> threading.Thread:
    """Acquire ``sc`` in a new thread; ``tag`` joins ``order`` when it is admitted."""

    def run() -> None:
        lease = k.acquire(sc)
        order.append(tag)
        lease.succeed()

    t = threading.Thread(target=run)
    t.start()
    return t


def wait_until(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def race_for_a_token_budget(kernels: list[Kernel], callers: int) -> list[str]:
    """``callers`` threads at once, spread over ``kernels``, each making one call of agent ``a``
    (10 tokens in, 20 out); the outcome of each: ``done`` or the exception's class name."""
    gate = threading.Barrier(callers)
    outcomes: list[str] = []

    def run(i: int) -> None:
        k = kernels[i % len(kernels)]
        gate.wait()
        try:
            k.call(
                llm(k, input_tokens=10, max_tokens=20),
                lambda lease: (10, 20),
                outcome=lambda r: (Usage(*r), None),
            )
            outcomes.append("done")
        except Exception as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes
