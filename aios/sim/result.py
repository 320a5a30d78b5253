"""What the provider hands back: a status, headers and either a JSON body or SSE bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any


class SimDisconnect(Exception):
    """Raised inside a stream to make the server drop the connection (injected fault)."""


@dataclass(slots=True)
class SimResult:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    stream: AsyncIterator[bytes] | None = None

    @property
    def is_stream(self) -> bool:
        return self.stream is not None
