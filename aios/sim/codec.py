"""JSON and server-sent-event encoding (orjson when installed: it is several times faster)."""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson

    def dumps(value: Any) -> bytes:
        return orjson.dumps(value)

    def loads(data: bytes | str) -> Any:
        return orjson.loads(data)

except ImportError:  # pragma: no cover - depends on the environment

    def dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

    def loads(data: bytes | str) -> Any:
        return json.loads(data)


def sse_data(payload: dict[str, Any]) -> bytes:
    """OpenAI chat style: data lines only."""
    return b"data: " + dumps(payload) + b"\n\n"


def sse_event(event: str, payload: dict[str, Any]) -> bytes:
    """Responses/Anthropic style: a named event with a JSON data line."""
    return b"event: " + event.encode() + b"\ndata: " + dumps(payload) + b"\n\n"


SSE_DONE = b"data: [DONE]\n\n"
