"""Performance profiles: api latency, and the server's slots, batching, queue and KV budget."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aios.sim import SimConfig, SimProvider
from aios.sim.timing import BatchServer

H = {"authorization": "Bearer k"}


def body(max_tokens: int = 20, stream: bool = False) -> dict[str, Any]:
    return {
        "model": "m",
        "max_tokens": max_tokens,
        "stream": stream,
        "messages": [{"role": "user", "content": "hello there"}],
    }


async def test_instant_profile_has_no_delay() -> None:
    sim = SimProvider()
    start = time.perf_counter()
    for _ in range(50):
        await sim.handle("POST", "/v1/chat/completions", body(), H)
    assert time.perf_counter() - start < 0.5


async def test_api_profile_ttft_and_decode_scaled() -> None:
    # 1 s ttft + 20 tokens * 0.05 s = 2 s simulated, at 20x = 0.1 s real.
    sim = SimProvider(
        SimConfig(profile="api", ttft=1.0, ttft_per_input_token=0, decode_per_token=0.05, time_scale=20)
    )
    start = time.perf_counter()
    result = await sim.handle("POST", "/v1/chat/completions", body(max_tokens=20), H)
    elapsed = time.perf_counter() - start
    assert result.status == 200
    assert 0.09 <= elapsed < 0.5
    # Unlimited parallelism: ten at once take about as long as one.
    start = time.perf_counter()
    await asyncio.gather(*[sim.handle("POST", "/v1/chat/completions", body(20), H) for _ in range(10)])
    assert time.perf_counter() - start < 0.4


async def test_api_profile_stream_first_chunk_after_ttft() -> None:
    sim = SimProvider(SimConfig(profile="api", ttft=2.0, decode_per_token=0.01, time_scale=20))
    start = time.perf_counter()
    result = await sim.handle("POST", "/v1/chat/completions", body(stream=True), H)
    assert result.stream is not None
    first_at = None
    async for _ in result.stream:
        if first_at is None:
            first_at = time.perf_counter() - start
    assert first_at is not None and first_at >= 0.09  # 2 s / 20


async def _run_jobs(server: BatchServer, jobs: list[tuple[int, int]]) -> list[float]:
    start = time.perf_counter()

    async def one(inp: int, out: int) -> float:
        async for _ in server.run(inp, out):
            pass
        return time.perf_counter() - start

    return await asyncio.gather(*[one(i, o) for i, o in jobs])


async def test_server_slots_queue_fifo() -> None:
    cfg = SimConfig(
        profile="server", slots=2, step_time=0.01, batch_slowdown=0, prefill_per_token=0, time_scale=1
    )
    server = BatchServer(cfg)
    done = await _run_jobs(server, [(10, 10)] * 4)
    # Two run at once (~0.1 s); the other two wait in the server's FIFO queue.
    assert max(done[:2]) < min(done[2:])
    assert server.stats()["server_max_batch"] == 2
    assert server.stats()["server_max_queue"] >= 2


async def test_server_batch_slows_each_step() -> None:
    def cfg(slowdown: float) -> SimConfig:
        return SimConfig(
            profile="server", slots=8, step_time=0.005, batch_slowdown=slowdown, prefill_per_token=0
        )

    flat = await _run_jobs(BatchServer(cfg(0.0)), [(5, 20)] * 8)
    slow = await _run_jobs(BatchServer(cfg(0.5)), [(5, 20)] * 8)
    # Step time at batch 8 is 1 + 0.5*7 = 4.5x: the batch finishes clearly later.
    assert max(slow) > 2.5 * max(flat)


async def test_server_kv_budget_limits_admission_and_preempts() -> None:
    cfg = SimConfig(
        profile="server", slots=8, kv_budget=100, step_time=0.002, batch_slowdown=0, prefill_per_token=0
    )
    server = BatchServer(cfg)
    await _run_jobs(server, [(40, 30)] * 4)
    stats = server.stats()
    # 40-token prompts: at most two fit in 100 tokens of KV cache; growing, one is preempted.
    assert stats["server_max_batch"] == 2
    assert stats["server_preemptions"] >= 1
    assert stats["server_kv_used"] == 0 and stats["server_running"] == 0


async def test_server_profile_through_provider() -> None:
    sim = SimProvider(SimConfig(profile="server", slots=2, step_time=0.001, time_scale=10))
    results = await asyncio.gather(
        *[sim.handle("POST", "/v1/chat/completions", body(10), H) for _ in range(6)]
    )
    assert all(r.status == 200 for r in results)
    assert sim.stats()["server_max_batch"] <= 2
