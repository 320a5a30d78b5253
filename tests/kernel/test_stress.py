"""Stress: many sync threads and two foreign event loops through one small kernel, with random
cancellations and failures. Nothing may leak and nothing may hang."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import pytest

from aios.kernel.lease import Lease
from aios.kernel.syscall import Status, Syscall

from .conftest import MakeKernel

SYNC_THREADS = 100
CALLS_PER_THREAD = 5
TASKS_PER_LOOP = 500


class Flaky(Exception):
    pass


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_threads_and_foreign_loops_through_one_kernel(make_kernel: MakeKernel) -> None:
    k = make_kernel(max_concurrency=3, policy="round-robin", retry={"max_retries": 1, "base_delay": 0.001})
    created: list[Syscall] = []
    created_lock = threading.Lock()
    outcomes: dict[str, int] = {"ok": 0, "failed": 0, "cancelled": 0, "tool": 0}
    out_lock = threading.Lock()
    peak = 0
    active = 0
    stuck: list[int] = []

    def count(what: str) -> None:
        with out_lock:
            outcomes[what] += 1

    def new_sc(agent: str) -> Syscall:
        sc = k.llm_syscall(api="openai.chat", model="m", base_url="http://127.0.0.1:1/v1", agent=agent)
        with created_lock:
            created.append(sc)
        return sc

    def enter() -> None:
        nonlocal active, peak
        with out_lock:
            active += 1
            peak = max(peak, active)

    def leave() -> None:
        nonlocal active
        with out_lock:
            active -= 1

    # -- sync callers --------------------------------------------------------------------------------
    def sync_caller(i: int) -> None:
        rng = random.Random(i)
        for j in range(CALLS_PER_THREAD):
            if j == 2:
                k.run_tool("lookup", lambda: time.sleep(0.0002), agent=f"t{i % 7}")
                count("tool")
                continue
            fail = rng.random() < 0.15

            def perform(lease: Lease, fail: bool = fail) -> str:
                enter()
                try:
                    time.sleep(rng.random() * 0.0005)
                    if fail:
                        raise Flaky("no")
                    return "ok"
                finally:
                    leave()

            try:
                k.call(new_sc(f"t{i % 7}"), perform)
                count("ok")
            except Flaky:
                count("failed")

    # -- async callers on two foreign loops -----------------------------------------------------------
    def loop_thread(seed: int) -> None:
        async def one(n: int, rng: random.Random) -> None:
            async def perform(lease: Lease) -> str:
                enter()
                try:
                    await asyncio.sleep(rng.random() * 0.001)
                    if rng.random() < 0.05:
                        raise ConnectionError("flaky network")  # retried once
                    return "ok"
                finally:
                    leave()

            try:
                await k.acall(new_sc(f"l{seed}-{n % 11}"), perform)
                count("ok")
            except ConnectionError:
                count("failed")
            except asyncio.CancelledError:
                count("cancelled")
                raise

        async def main() -> None:
            rng = random.Random(seed)
            tasks = [asyncio.create_task(one(n, rng)) for n in range(TASKS_PER_LOOP)]
            for _ in range(TASKS_PER_LOOP // 5):  # cancel a fifth, queued or running
                await asyncio.sleep(rng.random() * 0.002)
                rng.choice(tasks).cancel()
            _, pending = await asyncio.wait(tasks, timeout=40)
            stuck.append(len(pending))

        asyncio.run(main())

    threads = [threading.Thread(target=sync_caller, args=(i,), daemon=True) for i in range(SYNC_THREADS)]
    threads += [threading.Thread(target=loop_thread, args=(seed,), daemon=True) for seed in (1, 2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 50
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    hung = [t.name for t in threads if t.is_alive()]
    assert not hung, f"{len(hung)} callers hung: {k.stats()}"
    assert stuck == [0, 0], f"async callers never finished: {stuck}"

    # Nothing leaks.
    assert all(core.in_use == 0 for core in k.scheduler.cores.values())
    assert len(k.policy) == 0 and not k.scheduler.running
    assert all(sc.status.final for sc in created)
    assert peak <= 3
    # The counts add up.
    llm_calls = SYNC_THREADS * (CALLS_PER_THREAD - 1) + 2 * TASKS_PER_LOOP
    assert len(created) == llm_calls
    assert outcomes["ok"] + outcomes["failed"] + outcomes["cancelled"] == llm_calls
    assert outcomes["tool"] == SYNC_THREADS
    rep = k.report()
    assert rep["by_status"].get("done", 0) == outcomes["ok"] + outcomes["tool"]
    assert rep["by_status"].get("failed", 0) == outcomes["failed"]
    assert rep["by_status"].get("cancelled", 0) == outcomes["cancelled"]
    assert sum(rep["by_status"].values()) == llm_calls + SYNC_THREADS
    assert sum(a["llm_calls"] for a in rep["agents"].values()) == llm_calls
    assert sum(a["tool_calls"] for a in rep["agents"].values()) == SYNC_THREADS
    assert outcomes["cancelled"] > 0
    statuses = {sc.status for sc in created}
    assert Status.CANCELLED in statuses and Status.FAILED in statuses
