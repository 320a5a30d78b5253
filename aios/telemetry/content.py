"""What a call said and answered, as GenAI span attributes (``otel_capture_content = true``).

Adapters hand a syscall only the raw parts, and only when capture is on (``Syscall.content``):
an LLM call's API kind, its request body and its response body (JSON, or the SSE bytes of a
stream, read as they went past); a tool call's arguments and result. This module turns them into
the GenAI semantic conventions' JSON strings when the span is built, off the caller's path:
``gen_ai.system_instructions``, ``gen_ai.input.messages`` and ``gen_ai.output.messages``
(OpenAI chat completions, completions and responses, Anthropic messages; a stream's output is
assembled once, from all its events), and ``gen_ai.tool.call.arguments`` /
``gen_ai.tool.call.result``. Request headers are never handed over, so no key can reach a span.

No OpenTelemetry import here: adapters use :func:`handing` without the extra installed.
"""

from __future__ import annotations

import contextvars
import dataclasses
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

#: The content of the tool call about to become a syscall, for the tracer's ``on_submit``
#: (the kernel makes the syscall inside ``run_tool``, where the adapter cannot reach it).
_handed: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "aios_tool_content", default=None
)

_FINISH = {
    "tool_calls": "tool_call",
    "function_call": "tool_call",
    "tool_use": "tool_call",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "max_output_tokens": "length",
}


# -- the tool hand-over (adapters) ------------------------------------------------------------------
@contextmanager
def handing(content: dict[str, Any]) -> Iterator[None]:
    """The next tool syscall submitted in this context gets ``content``."""
    token = _handed.set(content)
    try:
        yield
    finally:
        _handed.reset(token)


def handed() -> dict[str, Any] | None:
    return _handed.get()


def keeping_result(content: dict[str, Any], fn: Callable[[], T]) -> Callable[[], T]:
    """``fn`` that notes its result in ``content`` (before the syscall ends) and hands nothing
    on to the calls it makes itself."""

    def run() -> T:
        token = _handed.set(None)
        try:
            result = fn()
        finally:
            _handed.reset(token)
        content["result"] = result
        return result

    return run


def akeeping_result(content: dict[str, Any], fn: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
    """``keeping_result`` for async tools."""

    async def run() -> T:
        token = _handed.set(None)
        try:
            result = await fn()
        finally:
            _handed.reset(token)
        content["result"] = result
        return result

    return run


# -- attributes (the exporter) ----------------------------------------------------------------------
def tool_attributes(content: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    if content.get("arguments") is not None:
        out["gen_ai.tool.call.arguments"] = _as_json(content["arguments"])
    if "result" in content:
        out["gen_ai.tool.call.result"] = _as_json(content["result"])
    return out


def llm_attributes(content: Mapping[str, Any]) -> dict[str, str]:
    api = str(content.get("api", ""))
    request = content.get("request")
    out: dict[str, str] = {}
    if isinstance(request, Mapping):
        system, messages = _input(api, request)
        if system:
            out["gen_ai.system_instructions"] = _dumps(system)
        if messages:
            out["gen_ai.input.messages"] = _dumps(messages)
    output = _output(api, content)
    if output:
        out["gen_ai.output.messages"] = _dumps(output)
    return out


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_plain)


def _as_json(value: Any) -> str:
    """A tool's arguments or result: a string as it is (often JSON already), anything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return _dumps(value)
    except (TypeError, ValueError):
        return str(value)


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="json")
        except Exception:  # a model that cannot dump itself: its text will do
            return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


# -- inputs -----------------------------------------------------------------------------------------
def _text(value: Any) -> list[dict[str, Any]]:
    """Parts of a message's content: a string, or a list of provider content blocks."""
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "text", "content": value}]
    if not isinstance(value, list):
        return [{"type": "text", "content": _as_json(value)}]
    parts: list[dict[str, Any]] = []
    for block in value:
        parts.extend(_block(block))
    return parts


def _block(block: Any) -> list[dict[str, Any]]:
    if isinstance(block, str):
        return [{"type": "text", "content": block}]
    if not isinstance(block, Mapping):
        return []
    kind = block.get("type")
    if kind in ("text", "input_text", "output_text"):
        return [{"type": "text", "content": str(block.get("text", ""))}]
    if kind == "tool_use":  # Anthropic: a tool call in an assistant message
        return [
            {
                "type": "tool_call",
                "id": block.get("id"),
                "name": block.get("name"),
                "arguments": block.get("input"),
            }
        ]
    if kind == "tool_result":  # Anthropic: a tool's answer in a user message
        response = block.get("content")
        if isinstance(response, list):
            response = "".join(p.get("content", "") for p in _text(response))
        return [{"type": "tool_call_response", "id": block.get("tool_use_id"), "response": response}]
    if kind == "thinking":
        return [{"type": "reasoning", "content": str(block.get("thinking", ""))}]
    # Images, files, audio: their kind only, never their bytes.
    return [{"type": str(kind or "unknown")}]


def _input(api: str, body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system instructions, input messages) of a request body."""
    if api.startswith("anthropic"):
        return _text(body.get("system")), [_anthropic_message(m) for m in body.get("messages") or []]
    if api.endswith(".responses"):
        return _text(body.get("instructions")), _responses_input(body.get("input"))
    if api.endswith(".completions") and "prompt" in body:
        prompt = body.get("prompt")
        texts = prompt if isinstance(prompt, list) else [prompt]
        return [], [{"role": "user", "parts": _text(str(t))} for t in texts]
    return [], [_chat_message(m) for m in body.get("messages") or [] if isinstance(m, Mapping)]


def _chat_message(message: Mapping[str, Any]) -> dict[str, Any]:
    role = str(message.get("role", "user"))
    parts = _text(message.get("content"))
    for call in message.get("tool_calls") or []:
        fn = call.get("function") or {}
        parts.append(
            {
                "type": "tool_call",
                "id": call.get("id"),
                "name": fn.get("name"),
                "arguments": _args(fn.get("arguments")),
            }
        )
    if role == "tool":
        text = "".join(p.get("content", "") for p in parts)
        parts = [{"type": "tool_call_response", "id": message.get("tool_call_id"), "response": text}]
    return {"role": "system" if role == "developer" else role, "parts": parts}


def _anthropic_message(message: Any) -> dict[str, Any]:
    if not isinstance(message, Mapping):
        return {"role": "user", "parts": _text(str(message))}
    return {"role": str(message.get("role", "user")), "parts": _text(message.get("content"))}


def _responses_input(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"role": "user", "parts": _text(value)}]
    messages: list[dict[str, Any]] = []
    for item in value or []:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        if kind == "function_call":
            part = {
                "type": "tool_call",
                "id": item.get("call_id"),
                "name": item.get("name"),
                "arguments": _args(item.get("arguments")),
            }
            messages.append({"role": "assistant", "parts": [part]})
        elif kind == "function_call_output":
            part = {"type": "tool_call_response", "id": item.get("call_id"), "response": item.get("output")}
            messages.append({"role": "tool", "parts": [part]})
        elif "role" in item:
            role = str(item["role"])
            messages.append(
                {"role": "system" if role == "developer" else role, "parts": _text(item.get("content"))}
            )
    return messages


def _args(raw: Any) -> Any:
    """Tool-call arguments as the model sent them: JSON text decoded when it is JSON."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


# -- outputs ----------------------------------------------------------------------------------------
def _output(api: str, content: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = content.get("response")
    if isinstance(raw, bytes | bytearray):
        try:
            body = json.loads(raw)
        except ValueError:
            return []
        return _answer(api, body)
    sse = content.get("response_sse")
    if isinstance(sse, bytes | bytearray):
        return _assemble(api, list(_events(bytes(sse))))
    return []


def _answer(api: str, body: Any) -> list[dict[str, Any]]:
    """The output messages of a whole (non-streamed) response body."""
    if not isinstance(body, Mapping):
        return []
    if api.startswith("anthropic"):
        return [
            {
                "role": str(body.get("role", "assistant")),
                "parts": _text(body.get("content")),
                "finish_reason": _finish(body.get("stop_reason")),
            }
        ]
    if api.endswith(".responses"):
        return _responses_output(body)
    out = []
    for choice in body.get("choices") or []:
        if "message" in choice:
            message = _chat_message(choice.get("message") or {})
        else:  # the completions API
            message = {"role": "assistant", "parts": _text(choice.get("text"))}
        message["finish_reason"] = _finish(choice.get("finish_reason"))
        out.append(message)
    return out


def _responses_output(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for item in body.get("output") or []:
        kind = item.get("type")
        if kind == "message":
            parts.extend(_text(item.get("content")))
        elif kind == "function_call":
            parts.append(
                {
                    "type": "tool_call",
                    "id": item.get("call_id"),
                    "name": item.get("name"),
                    "arguments": _args(item.get("arguments")),
                }
            )
    if any(p["type"] == "tool_call" for p in parts):
        reason = "tool_call"
    elif body.get("status") == "incomplete":
        reason = "length"
    else:
        reason = "stop" if body.get("status") in (None, "completed") else str(body.get("status"))
    return [{"role": "assistant", "parts": parts, "finish_reason": reason}]


def _finish(reason: Any) -> str:
    if reason is None:
        return "stop"
    return _FINISH.get(str(reason), str(reason))


def _events(sse: bytes) -> Iterator[Any]:
    for line in sse.split(b"\n"):
        if not line.startswith(b"data:"):
            continue
        payload = line[5:].strip()
        if not payload or payload == b"[DONE]":
            continue
        try:
            yield json.loads(payload)
        except ValueError:
            continue


def _assemble(api: str, events: list[Any]) -> list[dict[str, Any]]:
    """The output messages of a stream, from all its events."""
    if api.startswith("anthropic"):
        return _assemble_anthropic(events)
    if api.endswith(".responses"):
        for event in reversed(events):  # the final event carries the whole response
            if isinstance(event, Mapping) and isinstance(event.get("response"), Mapping):
                return _responses_output(event["response"])
        return []
    return _assemble_chat(events)


def _assemble_chat(events: list[Any]) -> list[dict[str, Any]]:
    texts: dict[int, list[str]] = {}
    calls: dict[int, dict[int, dict[str, Any]]] = {}
    reasons: dict[int, str] = {}
    for event in events:
        for choice in (event.get("choices") if isinstance(event, Mapping) else None) or []:
            i = int(choice.get("index", 0))
            texts.setdefault(i, [])
            delta = choice.get("delta") or {}
            if "text" in choice:  # the completions API
                texts[i].append(str(choice.get("text") or ""))
            if delta.get("content"):
                texts[i].append(str(delta["content"]))
            for call in delta.get("tool_calls") or []:
                slot = calls.setdefault(i, {}).setdefault(int(call.get("index", 0)), {"args": []})
                fn = call.get("function") or {}
                if call.get("id"):
                    slot["id"] = call["id"]
                if fn.get("name"):
                    slot["name"] = fn["name"]
                if fn.get("arguments"):
                    slot["args"].append(fn["arguments"])
            if choice.get("finish_reason"):
                reasons[i] = _finish(choice["finish_reason"])
    out = []
    for i in sorted(texts):
        parts: list[dict[str, Any]] = []
        if texts[i]:
            parts.append({"type": "text", "content": "".join(texts[i])})
        for _, slot in sorted(calls.get(i, {}).items()):
            parts.append(
                {
                    "type": "tool_call",
                    "id": slot.get("id"),
                    "name": slot.get("name"),
                    "arguments": _args("".join(slot["args"])),
                }
            )
        out.append({"role": "assistant", "parts": parts, "finish_reason": reasons.get(i, "stop")})
    return out


def _assemble_anthropic(events: list[Any]) -> list[dict[str, Any]]:
    blocks: dict[int, dict[str, Any]] = {}
    reason: str | None = None
    for event in events:
        if not isinstance(event, Mapping):
            continue
        kind = event.get("type")
        if kind == "content_block_start":
            block = dict(event.get("content_block") or {})
            block["_json"] = []
            blocks[int(event.get("index", 0))] = block
        elif kind == "content_block_delta":
            block = blocks.setdefault(int(event.get("index", 0)), {"type": "text", "text": "", "_json": []})
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta":
                block["text"] = block.get("text", "") + str(delta.get("text", ""))
            elif delta.get("type") == "input_json_delta":
                block["_json"].append(str(delta.get("partial_json", "")))
            elif delta.get("type") == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + str(delta.get("thinking", ""))
        elif kind == "message_delta":
            reason = (event.get("delta") or {}).get("stop_reason") or reason
    content = []
    for _, block in sorted(blocks.items()):
        pieces = block.pop("_json")
        if block.get("type") == "tool_use" and pieces:
            block["input"] = _args("".join(pieces))
        content.append(block)
    if not content and reason is None:
        return []
    return [{"role": "assistant", "parts": _text(content), "finish_reason": _finish(reason)}]
