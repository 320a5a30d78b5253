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


class _Clock:
    """When the agents started (after they were built) and how long building them took."""

    def __init__(self) -> None:
        self.built_at = time.monotonic()
        self.started = self.built_at
        self.cpu_started = time.process_time()
        self.running = False

    def start(self) -> None:
        self.started = time.monotonic()
        self.cpu_started = time.process_time()
        self.running = True

    @property
    def build_s(self) -> float:
        return self.started - self.built_at


async def _agents(spec: dict[str, Any], indices: list[int], clock: _Clock) -> list[dict[str, Any]]:
    frameworks: list[str] = spec["frameworks"]
    retries = spec.get("max_retries")
    built = {i: WORKLOADS[frameworks[i % len(frameworks)]](i, retries) for i in indices}
    clock.start()
    start = clock.started

    async def one(i: int) -> dict[str, Any]:
        framework = frameworks[i % len(frameworks)]
        try:
            if spec["mode"] == "aios" and framework in UNNAMED:
                # A raw SDK has no agents: the one line its users add to name theirs.
                import aios

                with aios.agent(f"agent-{i}"):
                    await built[i]()
            else:
                await built[i]()
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

    def __init__(self, kernel: Any, clock: _Clock, period: float = 0.1) -> None:
        self.samples: list[list[float]] = []
        self._done = threading.Event()
        if kernel is not None:
            threading.Thread(target=self._run, args=(kernel, clock, period), daemon=True).start()

    def _run(self, kernel: Any, clock: _Clock, period: float) -> None:
        while not self._done.wait(period):
            if not clock.running:  # agents still being built: nothing to schedule yet
                continue
            snap = kernel.scheduler.snapshot()
            self.samples.append([round(time.monotonic() - clock.started, 3), snap["queued"], snap["running"]])

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
        asyncio.run(_agents({**spec, "quiet": True}, [-1], _Clock()))
    rss0 = rss_kb()
    clock = _Clock()
    queue = _QueueSampler(kernel, clock)
    results = asyncio.run(_agents(spec, spec["indices"], clock))
    elapsed = time.monotonic() - clock.started
    queue.stop()
    cpu = time.process_time() - clock.cpu_started
    out: dict[str, Any] = {
        "mode": spec["mode"],
        "started_monotonic": clock.started,
        "agents": results,
        "makespan_s": elapsed,
        "build_s": clock.build_s,
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
