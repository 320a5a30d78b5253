"""Concurrent async openai calls gathered together. No aios import."""

import asyncio

from openai import AsyncOpenAI

TOPICS = ["rivers", "mountains", "deserts", "forests", "oceans", "glaciers", "islands", "valleys"]


async def ask(client: AsyncOpenAI, topic: str) -> tuple[str, int]:
    reply = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"One fact about {topic}."}],
        max_tokens=16,
    )
    return topic, len(reply.choices[0].message.content or "") > 0


async def main() -> None:
    client = AsyncOpenAI()
    results = await asyncio.gather(*(ask(client, t) for t in TOPICS))
    for topic, ok in sorted(results):
        print(topic, ok)
    await client.close()


if __name__ == "__main__":
    asyncio.run(main())
