"""Streaming with the openai SDK: chat chunks, the chat stream helper, and the Responses API."""

import asyncio

from openai import AsyncOpenAI, OpenAI

MESSAGES = [{"role": "user", "content": "Tell me a short story."}]


def sync_part(client: OpenAI) -> None:
    chunks = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    print("chat stream chars > 0:", len(text) > 0)
    with client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES) as stream:
        final = stream.get_final_completion()
    print("helper finish:", final.choices[0].finish_reason)
    with client.responses.stream(model="gpt-4o-mini", input="Tell me a short story.") as rstream:
        kinds = {event.type for event in rstream}
    print("responses completed:", "response.completed" in kinds)


async def async_part() -> None:
    client = AsyncOpenAI()
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    count = 0
    async for _chunk in stream:
        count += 1
    print("async chunks > 1:", count > 1)
    await client.close()


if __name__ == "__main__":
    sync_part(OpenAI())
    asyncio.run(async_part())
