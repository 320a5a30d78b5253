"""Starts an SDK call in a daemon thread and exits while the provider is still answering it."""

import os
import threading
import time

import httpx
import openai

client = openai.OpenAI(max_retries=0)  # base URL and key from the environment (the sim)


def ask() -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])


threading.Thread(target=ask, daemon=True).start()
# Leave once the provider has the request (its answer takes far longer): the sim counts it.
stats = os.environ["OPENAI_BASE_URL"].removesuffix("/v1") + "/sim/stats"
deadline = time.monotonic() + 60
while httpx.get(stats).json()["in_flight"] < 1 and time.monotonic() < deadline:
    time.sleep(0.05)
print("leaving")
