"""The one place that talks to the model."""

from __future__ import annotations

from dataclasses import dataclass

from openai import OpenAI


@dataclass(frozen=True)
class Answer:
    question: str
    finish_reason: str
    has_text: bool


def ask(client: OpenAI, model: str, bot_name: str, question: str) -> Answer:
    response = client.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": f"You are {bot_name}, a support assistant."},
            {"role": "user", "content": question},
        ],
        max_tokens=64,
    )
    choice = response.choices[0]
    return Answer(question, str(choice.finish_reason), bool((choice.message.content or "").strip()))
