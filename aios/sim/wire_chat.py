"""OpenAI Chat Completions: ``POST /v1/chat/completions``, plain and streamed."""

from __future__ import annotations

import json
from typing import Any

from . import validate as v
from .codec import SSE_DONE, sse_data
from .model import BadRequest, Conversation, Reply, ToolCall, ToolSpec, Turn
from .pacing import Chunk
from .policy import arguments_json
from .tokens import split_tokens

_ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "tool",
}
_FINISH = {"stop": "stop", "stop_sequence": "stop", "length": "length", "tool_calls": "tool_calls"}
_REASONING_MODELS = ("o1", "o3", "o4", "gpt-5")


def parse(body: dict[str, Any]) -> Conversation:
    model = v.get(body, "model", str, required=True)
    messages = v.get(body, "messages", list, required=True)
    if not messages:
        raise BadRequest(
            "Invalid 'messages': empty array. Expected an array with minimum "
            "length 1, but got an empty array instead.",
            "messages",
        )
    turns = [_turn(m, i) for i, m in enumerate(messages)]
    conv = Conversation(api="chat", model=model, turns=turns)
    conv.tools = _tools(v.get(body, "tools", list) or [])
    conv.tool_choice = _tool_choice(body.get("tool_choice"))
    conv.parallel_tool_calls = v.get(body, "parallel_tool_calls", bool) is not False
    conv.max_tokens = v.positive_int(body, "max_completion_tokens") or v.positive_int(body, "max_tokens")
    stop = v.get(body, "stop", (str, list))
    conv.stop = [stop] if isinstance(stop, str) else [s for s in stop or [] if isinstance(s, str)]
    n = v.positive_int(body, "n") or 1
    if n > 128:
        raise BadRequest("Invalid 'n': integer above maximum value (128).", "n")
    conv.n = n
    conv.stream = bool(v.get(body, "stream", bool))
    v.get(body, "stream_options", dict)
    fmt = v.get(body, "response_format", dict)
    if fmt is not None:
        kind = fmt.get("type")
        if kind == "json_schema":
            spec = fmt.get("json_schema")
            if not isinstance(spec, dict) or not isinstance(spec.get("schema", {}), dict):
                raise BadRequest(
                    "Missing required parameter: 'response_format.json_schema'.",
                    "response_format.json_schema",
                )
            conv.json_schema = spec.get("schema") or {"type": "object", "properties": {}}
        elif kind == "json_object":
            conv.json_mode = True
        elif kind != "text":
            raise BadRequest(f"Invalid value for 'response_format.type': {kind!r}.", "response_format.type")
    effort = body.get("reasoning_effort")
    conv.reasoning = (effort not in (None, "none", "minimal")) or (
        effort is None and model.startswith(_REASONING_MODELS)
    )
    return conv


def _turn(message: Any, i: int) -> Turn:
    param = f"messages[{i}]"
    if not isinstance(message, dict):
        raise BadRequest(f"Invalid type for '{param}': expected an object.", param)
    role = message.get("role")
    if role not in _ROLES:
        raise BadRequest(
            f"Invalid value for '{param}.role': expected one of 'system', 'developer', 'user', "
            f"'assistant', 'tool'; got {role!r}.",
            f"{param}.role",
        )
    turn = Turn(role=_ROLES[role], text=v.text_of(message.get("content"), f"{param}.content"))  # type: ignore[arg-type]
    if role == "assistant":
        for j, call in enumerate(message.get("tool_calls") or []):
            fn = call.get("function") if isinstance(call, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                raise BadRequest(
                    f"Invalid '{param}.tool_calls[{j}]': missing function name.", f"{param}.tool_calls[{j}]"
                )
            turn.tool_calls.append(
                ToolCall(fn["name"], _loads_args(fn.get("arguments")), str(call.get("id", "")))
            )
    elif role in ("tool", "function"):
        turn.tool_call_id = message.get("tool_call_id")
    return turn


def _loads_args(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _tools(raw: list[Any]) -> list[ToolSpec]:
    tools: list[ToolSpec] = []
    for i, tool in enumerate(raw):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise BadRequest(
                f"Missing required parameter: 'tools[{i}].function.name'.", f"tools[{i}].function.name"
            )
        params = fn.get("parameters")
        tools.append(
            ToolSpec(fn["name"], str(fn.get("description") or ""), params if isinstance(params, dict) else {})
        )
    return tools


def _tool_choice(raw: Any) -> str:
    if raw is None:
        return "auto"
    if raw in ("auto", "none", "required"):
        return str(raw)
    if isinstance(raw, dict):
        fn = raw.get("function")
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            return str(fn["name"])
    raise BadRequest(f"Invalid value for 'tool_choice': {raw!r}.", "tool_choice")


def _message(reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.text if (reply.text or not reply.tool_calls) else None,
        "refusal": None,
        "annotations": [],
    }
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": arguments_json(c.arguments)},
            }
            for c in reply.tool_calls
        ]
    return message


def usage(conv: Conversation, replies: list[Reply]) -> dict[str, Any]:
    out = sum(r.output_tokens for r in replies)
    return {
        "prompt_tokens": conv.input_tokens,
        "completion_tokens": out,
        "total_tokens": conv.input_tokens + out,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": sum(r.reasoning_tokens for r in replies),
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def render(conv: Conversation, replies: list[Reply], rid: str, created: int) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "chat.completion",
        "created": created,
        "model": conv.model,
        "choices": [
            {"index": i, "message": _message(r), "logprobs": None, "finish_reason": _FINISH[r.finish]}
            for i, r in enumerate(replies)
        ],
        "usage": usage(conv, replies),
        "service_tier": "default",
        "system_fingerprint": "fp_aios_sim",
    }


def chunks(
    conv: Conversation, replies: list[Reply], rid: str, created: int, include_usage: bool
) -> list[Chunk]:
    head = {
        "id": rid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": conv.model,
        "service_tier": "default",
        "system_fingerprint": "fp_aios_sim",
    }
    if include_usage:
        head["usage"] = None

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        return sse_data({**head, "choices": [choice]})

    out: list[Chunk] = []
    for i, reply in enumerate(replies):
        # Choices are generated side by side; each one's token clock starts at zero.
        tokens = reply.reasoning_tokens
        out.append(Chunk(chunk(i, {"role": "assistant", "content": "", "refusal": None})))
        for piece in split_tokens(reply.text):
            tokens += 1
            out.append(Chunk(chunk(i, {"content": piece}), tokens))
        for k, call in enumerate(reply.tool_calls):
            start = {
                "index": k,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            out.append(Chunk(chunk(i, {"tool_calls": [start]}), tokens))
            for piece in split_tokens(arguments_json(call.arguments)):
                tokens += 1
                out.append(
                    Chunk(chunk(i, {"tool_calls": [{"index": k, "function": {"arguments": piece}}]}), tokens)
                )
        out.append(Chunk(chunk(i, {}, _FINISH[reply.finish]), reply.output_tokens))
    out.sort(key=lambda c: c.tokens)
    if include_usage:
        final = {**head, "choices": [], "usage": usage(conv, replies)}
        out.append(Chunk(sse_data(final), max(r.output_tokens for r in replies)))
    out.append(Chunk(SSE_DONE, max(r.output_tokens for r in replies)))
    return out


def stream_error(_: int) -> bytes:
    return sse_data(
        {
            "error": {
                "message": "The server had an error while processing your request. Sorry about that!",
                "type": "server_error",
                "param": None,
                "code": "server_error",
            }
        }
    )
