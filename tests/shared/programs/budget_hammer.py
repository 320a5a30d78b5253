"""Worker processes of one agent hammering its shared ``token_budget`` with concurrent calls.

``python budget_hammer.py OUT_DIR PROCESSES CALLS``: starts PROCESSES workers (multiprocessing,
spawn); once all are up, each makes CALLS concurrent chat calls as agent ``shared``. Each worker
writes OUT_DIR/worker-N.json: what each call ended with (the exception's type for a refused
one) and, from a kernel observer, every syscall's status with its estimated and reported tokens.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any


class Syscalls:
    """A kernel observer keeping what each finished syscall estimated and used."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def on_finish(self, sc: Any) -> None:
        self.records.append(
            {
                "id": sc.id,
                "status": sc.status.value,
                "error": sc.error,
                "estimated": sc.est_input_tokens + sc.est_output_tokens,
                "reported": sc.input_tokens + sc.output_tokens,
                "usage_known": sc.usage_known,
                "waited_s": sc.waited_s,
                "turnaround_s": sc.turnaround_s,
            }
        )


async def calls(worker: int, count: int) -> list[dict[str, Any]]:
    from openai import AsyncOpenAI

    import aios

    client = AsyncOpenAI(max_retries=0)

    async def one(i: int) -> dict[str, Any]:
        started = time.monotonic()
        try:
            with aios.agent("shared"):
                await client.chat.completions.create(
                    model="gpt-4o-mini",
                    messages=[{"role": "user", "content": f"worker {worker} call {i}: say something"}],
                    max_tokens=40,
                )
            outcome = "ok"
        except Exception as exc:
            outcome = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
        return {"outcome": outcome, "s": time.monotonic() - started}

    try:
        return await asyncio.gather(*(one(i) for i in range(count)))
    finally:
        await client.close()


def worker(out: str, index: int, count: int, barrier: Any) -> None:
    import openai  # noqa: F401  (loaded before the start line, with the kernel)

    import aios

    observer = Syscalls()
    aios.get_kernel().add_observer(observer)
    barrier.wait(timeout=120)
    results = asyncio.run(calls(index, count))
    Path(out, f"worker-{index}.json").write_text(json.dumps({"calls": results, "syscalls": observer.records}))


def main(out: str, processes: int, count: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    procs = [ctx.Process(target=worker, args=(out, w, count, barrier)) for w in range(processes)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    print(json.dumps({"exit_codes": [p.exitcode for p in procs]}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
