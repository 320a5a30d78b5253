"""``python steady.py AGENTS CALLS``: agents making sequential chat calls for a while.

Prints one JSON line: agents completed and the errors that reached an agent.
"""

from __future__ import annotations

import asyncio
import json
import sys

from openai import AsyncOpenAI


async def agent(i: int, calls: int) -> str | None:
    client = AsyncOpenAI()
    try:
        for n in range(calls):
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"{i} {n}"}], max_tokens=8
            )
            await asyncio.sleep(0.05)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await client.close()
    return None


async def main(agents: int, calls: int) -> None:
    errors = [e for e in await asyncio.gather(*(agent(i, calls) for i in range(agents))) if e]
    print(json.dumps({"agents": agents, "completed": agents - len(errors), "errors": errors}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
