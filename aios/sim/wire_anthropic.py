"""Anthropic Messages API: ``POST /v1/messages`` (content blocks, tool_use, thinking, stream)."""

from __future__ import annotations

import hashlib
from typing import Any

from . import validate as v
from .codec import sse_event
from .model import BadRequest, Conversation, Reply, ToolCall, ToolSpec, Turn
from .pacing import Chunk
from .policy import arguments_json
from .tokens import split_tokens

_STOP = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "length": "max_tokens",
    "stop_sequence": "stop_sequence",
}


def parse(body: dict[str, Any]) -> Conversation:
    model = v.get(body, "model", str, required=True)
    max_tokens = v.positive_int(body, "max_tokens", required=True)
    messages = v.get(body, "messages", list, required=True)
    if not messages:
        raise BadRequest("messages: at least one message is required", "messages")
    turns: list[Turn] = []
    system = v.get(body, "system", (str, list))
    if system:
        turns.append(Turn(role="system", text=v.text_of(system, "system")))
    for i, message in enumerate(messages):
        turns += _turns(message, i)
    conv = Conversation(api="messages", model=model, turns=turns, max_tokens=max_tokens)
    conv.tools = _tools(v.get(body, "tools", list) or [])
    choice = v.get(body, "tool_choice", dict)
    if choice is not None:
        kind = choice.get("type")
        if kind == "tool":
            if not isinstance(choice.get("name"), str):
                raise BadRequest("tool_choice.name: Field required", "tool_choice.name")
            conv.tool_choice = choice["name"]
        elif kind in ("auto", "any", "none"):
            conv.tool_choice = {"auto": "auto", "any": "required", "none": "none"}[kind]
        else:
            raise BadRequest(
                f"tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none', got {kind!r}",
                "tool_choice.type",
            )
        conv.parallel_tool_calls = not choice.get("disable_parallel_tool_use", False)
    stops = v.get(body, "stop_sequences", list) or []
    conv.stop = [s for s in stops if isinstance(s, str)]
    conv.stream = bool(v.get(body, "stream", bool))
    thinking = v.get(body, "thinking", dict)
    if thinking is not None and thinking.get("type") in ("enabled", "adaptive"):
        conv.reasoning = conv.reasoning_summary = True
    fmt = v.get(body, "output_format", dict)
    if fmt is not None and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        conv.json_schema = fmt["schema"]
    return conv


def _turns(message: Any, i: int) -> list[Turn]:
    param = f"messages.{i}"
    if not isinstance(message, dict):
        raise BadRequest(f"{param}: Input should be a valid dictionary", param)
    role = message.get("role")
    if role not in ("user", "assistant"):
        raise BadRequest(f"{param}.role: Input should be 'user' or 'assistant'", f"{param}.role")
    content = message.get("content")
    if isinstance(content, str):
        return [Turn(role=role, text=content)]
    if not isinstance(content, list):
        raise BadRequest(f"{param}.content: Input should be a valid string or list", param)
    turns: list[Turn] = []
    texts: list[str] = []
    calls: list[ToolCall] = []
    for j, block in enumerate(content):
        if not isinstance(block, dict):
            raise BadRequest(
                f"{param}.content.{j}: Input should be a valid dictionary", f"{param}.content.{j}"
            )
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            inp = block.get("input")
            calls.append(
                ToolCall(
                    str(block.get("name", "")), inp if isinstance(inp, dict) else {}, str(block.get("id", ""))
                )
            )
        elif kind == "tool_result":
            # Tool results ride in user messages but are not a new user request.
            turns.append(
                Turn(
                    role="tool",
                    text=v.text_of(block.get("content"), param),
                    tool_call_id=block.get("tool_use_id"),
                )
            )
        elif kind in ("image", "document"):
            texts.append("[media]")
    if texts or calls:
        turns.append(Turn(role=role, text="\n".join(texts), tool_calls=calls))
    return turns


def _tools(raw: list[Any]) -> list[ToolSpec]:
    tools: list[ToolSpec] = []
    for i, tool in enumerate(raw):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise BadRequest(f"tools.{i}.name: Field required", f"tools.{i}.name")
        schema = tool.get("input_schema")
        if schema is None and tool.get("type") not in (None, "custom"):
            continue  # server tools (web search, code execution) are never called by the sim
        tools.append(
            ToolSpec(
                tool["name"], str(tool.get("description") or ""), schema if isinstance(schema, dict) else {}
            )
        )
    return tools


def _signature(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=24).hexdigest()


def blocks(reply: Reply) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if reply.reasoning:
        out.append(
            {"type": "thinking", "thinking": reply.reasoning, "signature": _signature(reply.reasoning)}
        )
    if reply.text or not reply.tool_calls:
        out.append({"type": "text", "text": reply.text})
    for call in reply.tool_calls:
        out.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments})
    return out


def _usage(conv: Conversation, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": conv.input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "service_tier": "standard",
    }


def render(conv: Conversation, reply: Reply, mid: str) -> dict[str, Any]:
    return {
        "id": mid,
        "type": "message",
        "role": "assistant",
        "model": conv.model,
        "content": blocks(reply),
        "stop_reason": _STOP[reply.finish],
        "stop_sequence": reply.stop_sequence,
        "usage": _usage(conv, reply.output_tokens),
    }


def chunks(conv: Conversation, reply: Reply, mid: str) -> list[Chunk]:
    out: list[Chunk] = []

    def add(kind: str, payload: dict[str, Any], tokens: int) -> None:
        out.append(Chunk(sse_event(kind, {"type": kind, **payload}), tokens))

    start: dict[str, Any] = {
        "id": mid,
        "type": "message",
        "role": "assistant",
        "model": conv.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _usage(conv, 1),
    }
    add("message_start", {"message": start}, 0)
    tokens = 0
    for index, block in enumerate(blocks(reply)):
        kind = block["type"]
        if kind == "thinking":
            add(
                "content_block_start",
                {"index": index, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
                tokens,
            )
            for piece in split_tokens(block["thinking"]):
                tokens += 1
                add(
                    "content_block_delta",
                    {"index": index, "delta": {"type": "thinking_delta", "thinking": piece}},
                    tokens,
                )
            add(
                "content_block_delta",
                {"index": index, "delta": {"type": "signature_delta", "signature": block["signature"]}},
                tokens,
            )
        elif kind == "text":
            add(
                "content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}}, tokens
            )
            if index == 0:
                add("ping", {}, tokens)
            for piece in split_tokens(block["text"]):
                tokens += 1
                add(
                    "content_block_delta",
                    {"index": index, "delta": {"type": "text_delta", "text": piece}},
                    tokens,
                )
        else:
            add(
                "content_block_start",
                {
                    "index": index,
                    "content_block": {
                        "type": "tool_use",
                        "id": block["id"],
                        "name": block["name"],
                        "input": {},
                    },
                },
                tokens,
            )
            add(
                "content_block_delta",
                {"index": index, "delta": {"type": "input_json_delta", "partial_json": ""}},
                tokens,
            )
            for piece in split_tokens(arguments_json(block["input"])):
                tokens += 1
                add(
                    "content_block_delta",
                    {"index": index, "delta": {"type": "input_json_delta", "partial_json": piece}},
                    tokens,
                )
        add("content_block_stop", {"index": index}, tokens)
    end = reply.output_tokens
    add(
        "message_delta",
        {
            "delta": {"stop_reason": _STOP[reply.finish], "stop_sequence": reply.stop_sequence},
            "usage": {"output_tokens": end},
        },
        end,
    )
    add("message_stop", {}, end)
    return out


def stream_error(_: int) -> bytes:
    return sse_event(
        "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
