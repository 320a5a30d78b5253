"""Offline approximate tokenizer.

Real tokenizers (tiktoken, Anthropic's) need downloaded vocabularies, which the sim must not
fetch. This one splits text into pieces that behave like BPE tokens for English and code:
an optional leading space plus up to 5 ASCII letters, up to 3 digits, one symbol, or a run
of whitespace. On English prose it lands within about 15% of cl100k counts (≈1.3 tokens per
word), which is all that rate limits, KV budgets and latency need. The pieces concatenate
back to the exact input, so streaming and max_tokens truncation can cut on them.
"""

from __future__ import annotations

import re

_PIECE = re.compile(r" ?[A-Za-z]{1,5}| ?\d{1,3}| ?[^\sA-Za-z\d]|\s+")


def split_tokens(text: str) -> list[str]:
    """Split ``text`` into token-like pieces whose concatenation is ``text``."""
    return _PIECE.findall(text)


def count_tokens(text: str) -> int:
    """Approximate number of tokens in ``text``."""
    if not text:
        return 0
    return len(_PIECE.findall(text))


def truncate_tokens(text: str, limit: int) -> str:
    """The prefix of ``text`` made of its first ``limit`` pieces."""
    return "".join(split_tokens(text)[: max(limit, 0)])
