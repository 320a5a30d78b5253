"""Token usage and retry hints as the OpenAI and Anthropic APIs report them.

Usage comes either as a pydantic model on the SDK's result or as JSON (raw responses, stream
events); one reader handles both shapes and both vendors' field names.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

from aios.kernel.failures import Usage

_INPUT = ("prompt_tokens", "input_tokens")
_OUTPUT = ("completion_tokens", "output_tokens")
# Anthropic counts cached prompt tokens apart from ``input_tokens``; OpenAI's prompt counts
# already include them. Adding them makes "input tokens" mean the same for both vendors.
_ANTHROPIC_CACHE = ("cache_creation_input_tokens", "cache_read_input_tokens")


#: Whether values of a type are mappings, by type: ``isinstance`` against the ``Mapping`` ABC
#: costs more than the lookup it guards, and the same few types (dict, SDK models) recur.
_IS_MAPPING: dict[type, bool] = {dict: True}


def _is_mapping(obj: Any) -> bool:
    kind = type(obj)
    known = _IS_MAPPING.get(kind)
    if known is None:
        known = _IS_MAPPING[kind] = isinstance(obj, Mapping)
    return known


#: Whether instances of a type are pydantic (v2) models, whose fields and extras are plain dicts.
_IS_MODEL: dict[type, bool] = {}
#: Whether a model class has an attribute of that name (a property, a method) outside its fields.
_ON_CLASS: dict[tuple[type, str], bool] = {}


def _field(obj: Any, name: str) -> Any:
    if _is_mapping(obj):
        return obj.get(name)
    kind = type(obj)
    model = _IS_MODEL.get(kind)
    if model is None:
        model = _IS_MODEL[kind] = hasattr(kind, "__pydantic_fields__") and hasattr(obj, "__dict__")
    if model:
        # A name a model lacks (``prompt_tokens`` on Anthropic's usage) would cost ``getattr`` a
        # raised and caught AttributeError, on the instance and again on the class: µs per miss.
        fields = obj.__dict__
        if name in fields:
            return fields[name]
        extra = getattr(obj, "__pydantic_extra__", None)
        if extra and name in extra:
            return extra[name]
        key = (kind, name)
        on_class = _ON_CLASS.get(key)
        if on_class is None:
            on_class = _ON_CLASS[key] = hasattr(kind, name)
        if not on_class:
            return None
    return getattr(obj, name, None)


def _first_int(obj: Any, names: tuple[str, ...]) -> tuple[int | None, str]:
    for name in names:
        value = _field(obj, name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value, name
    return None, ""


def read_usage(usage: Any) -> Usage | None:
    """A ``usage`` object or dict as :class:`Usage` (``None`` if it says nothing, or only zeros).

    Reads the names of OpenAI (``prompt_tokens``/``completion_tokens``), Anthropic, the
    Responses API, langchain's ``usage_metadata``, autogen's ``RequestUsage`` and
    openai-agents' ``Usage`` (``input_tokens``/``output_tokens``): every adapter uses it.
    """
    if usage is None:
        return None
    inp, named = _first_int(usage, _INPUT)
    if inp is not None and named == "input_tokens":  # OpenAI's counts include cached tokens
        for name in _ANTHROPIC_CACHE:
            extra, _ = _first_int(usage, (name,))
            if extra:
                inp += extra
    out, _ = _first_int(usage, _OUTPUT)
    if not inp and not out:  # nothing, or a model that reports zeros: keep the estimate
        return None
    return Usage(input_tokens=inp, output_tokens=out)


def usage_of_payload(payload: Any) -> Usage | None:
    """Usage of a response body or stream event: at the top, or under ``response``/``message``."""
    found = read_usage(_field(payload, "usage"))
    if found is not None or not _is_mapping(payload):
        # SDK models carry usage at the top; only stream events (JSON) nest it.
        return found
    for key in ("response", "message"):
        holder = payload.get(key)
        if holder is not None:
            found = read_usage(_field(holder, "usage"))
            if found is not None:
                return found
    return None


def latest_usage(usage: Usage | None, item: Any) -> Usage | None:
    """A stream's usage fold: the usage of the latest item (or of its ``response``) reporting one."""
    found = read_usage(_field(item, "usage"))
    if found is None:
        holder = _field(item, "response")
        if holder is not None:
            found = read_usage(_field(holder, "usage"))
    return found or usage


def usage_outcome(result: Any) -> tuple[Usage | None, None]:
    """``outcome`` for ``Kernel.call``: the result's usage (no headers at this level)."""
    return latest_usage(None, result), None


def response_model(payload: Any) -> str | None:
    """The model that answered, as a response body or stream event names it (for tracing)."""
    model = _field(payload, "model")
    if isinstance(model, str) and model:  # a response body or SDK result names it at the top
        return model
    for key in ("response", "message"):  # stream events nest it
        holder = _field(payload, key)
        model = _field(holder, "model") if holder is not None else None
        if isinstance(model, str) and model:
            return model
    return None


def merge(old: Usage | None, new: Usage | None) -> Usage | None:
    """Later stream events refine earlier ones (Anthropic's ``message_delta`` is cumulative)."""
    if new is None:
        return old
    if old is None:
        return new
    return Usage(
        input_tokens=new.input_tokens if new.input_tokens is not None else old.input_tokens,
        output_tokens=new.output_tokens if new.output_tokens is not None else old.output_tokens,
    )


_LIMIT_PREFIXES = (b"x-ratelimit-", b"anthropic-ratelimit-")


def rate_limit_headers(response: Any) -> dict[str, str] | None:
    """The provider's rate-limit headers of an HTTP response, lower-cased (empty when it sent
    none), or ``None`` without a response.

    Read once from the raw header list: the kernel learns limits from these alone.
    """
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    found: dict[str, str] = {}
    if _keeps_lowered(headers):
        # httpx and httpx2 keep (raw name, lower-cased name, value) per header already.
        for _raw, key, value in headers._list:
            if key.startswith(_LIMIT_PREFIXES):
                found[key.decode("latin-1")] = value.decode("latin-1")
        return found
    raw = getattr(headers, "raw", None)
    if raw is None:
        items = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]
    else:
        items = raw
    for key, value in items:
        key = key.lower()
        if key.startswith(_LIMIT_PREFIXES):
            found[key.decode("latin-1")] = value.decode("latin-1")
    return found


#: Per headers class: whether it keeps ``_list`` as (raw name, lower-cased name, value) bytes.
_LOWERED: dict[type, bool] = {}


def _keeps_lowered(headers: Any) -> bool:
    kind = type(headers)
    known = _LOWERED.get(kind)
    if known is None:
        entries = getattr(headers, "_list", None)
        known = (
            type(entries) is list
            and bool(entries)
            and all(
                type(e) is tuple and len(e) == 3 and type(e[1]) is bytes and e[1] == e[0].lower()
                for e in entries
            )
        )
        if entries:  # an empty list says nothing of the shape: decide on a later response
            _LOWERED[kind] = known
    return known


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """``retry-after-ms``, else ``retry-after`` as seconds or an HTTP date; ``None`` if absent."""
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
