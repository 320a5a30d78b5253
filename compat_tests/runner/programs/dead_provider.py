"""One SDK call to an endpoint where nothing listens (a provider that was killed)."""

import socket

import openai

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]  # free again once closed: connecting is refused

client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k")
try:
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
except openai.APIConnectionError as exc:
    print("failed:", type(exc).__name__, *getattr(exc, "__notes__", []))
