"""Settings from the environment and the project's .env file (python-dotenv when installed)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _load_env_file(path: Path) -> None:
    try:
        from dotenv import load_dotenv
    except ImportError:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            os.environ.setdefault(key.strip(), value.strip().strip('"').strip("'"))
    else:
        load_dotenv(path, override=False)


@dataclass(frozen=True)
class Settings:
    bot_name: str
    model: str
    workers: int
    questions: list[str]


def load_settings() -> Settings:
    env_file = Path.cwd() / ".env"
    if env_file.is_file():
        _load_env_file(env_file)
    return Settings(
        bot_name=os.environ["BOT_NAME"],
        model=os.environ["MODEL"],
        workers=int(os.environ["WORKERS"]),
        questions=os.environ["QUESTIONS"].split("|"),
    )
