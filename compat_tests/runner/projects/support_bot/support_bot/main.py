"""``python -m support_bot.main``: answer the configured questions concurrently."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

from openai import OpenAI

from . import formatting
from .llm import ask
from .settings import load_settings


def main() -> int:
    settings = load_settings()
    client = OpenAI()  # base URL and key from the environment
    with ThreadPoolExecutor(settings.workers) as pool:
        answers = list(
            pool.map(lambda q: ask(client, settings.model, settings.bot_name, q), settings.questions)
        )
    print(f"{settings.bot_name} answered {len(answers)} questions")
    print(formatting.render(answers))
    return 0 if all(a.has_text for a in answers) else 1


if __name__ == "__main__":
    sys.exit(main())
