"""Three agents call the model concurrently (alpha 2, beta 3, gamma 1 times), then the program
waits until the file named by its argument exists, so a live view can be read at leisure."""

import os
import sys
import threading
import time

from openai import OpenAI

import aios

CALLS = {"alpha": 2, "beta": 3, "gamma": 1}
client = OpenAI()


def work(name: str, n: int) -> None:
    with aios.agent(name):
        for _ in range(n):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])


threads = [threading.Thread(target=work, args=item) for item in CALLS.items()]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("all calls done", flush=True)
deadline = time.monotonic() + 100
while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
    time.sleep(0.05)
