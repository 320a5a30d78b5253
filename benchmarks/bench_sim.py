"""Requests per second the sim sustains (instant profile, non-streaming chat completions).

Run: ``python benchmarks/bench_sim.py [--seconds 5] [--procs 2] [--concurrency 32]
[--client httpx|raw]``. Starts a sim with ``SimServer``, drives it from ``--procs`` load
processes for ``--seconds`` (bounded), checks every response is a 200, and prints req/s.

``--client httpx`` uses an ``httpx.AsyncClient`` pool per process (what agents use);
``--client raw`` is a minimal keep-alive HTTP/1.1 client on asyncio streams, so the figure
shows the sim's own ceiling rather than the load generator's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import sys
import time
from typing import Any

BODY = json.dumps({
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "What is the capital of France?"}],
    "max_tokens": 32,
}).encode()


async def _httpx_worker(url: str, deadline: float, concurrency: int) -> tuple[int, int]:
    import httpx

    ok = bad = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"content-type": "application/json", "authorization": "Bearer bench"}
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def loop() -> None:
            nonlocal ok, bad
            while time.monotonic() < deadline:
                r = await client.post("/v1/chat/completions", content=BODY, headers=headers)
                if r.status_code == 200:
                    ok += 1
                else:
                    bad += 1

        await asyncio.gather(*[loop() for _ in range(concurrency)])
    return ok, bad


async def _raw_worker(url: str, deadline: float, concurrency: int) -> tuple[int, int]:
    host, port = url.removeprefix("http://").split(":")
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
        b"Content-Type: application/json\r\nAuthorization: Bearer bench\r\n"
        b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
    )
    ok = bad = 0

    async def loop() -> None:
        nonlocal ok, bad
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.monotonic() < deadline:
                writer.write(request)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                if b" 200 " in status_line:
                    ok += 1
                else:
                    bad += 1
        finally:
            writer.close()

    await asyncio.gather(*[loop() for _ in range(concurrency)])
    return ok, bad


def _proc(url: str, deadline: float, concurrency: int, client: str, out: Any) -> None:
    worker = _raw_worker if client == "raw" else _httpx_worker
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    out.put(asyncio.run(worker(url, deadline, concurrency)))


def measure(url: str, seconds: float, procs: int, concurrency: int, client: str) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    start_at = time.monotonic() + 1.5  # let the workers import before the clock starts
    deadline = start_at + seconds
    workers = [ctx.Process(target=_proc, args=(url, deadline, concurrency, client, queue))
               for _ in range(procs)]
    for w in workers:
        w.start()
    results = [queue.get(timeout=seconds + 60) for _ in workers]
    for w in workers:
        w.join(timeout=10)
    ok = sum(r[0] for r in results)
    bad = sum(r[1] for r in results)
    elapsed = seconds  # every worker runs from start_at to deadline
    return {"ok": ok, "errors": bad, "seconds": elapsed, "rps": ok / elapsed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--client", choices=("httpx", "raw"), default="raw")
    parser.add_argument("--url", help="an already running sim (default: start one)")
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 120:
        parser.error("--seconds must be in (0, 120]")

    from aios.sim import SimServer

    if args.url:
        result = measure(args.url, args.seconds, args.procs, args.concurrency, args.client)
        stats: dict[str, Any] = {}
    else:
        with SimServer("--profile", "instant") as sim:
            result = measure(sim.url, args.seconds, args.procs, args.concurrency, args.client)
            stats = sim.stats()
    print(f"sim throughput: {result['rps']:.0f} req/s "
          f"({result['ok']} ok, {result['errors']} errors in {result['seconds']:.1f} s; "
          f"client={args.client}, procs={args.procs}, concurrency={args.concurrency}, "
          f"server max_in_flight={stats.get('max_in_flight', '?')})")
    return 0 if result["errors"] == 0 and result["ok"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
