"""A multi-process agent program, as users write them: worker processes, each with its agents.

``python -m aios.bench.shared_workers --processes 4 --agents 8 [--start spawn]`` starts the
worker processes with ``multiprocessing`` (each runs its agents concurrently on asyncio, all
workers starting together once every one is up:
the raw ``AsyncOpenAI`` SDK tool loop of :mod:`aios.bench.workloads`, SDK defaults for
retries) and prints one JSON line: agents completed, the errors that reached an agent, and the
makespan. The program knows nothing of aios; ``aios run`` (with or without ``--redis`` /
``--shared``) puts it under the kernel, as it would any program.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import time
from typing import Any

from aios.bench.workloads import openai_agent


def _named(name: str) -> Any:
    # Under `aios run` each agent gets its own name (the one line raw-SDK users add);
    # without aios the program does not touch it.
    if os.environ.get("AIOS_BOOTSTRAP"):
        import aios

        return aios.agent(name)
    import contextlib

    return contextlib.nullcontext()


async def _agents(worker: int, count: int, barrier: Any) -> tuple[float, list[dict[str, Any]]]:
    # Agents are built before the start line, as a service builds its agents before work
    # arrives: building one makes an SDK client with its TLS context, tens of ms of CPU.
    built = [openai_agent(worker * count + i, None) for i in range(count)]
    # Every worker has started, loaded the SDK and built its agents before any agent begins,
    # so the makespan measures the agents, not how fast a loaded machine starts processes.
    barrier.wait(timeout=START_TIMEOUT_S)
    started_at = time.time()

    async def one(i: int) -> dict[str, Any]:
        index = worker * count + i
        started = time.monotonic()
        try:
            with _named(f"w{worker}-a{i}"):
                await built[i]()
            error = None
        except Exception as exc:  # an agent that fails is a result
            error = f"{type(exc).__name__}: {str(exc)[:160]}"
        return {"agent": index, "ok": error is None, "error": error, "s": time.monotonic() - started}

    return started_at, await asyncio.gather(*(one(i) for i in range(count)))


def _warm_up() -> None:
    """Load what the SDK loads lazily on its first call, without sending a request; under
    ``aios run``, boot the kernel too (it boots at the first call otherwise, as a long-running
    service's would long before its agents' burst; aios's start-up per process has its own
    benchmark)."""
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletion

    if os.environ.get("AIOS_BOOTSTRAP"):
        import aios

        aios.get_kernel()

    client = AsyncOpenAI()
    _ = client.chat.completions
    ChatCompletion.model_validate(
        {
            "id": "warm-up",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                        ],
                    },
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    )


def run_worker(worker: int, count: int, barrier: Any, results: Any) -> None:
    _warm_up()
    started, agents = asyncio.run(_agents(worker, count, barrier))
    results.put({"worker": worker, "start": started, "end": time.time(), "agents": agents})


#: Seconds the workers wait for each other to start.
START_TIMEOUT_S = 300.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aios.bench.shared_workers")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--agents", type=int, default=8, help="agents per process")
    parser.add_argument("--start", choices=("spawn", "fork", "forkserver"), default="spawn")
    opts = parser.parse_args(argv)
    ctx = multiprocessing.get_context(opts.start)
    barrier = ctx.Barrier(opts.processes)
    queue = ctx.Queue()
    workers = [
        ctx.Process(target=run_worker, args=(w, opts.agents, barrier, queue), name=f"worker-{w}")
        for w in range(opts.processes)
    ]
    for proc in workers:
        proc.start()
    parts = [queue.get(timeout=START_TIMEOUT_S + 600) for _ in workers]
    for proc in workers:
        proc.join()
    agents = [a for part in parts for a in part["agents"]]
    out = {
        "processes": opts.processes,
        "agents": len(agents),
        "completed": sum(a["ok"] for a in agents),
        "errors": [a["error"] for a in agents if a["error"]],
        "makespan_s": max(p["end"] for p in parts) - min(p["start"] for p in parts),
        "exit_codes": [proc.exitcode for proc in workers],
    }
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
