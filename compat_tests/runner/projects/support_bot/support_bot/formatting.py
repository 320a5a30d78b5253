from __future__ import annotations

from .llm import Answer


def render(answers: list[Answer]) -> str:
    lines = [f"{a.question} -> {a.finish_reason} ({'text' if a.has_text else 'empty'})" for a in answers]
    return "\n".join(sorted(lines))
