"""The scale scenario: up to 100,000 concurrent lightweight agents through one kernel, in process.

Each agent makes three LLM syscalls and one tool syscall. The LLM calls go to the in-process
instant sim (``SimProvider``: request parsing, reply generation and response building, ≈ half
of the CPU per call), or with ``--kernel-only`` to a provider that answers a prebuilt response,
which leaves the kernel's own cost. Run in a fresh process per size so memory figures are per
size::

    python -m aios.bench.scale N [SLOTS] [--kernel-only]

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
import resource
import time
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
        return await provider(body)

    for _ in range(LLM_CALLS):
        sc = kernel.llm_syscall(
            api="openai.chat", model="sim", base_url=ENDPOINT, input_tokens=4, max_tokens=8, agent=name
        )
        await kernel.acall(sc, perform, outcome=_outcome)
    await kernel.arun_tool("noop", _tool, agent=name)


async def _run(n: int, slots: int, kernel_only: bool = False) -> dict[str, Any]:
    kernel = Kernel(KernelConfig(cores=[CoreConfig(name="sim", base_url=ENDPOINT, max_concurrency=slots)]))
    provider = _prebuilt_provider() if kernel_only else _sim_provider()
    gc.collect()
    rss0 = rss_kb()
    cpu0 = time.process_time()
    t0 = time.monotonic()
    await asyncio.gather(*(_agent(kernel, provider, i) for i in range(n)))
    wall = time.monotonic() - t0
    cpu = time.process_time() - cpu0
    rss_growth_kb = max(0, rss_kb() - rss0)
    by_status = dict(kernel.accounting.by_status)  # the full report would build every record
    kernel.shutdown()
    done = by_status.get("done", 0)
    return {
        "agents": n,
        "provider": "prebuilt" if kernel_only else "sim",
        "syscalls_done": done,
        "syscalls_failed": sum(v for k, v in by_status.items() if k != "done"),
        "wall_s": wall,
        "cpu_s": cpu,
        "syscalls_per_s": done / wall if wall else 0.0,
        "cpu_us_per_syscall": 1e6 * cpu / max(1, done),
        "rss_kb_per_agent": rss_growth_kb / n,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="One kernel, N concurrent agents, in process.")
    parser.add_argument("agents", type=int)
    parser.add_argument("slots", type=int, nargs="?", default=64)
    parser.add_argument("--kernel-only", action="store_true", help="A prebuilt reply instead of the sim.")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(_run(args.agents, args.slots, args.kernel_only))))


if __name__ == "__main__":
    main()
