"""Kernel overhead: the latency a gated no-op call adds, from a sync thread and a foreign loop.

    pytest benchmarks/bench_overhead.py --benchmark-only     # pytest-benchmark tables
    python benchmarks/bench_overhead.py                      # p50/p99 added microseconds

A gated call is ``kernel.call(kernel.llm_syscall(...), perform)``: building the syscall, routing,
admission, running ``perform`` in the caller, ending and accounting it. The no-op called directly
is the baseline; the difference is what aios adds to every LLM call.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aios.config import KernelConfig
from aios.kernel.kernel import Kernel
from aios.kernel.lease import Lease

GOAL_P50_US = 50.0
GOAL_P99_US = 250.0


def noop(lease: Lease | None) -> None:
    return None


async def anoop(lease: Lease | None) -> None:
    return None


def make_kernel() -> Kernel:
    # keep_syscalls bounds the report so a long run measures the kernel, not a growing list.
    return Kernel(KernelConfig(max_concurrency=8, keep_syscalls=1000))


def gated(k: Kernel) -> None:
    sc = k.llm_syscall(
        api="openai.chat", model="gpt-4o-mini", base_url="http://127.0.0.1:1/v1", agent="bench"
    )
    k.call(sc, noop)


async def agated(k: Kernel) -> None:
    sc = k.llm_syscall(
        api="openai.chat", model="gpt-4o-mini", base_url="http://127.0.0.1:1/v1", agent="bench"
    )
    await k.acall(sc, anoop)


# -- pytest-benchmark ------------------------------------------------------------------------------------


@pytest.fixture
def kernel() -> Iterator[Kernel]:
    k = make_kernel()
    yield k
    k.shutdown()


def test_direct_noop(benchmark: Any) -> None:
    benchmark(noop, None)


def test_gated_call_sync(benchmark: Any, kernel: Kernel) -> None:
    benchmark(gated, kernel)
    assert kernel.report()["by_status"]["done"] > 0


def test_direct_noop_async(benchmark: Any) -> None:
    loop = asyncio.new_event_loop()
    try:
        benchmark(lambda: loop.run_until_complete(anoop(None)))
    finally:
        loop.close()


def test_gated_call_async(benchmark: Any, kernel: Kernel) -> None:
    # The caller's own loop, not the kernel's: a foreign event loop.
    loop = asyncio.new_event_loop()
    try:
        benchmark(lambda: loop.run_until_complete(agated(kernel)))
    finally:
        loop.close()
    assert kernel.report()["by_status"]["done"] > 0


# -- script: p50 / p99 of the added latency -------------------------------------------------------------


def _sample(fn: Callable[[], None], n: int) -> list[float]:
    clock = time.perf_counter_ns
    out = []
    for _ in range(n):
        t0 = clock()
        fn()
        out.append((clock() - t0) / 1000.0)
    return out


async def _asample(fn: Callable[[], Any], n: int) -> list[float]:
    clock = time.perf_counter_ns
    out = []
    for _ in range(n):
        t0 = clock()
        await fn()
        out.append((clock() - t0) / 1000.0)
    return out


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def measure(n: int = 20_000) -> dict[str, dict[str, float]]:
    """Added µs (gated minus direct) at p50 and p99, sync and from a foreign event loop."""
    k = make_kernel()
    try:
        gc.collect()
        _sample(lambda: gated(k), 2000)  # warm up: route cache, core creation
        direct = _sample(lambda: noop(None), n)
        sync = _sample(lambda: gated(k), n)
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(_asample(lambda: agated(k), 2000))
            adirect = loop.run_until_complete(_asample(lambda: anoop(None), n))
            async_ = loop.run_until_complete(_asample(lambda: agated(k), n))
        finally:
            loop.close()
    finally:
        k.shutdown()
    results = {}
    for name, base, gated_ in (("sync thread", direct, sync), ("foreign event loop", adirect, async_)):
        results[name] = {
            "direct_p50_us": _pct(base, 50),
            "gated_p50_us": _pct(gated_, 50),
            "added_p50_us": _pct(gated_, 50) - _pct(base, 50),
            "added_p99_us": _pct(gated_, 99) - _pct(base, 99),
        }
    return results


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    results = measure(n)
    print(f"aios kernel overhead of a gated no-op call ({n} calls each, Python {sys.version.split()[0]})")
    print(f"{'caller':<20} {'direct p50':>11} {'gated p50':>10} {'added p50':>10} {'added p99':>10}")
    ok = True
    for name, r in results.items():
        print(
            f"{name:<20} {r['direct_p50_us']:>9.2f}µs {r['gated_p50_us']:>8.2f}µs "
            f"{r['added_p50_us']:>8.2f}µs {r['added_p99_us']:>8.2f}µs"
        )
        ok &= r["added_p50_us"] <= GOAL_P50_US and r["added_p99_us"] <= GOAL_P99_US
    print(f"goal: added p50 <= {GOAL_P50_US:g} µs, p99 <= {GOAL_P99_US:g} µs: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
