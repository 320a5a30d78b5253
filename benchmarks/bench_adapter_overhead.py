"""What the SDK adapters add to one call: the same SDK call plain and through aios, over HTTP.

Runs against the instant sim (no simulated latency) in another process, so the HTTP round trip
is all the provider costs and the kernel's share is as visible as it can be. Rounds alternate
plain / aios to cancel drift; the median per-call wall time of each is reported with the ratio
and the added microseconds, and so is this process's CPU time per call (the SDK, the adapter and
the kernel thread; the sim's work is in its own process), which resolves the adapter's cost far
below the noise of a loopback round trip.

    python benchmarks/bench_adapter_overhead.py [--calls 300] [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OTEL_SDK_DISABLED", "true")

import aios
from aios.sim.process import SimServer

MESSAGES = [{"role": "user", "content": "Say something short."}]
CANNED = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 0,
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Short."}}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
}


Timing = tuple[float, float]  # (wall seconds, CPU seconds) per call


def _time_sync(fn: Callable[[], Any], calls: int) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls


def cases(sim: SimServer) -> dict[str, tuple[str, Callable[[int], Callable[[], Timing]]]]:
    import anthropic
    import openai

    def openai_sync(calls: int) -> Callable[[], Timing]:
        client = openai.OpenAI(base_url=sim.openai_base_url, api_key="k")

        def call() -> Any:
            return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=16)

        call()
        return lambda: _time_sync(call, calls)

    def openai_async(calls: int) -> Callable[[], Timing]:
        async def run() -> Timing:
            client = openai.AsyncOpenAI(base_url=sim.openai_base_url, api_key="k")

            def call() -> Any:
                return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=16)

            await call()  # warm the connection on this loop
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                await call()
            out = (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls
            await client.close()
            return out

        return lambda: asyncio.run(run())

    def openai_stream(calls: int) -> Callable[[], Timing]:
        client = openai.OpenAI(base_url=sim.openai_base_url, api_key="k")

        def call() -> Any:
            stream = client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, max_tokens=16, stream=True
            )
            for _ in stream:
                pass

        call()
        return lambda: _time_sync(call, calls)

    def anthropic_sync(calls: int) -> Callable[[], Timing]:
        client = anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key="k")

        def call() -> Any:
            return client.messages.create(model="claude-haiku-4-5", messages=MESSAGES, max_tokens=16)

        call()
        return lambda: _time_sync(call, calls)

    def openai_no_network(calls: int) -> Callable[[], Timing]:
        # The same SDK call answered in-process by the HTTP library's own MockTransport: no
        # socket, no sim, so the difference between the two sides is the adapter and kernel alone.
        from openai import _base_client

        http = getattr(_base_client, "httpx2", None) or _base_client.httpx
        body = json.dumps(CANNED).encode()

        def handler(request: Any) -> Any:
            return http.Response(200, content=body, headers={"content-type": "application/json"})

        client = openai.OpenAI(
            base_url=sim.openai_base_url,
            api_key="k",
            http_client=http.Client(transport=http.MockTransport(handler)),
        )

        def call() -> Any:
            return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=16)

        call()
        return lambda: _time_sync(call, calls)

    return {
        "openai create, in-process transport (no network)": ("openai", openai_no_network),
        "openai chat.completions.create (sync)": ("openai", openai_sync),
        "openai chat.completions.create (async)": ("openai", openai_async),
        "openai chat stream, read to the end (sync)": ("openai", openai_stream),
        "anthropic messages.create (sync)": ("anthropic", anthropic_sync),
    }  # type: ignore[return-value]


def measure(sim: SimServer, calls: int, rounds: int) -> list[dict[str, Any]]:
    rows = []
    for label, (adapter, make) in cases(sim).items():
        plain: list[Timing] = []
        gated: list[Timing] = []
        for _ in range(rounds):
            aios.unpatch(adapter)
            plain.append(make(calls)())
            aios.shutdown()
            aios.boot()
            aios.patch(adapter)
            gated.append(make(calls)())
            aios.unpatch(adapter)
            sim.reset()
        p, g = (statistics.median(t[0] for t in plain), statistics.median(t[0] for t in gated))
        pc, gc = (statistics.median(t[1] for t in plain), statistics.median(t[1] for t in gated))
        rows.append(
            {
                "case": label,
                "plain_us": round(p * 1e6, 1),
                "aios_us": round(g * 1e6, 1),
                "added_us": round((g - p) * 1e6, 1),
                "ratio": round(g / p, 3),
                "plain_cpu_us": round(pc * 1e6, 1),
                "aios_cpu_us": round(gc * 1e6, 1),
                "added_cpu_us": round((gc - pc) * 1e6, 1),
            }
        )
    aios.shutdown()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per round and side")
    parser.add_argument("--rounds", type=int, default=5, help="alternating plain/aios rounds")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    with SimServer("--profile", "instant") as sim:
        rows = measure(sim, args.calls, args.rounds)
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
        return
    import openai

    print(
        f"python {sys.version.split()[0]}, openai {openai.__version__}; "
        f"{args.calls} calls x {args.rounds} rounds, median per call"
    )
    print("| case | plain µs | aios µs | added µs | ratio | plain CPU µs | aios CPU µs | added CPU µs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['case']} | {r['plain_us']} | {r['aios_us']} | {r['added_us']} | {r['ratio']} "
            f"| {r['plain_cpu_us']} | {r['aios_cpu_us']} | {r['added_cpu_us']} |"
        )


if __name__ == "__main__":
    main()
