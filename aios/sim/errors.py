"""Error bodies in each provider's own shape.

OpenAI: ``{"error": {"message", "type", "param", "code"}}``.
Anthropic: ``{"type": "error", "error": {"type", "message"}, "request_id"}``.
"""

from __future__ import annotations

from typing import Any, Literal

Flavor = Literal["openai", "anthropic"]

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "server_error",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def error_body(
    flavor: Flavor,
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    kind: str | None = None,
    request_id: str = "",
) -> dict[str, Any]:
    if flavor == "anthropic":
        return {
            "type": "error",
            "error": {"type": kind or _ANTHROPIC_TYPES.get(status, "api_error"), "message": message},
            "request_id": request_id,
        }
    return {
        "error": {
            "message": message,
            "type": kind or _OPENAI_TYPES.get(status, "server_error"),
            "param": param,
            "code": code,
        }
    }
