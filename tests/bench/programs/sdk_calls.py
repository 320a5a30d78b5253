"""Two chat calls with the plain openai SDK (its default retries); exits 1 if a call fails."""

from openai import OpenAI

client = OpenAI()
for question in ("first", "second"):
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
print("ok")
