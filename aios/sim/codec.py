"""JSON and server-sent-event encoding."""

from __future__ import annotations

from typing import Any

from orjson import dumps, loads

__all__ = ["SSE_DONE", "dumps", "loads", "sse_data", "sse_event"]


def sse_data(payload: dict[str, Any]) -> bytes:
    """OpenAI chat style: data lines only."""
    return b"data: " + dumps(payload) + b"\n\n"


def sse_event(event: str, payload: dict[str, Any]) -> bytes:
    """Responses/Anthropic style: a named event with a JSON data line."""
    return b"event: " + event.encode() + b"\ndata: " + dumps(payload) + b"\n\n"


SSE_DONE = b"data: [DONE]\n\n"
