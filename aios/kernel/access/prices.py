"""Model prices: the shipped table (``prices.toml``) under the config's ``[prices."<glob>"]``."""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cached_input: float | None = None

    def cost(self, input_tokens: float, output_tokens: float, cached_tokens: float = 0.0) -> float:
        """Dollars for a call; ``cached_tokens`` are the part of ``input_tokens`` served cached."""
        if not cached_tokens:
            return (input_tokens * self.input + output_tokens * self.output) / 1e6
        cached = min(max(cached_tokens, 0.0), input_tokens)
        cached_rate = self.input if self.cached_input is None else self.cached_input
        return (
            (input_tokens - cached) * self.input + cached * cached_rate + output_tokens * self.output
        ) / 1e6


@cache
def shipped_prices() -> dict[str, Price]:
    raw = tomllib.loads(files(__package__).joinpath("prices.toml").read_text(encoding="utf-8"))
    return {glob: Price(**entry) for glob, entry in raw.items()}


class PriceTable:
    """Looks a model up: the user's globs first (an explicit setting wins), then the shipped ones.

    Within each table the longest matching glob wins, so ``gpt-4o-mini*`` beats ``gpt-4o*``.
    """

    def __init__(self, overrides: Mapping[str, Price]) -> None:
        self._tables = (dict(overrides), shipped_prices())
        self._found: dict[str, Price | None] = {}

    def lookup(self, model: str | None) -> Price | None:
        if model is None:
            return None
        if model in self._found:
            return self._found[model]
        bare = model.rsplit("/", 1)[-1]  # litellm-style "openai/gpt-4o"
        found = None
        for table in self._tables:
            hits = [g for g in table if fnmatch.fnmatchcase(model, g) or fnmatch.fnmatchcase(bare, g)]
            if hits:
                found = table[max(hits, key=len)]
                break
        self._found[model] = found
        return found
