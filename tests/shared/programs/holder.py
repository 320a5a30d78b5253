"""Two roles around one concurrency limit shared by processes.

``python holder.py victim N``: opens N streamed chat calls and never reads them, so its kernel
holds N slots; prints ``holding`` and sleeps until killed.
``python holder.py survivor N``: prints ``ready``, then N agents make one call each; prints one
JSON line with each call's wall-clock completion time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from openai import AsyncOpenAI, OpenAI


def victim(n: int) -> None:
    client = OpenAI()
    streams = [
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"hold {i}"}],
            max_tokens=8,
            stream=True,
        )
        for i in range(n)
    ]
    print("holding", len(streams), flush=True)
    time.sleep(600)


async def survivor(n: int) -> None:
    client = AsyncOpenAI()

    async def one(i: int) -> dict[str, object]:
        try:
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"carry on {i}"}], max_tokens=8
            )
            return {"ok": True, "done_at": time.time()}
        except Exception as exc:
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}", "done_at": time.time()}

    _ = client.chat.completions  # the SDK's lazy loading happens before "ready"
    print("ready", flush=True)
    results = await asyncio.gather(*(one(i) for i in range(n)))
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    role, count = sys.argv[1], int(sys.argv[2])
    if role == "victim":
        victim(count)
    else:
        asyncio.run(survivor(count))
