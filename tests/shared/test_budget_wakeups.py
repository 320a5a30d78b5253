"""A call waiting for a budget reservation held in another process is woken when it settles.

The holder's end gives back its slot (which wakes the other processes) and settles its budget
reservation; a waiter woken before the settle finds the reservation still held and waits for a
wake-up that never comes. Each round here is a fresh race; the old order lost about one in three.
"""

from __future__ import annotations

import threading
import time
import uuid

from aios.config import KernelConfig
from aios.kernel.context import AgentIdentity
from aios.kernel.failures import Usage
from aios.kernel.kernel import Kernel
from aios.kernel.syscall import Syscall

ROUNDS = 10


def llm(k: Kernel) -> Syscall:
    return k.llm_syscall(
        agent=AgentIdentity("a"),
        api="openai.chat",
        model="m",
        base_url="http://127.0.0.1:9/v1",
        input_tokens=10,
        max_tokens=50,
    )


def test_a_budget_waiter_is_woken_when_another_kernel_settles(redis_url: str) -> None:
    stuck = 0
    for _ in range(ROUNDS):
        cfg = KernelConfig.model_validate(
            {
                "redis_url": redis_url,
                "redis_prefix": f"w-{uuid.uuid4().hex[:10]}",
                # Two estimates (60 each) do not fit at once; the first call's use (20) and one
                # estimate do.
                "agents": {"a": {"token_budget": 100}},
                "max_concurrency": 8,
            }
        )
        a, b = Kernel(cfg), Kernel(cfg)
        try:
            held = a.acquire(llm(a))
            admitted = threading.Event()

            def wait_in_b(b: Kernel = b, admitted: threading.Event = admitted) -> None:
                lease = b.acquire(llm(b))
                admitted.set()
                lease.succeed(usage=Usage(10, 10))

            t = threading.Thread(target=wait_in_b, daemon=True)
            t.start()
            time.sleep(0.05)  # b's call waits for a's reservation
            assert not admitted.is_set()
            held.succeed(usage=Usage(10, 10))
            if not admitted.wait(3.0):
                stuck += 1
        finally:
            a.shutdown()
            b.shutdown()
        t.join(5)
    assert stuck == 0, f"{stuck} of {ROUNDS} waiters were never woken"
