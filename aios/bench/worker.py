"""One measured run in a fresh process: N agents at once, plain or through aios.

``python -m aios.bench.worker '<json spec>'`` prints one JSON line of results. A fresh process
per run keeps patching, client pools and caches from leaking between the compared modes.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import resource
import sys
import threading
import time
from typing import Any

from aios.bench.metrics import rss_kb
from aios.bench.workloads import IMPORTS, UNNAMED, WORKLOADS

PROGRESS_PREFIX = "aios-bench-agent"


async def _agents(spec: dict[str, Any], indices: list[int]) -> list[dict[str, Any]]:
    frameworks: list[str] = spec["frameworks"]
    retries = spec.get("max_retries")
    start = time.monotonic()

    async def one(i: int) -> dict[str, Any]:
        framework = frameworks[i % len(frameworks)]
        try:
            if spec["mode"] == "aios" and framework in UNNAMED:
                # A raw SDK has no agents: the one line its users add to name theirs.
                import aios

                with aios.agent(f"agent-{i}"):
                    await WORKLOADS[framework](i, retries)
            else:
                await WORKLOADS[framework](i, retries)
            ok, error = True, None
        except Exception as exc:  # an agent that fails is a result, not a crash
            ok, error = False, f"{type(exc).__name__}: {str(exc)[:200]}"
        # One line per finished agent on stderr lets the parent show live progress.
        if not spec.get("quiet"):
            print(f"{PROGRESS_PREFIX} {'ok' if ok else 'failed'} {i}", file=sys.stderr, flush=True)
        return {
            "agent": i,
            "framework": framework,
            "ok": ok,
            "error": error,
            "completion_s": time.monotonic() - start,
        }

    return await asyncio.gather(*(one(i) for i in indices))


class _QueueSampler:
    """The kernel's queue length and calls in flight every ``period`` seconds, for the plots."""

    def __init__(self, kernel: Any, t0: float, period: float = 0.1) -> None:
        self.samples: list[list[float]] = []
        self._done = threading.Event()
        if kernel is not None:
            threading.Thread(target=self._run, args=(kernel, t0, period), daemon=True).start()

    def _run(self, kernel: Any, t0: float, period: float) -> None:
        while not self._done.wait(period):
            snap = kernel.scheduler.snapshot()
            self.samples.append([round(time.monotonic() - t0, 3), snap["queued"], snap["running"]])

    def stop(self) -> None:
        self._done.set()


def main() -> None:
    spec = json.loads(sys.argv[1])
    for framework in spec["frameworks"]:
        for module in IMPORTS[framework]:
            importlib.import_module(module)
    kernel = None
    if spec["mode"] == "aios":
        import aios

        kernel = aios.boot(aios.KernelConfig.model_validate(spec["kernel"]))
        aios.patch(*spec.get("patch", []))
    if spec.get("warmup"):
        # One untimed run first: the SDK's lazy imports and first connection are not per-call cost.
        asyncio.run(_agents({**spec, "quiet": True}, [-1]))
    rss0 = rss_kb()
    cpu0 = time.process_time()
    t0 = time.monotonic()
    queue = _QueueSampler(kernel, t0)
    results = asyncio.run(_agents(spec, spec["indices"]))
    elapsed = time.monotonic() - t0
    queue.stop()
    cpu = time.process_time() - cpu0
    out: dict[str, Any] = {
        "mode": spec["mode"],
        "started_monotonic": t0,
        "agents": results,
        "makespan_s": elapsed,
        "cpu_s": cpu,
        "rss_growth_kb": max(0, rss_kb() - rss0),
        "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    if kernel is not None:
        report = kernel.report()
        waits = [s["waiting_s"] for s in report["syscalls"] if s["kind"] == "llm"]
        out["kernel"] = {
            "llm_calls": sum(1 for s in report["syscalls"] if s["kind"] == "llm"),
            "retries": sum(s["retries"] for s in report["syscalls"]),
            "waits": waits,
            "queue": queue.samples,
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
