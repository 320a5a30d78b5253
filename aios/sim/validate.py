"""Small typed accessors for request bodies that raise ``BadRequest`` naming the field."""

from __future__ import annotations

from typing import Any

from .model import BadRequest

_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    list: "an array",
    dict: "an object",
    float: "a number",
}


def _describe(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)


def get(
    body: dict[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    *,
    required: bool = False,
    param: str | None = None,
) -> Any:
    name = param or key
    if key not in body or body[key] is None:
        if required:
            raise BadRequest(f"Missing required parameter: '{name}'.", name)
        return None
    value = body[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int subclass in Python but not in JSON.
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    elif float in kinds and isinstance(value, int):
        ok = True
    else:
        ok = isinstance(value, kinds)
    if not ok:
        raise BadRequest(
            f"Invalid type for '{name}': expected {_describe(kind)}, but got {type(value).__name__} instead.",
            name,
        )
    return value


def positive_int(body: dict[str, Any], key: str, *, required: bool = False) -> int | None:
    value: int | None = get(body, key, int, required=required)
    if value is not None and value < 1:
        raise BadRequest(
            f"Invalid '{key}': integer below minimum value. Expected a value >= 1, but got {value} instead.",
            key,
        )
    return value


def text_of(content: Any, param: str) -> str:
    """Text of a message content: a string or a list of parts with ``text``."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for i, part in enumerate(content):
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    parts.append(text)
                elif part.get("type") in (
                    "image_url",
                    "input_image",
                    "image",
                    "file",
                    "input_file",
                    "document",
                    "input_audio",
                ):
                    parts.append("[media]")
            else:
                raise BadRequest(f"Invalid type for '{param}[{i}]': expected an object.", f"{param}[{i}]")
        return "\n".join(parts)
    raise BadRequest(f"Invalid type for '{param}': expected a string or an array of content parts.", param)
