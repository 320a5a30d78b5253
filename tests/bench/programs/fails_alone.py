"""Makes one successful LLM call, then fails on its own (exit 1, no LLM error)."""

import sys

from openai import OpenAI

client = OpenAI()
client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
print("could not parse the input file", file=sys.stderr)
sys.exit(1)
