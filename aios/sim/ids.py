"""Unique, reproducible ids: a per-provider counter hashed with the seed.

Frameworks reject a reused tool-call id, so ids never repeat within a provider's life (a
reset does not rewind the counter); the same seed and request order give the same ids.
"""

from __future__ import annotations

import hashlib
import itertools


class IdMaker:
    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._counter = itertools.count(1)

    def new(self, prefix: str, length: int = 24) -> str:
        n = next(self._counter)
        digest = hashlib.blake2b(f"{self._seed}:{n}".encode(), digest_size=16).hexdigest()
        return f"{prefix}{digest[:length]}"
