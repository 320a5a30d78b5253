"""The scale scenario: thousands of concurrent lightweight agents through one kernel, in process.

Each agent makes three LLM syscalls to the in-process instant sim and one tool syscall. Run in a
fresh process per size (``python -m aios.bench.scale N``) so memory figures are per size.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any

from aios.bench.metrics import rss_kb
from aios.config import CoreConfig, KernelConfig
from aios.kernel import Usage
from aios.kernel.kernel import Kernel
from aios.sim import SimConfig, SimProvider

ENDPOINT = "inproc://scale/v1"


async def _agent(kernel: Kernel, provider: SimProvider, i: int) -> None:
    body = {"model": "sim", "messages": [{"role": "user", "content": f"agent {i}"}], "max_tokens": 8}
    for _ in range(3):
        sc = kernel.llm_syscall(
            api="openai.chat",
            model="sim",
            base_url=ENDPOINT,
            input_tokens=4,
            max_tokens=8,
            agent=f"a{i}",
        )

        async def perform(lease: Any) -> Any:
            return await provider.handle("POST", "/v1/chat/completions", body, {})

        await kernel.acall(sc, perform, outcome=lambda r: (Usage(4, 8), None))

    async def tool() -> str:
        return "ok"

    await kernel.arun_tool("noop", tool, agent=f"a{i}")


async def _run(n: int, slots: int) -> dict[str, Any]:
    kernel = Kernel(KernelConfig(cores=[CoreConfig(name="sim", base_url=ENDPOINT, max_concurrency=slots)]))
    provider = SimProvider(SimConfig(profile="instant"))
    rss0 = rss_kb()
    cpu0 = time.process_time()
    t0 = time.monotonic()
    await asyncio.gather(*(_agent(kernel, provider, i) for i in range(n)))
    wall = time.monotonic() - t0
    cpu = time.process_time() - cpu0
    rss_growth_kb = max(0, rss_kb() - rss0)
    report = kernel.report()
    kernel.shutdown()
    done = report["by_status"].get("done", 0)
    return {
        "agents": n,
        "syscalls_done": done,
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_us_per_syscall": 1e6 * cpu / max(1, done),
        "rss_kb_per_agent": rss_growth_kb / n,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    n = int(sys.argv[1])
    slots = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    print(json.dumps(asyncio.run(_run(n, slots))))


if __name__ == "__main__":
    main()
