"""Release pre-rendered stream chunks as the timing model produces tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from .result import SimDisconnect


@dataclass(slots=True)
class Chunk:
    """SSE bytes and the cumulative output tokens that must exist before they are sent."""

    data: bytes
    tokens: int = 0


@dataclass(slots=True)
class StreamFault:
    """Cut the stream after ``after`` chunks: drop the connection or send ``error``."""

    after: int
    disconnect: bool
    error: Callable[[int], bytes] | None = None


async def pace(
    chunks: list[Chunk], progress: AsyncIterator[int], fault: StreamFault | None = None
) -> AsyncIterator[bytes]:
    sent = 0
    async for produced in progress:
        batch: list[bytes] = []
        while sent < len(chunks) and chunks[sent].tokens <= produced:
            if fault is not None and sent >= fault.after:
                if batch:
                    yield b"".join(batch)
                if fault.disconnect or fault.error is None:
                    raise SimDisconnect("injected mid-stream disconnect")
                yield fault.error(sent)
                return
            batch.append(chunks[sent].data)
            sent += 1
        if batch:
            yield b"".join(batch)
    if sent < len(chunks):
        yield b"".join(c.data for c in chunks[sent:])
