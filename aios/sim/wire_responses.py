"""OpenAI Responses API: ``POST /v1/responses`` and its typed event stream.

Also the state around it: ``previous_response_id`` continues a stored response's history, and
``conversation`` reads and appends the items of a Conversations-API conversation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import validate as v
from .codec import sse_event
from .ids import IdMaker
from .model import BadRequest, Conversation, Reply, ToolCall, ToolSpec, Turn
from .pacing import Chunk
from .policy import arguments_json
from .store import Store
from .tokens import split_tokens

_REASONING_MODELS = ("o1", "o3", "o4", "gpt-5")
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


@dataclass(slots=True)
class ResponsesRequest:
    conv: Conversation
    body: dict[str, Any]
    input_items: list[dict[str, Any]]
    history: list[dict[str, Any]]
    conversation_id: str | None


def normalize_items(raw: Any, ids: IdMaker, param: str = "input") -> list[dict[str, Any]]:
    """Input in any accepted shape → stored item dicts with ids (as the API lists them)."""
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    if not isinstance(raw, list):
        raise BadRequest(f"Invalid type for '{param}': expected a string or an array of input items.", param)
    items: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        where = f"{param}[{i}]"
        if not isinstance(item, dict):
            raise BadRequest(f"Invalid type for '{where}': expected an object.", where)
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            role = item.get("role")
            if role not in _ROLES:
                raise BadRequest(f"Invalid value for '{where}.role': {role!r}.", f"{where}.role")
            text = v.text_of(item.get("content"), f"{where}.content")
            part = "output_text" if role == "assistant" else "input_text"
            content: dict[str, Any] = {"type": part, "text": text}
            if part == "output_text":
                content["annotations"] = []
            items.append(
                {
                    "id": item.get("id") or ids.new("msg_"),
                    "type": "message",
                    "role": role,
                    "status": "completed",
                    "content": [content],
                }
            )
        elif kind == "function_call":
            if not isinstance(item.get("name"), str) or not isinstance(item.get("call_id"), str):
                raise BadRequest(f"Missing required parameter: '{where}.call_id'.", f"{where}.call_id")
            items.append(
                {
                    "id": item.get("id") or ids.new("fc_"),
                    "type": "function_call",
                    "call_id": item["call_id"],
                    "name": item["name"],
                    "arguments": str(item.get("arguments") or "{}"),
                    "status": "completed",
                }
            )
        elif kind == "function_call_output":
            if not isinstance(item.get("call_id"), str):
                raise BadRequest(f"Missing required parameter: '{where}.call_id'.", f"{where}.call_id")
            output = item.get("output")
            if not isinstance(output, str):
                output = v.text_of(output, f"{where}.output")
            items.append(
                {
                    "id": item.get("id") or ids.new("fco_"),
                    "type": "function_call_output",
                    "call_id": item["call_id"],
                    "output": output,
                    "status": "completed",
                }
            )
        elif isinstance(kind, str):
            items.append(dict(item))  # reasoning and hosted-tool items: kept, not read
        else:
            raise BadRequest(f"Invalid '{where}': missing 'type'.", f"{where}.type")
    return items


def turns_of(items: list[dict[str, Any]]) -> list[Turn]:
    turns: list[Turn] = []
    for item in items:
        kind = item.get("type")
        if kind == "message":
            role = _ROLES.get(item.get("role", ""), "user")
            turns.append(Turn(role=role, text=v.text_of(item.get("content"), "input")))  # type: ignore[arg-type]
        elif kind == "function_call":
            try:
                args = json.loads(item.get("arguments") or "{}")
            except ValueError:
                args = {}
            call = ToolCall(item["name"], args if isinstance(args, dict) else {}, item["call_id"])
            # Parallel calls form one assistant turn, as one model round.
            if turns and turns[-1].role == "assistant" and turns[-1].tool_calls:
                turns[-1].tool_calls.append(call)
            else:
                turns.append(Turn(role="assistant", tool_calls=[call]))
        elif kind == "function_call_output":
            turns.append(
                Turn(role="tool", text=str(item.get("output", "")), tool_call_id=item.get("call_id"))
            )
    return turns


def parse(body: dict[str, Any], store: Store, ids: IdMaker) -> ResponsesRequest:
    model = v.get(body, "model", str, required=True)
    raw_input = body.get("input")
    if raw_input is None:
        raw_input = []
    input_items = normalize_items(raw_input, ids)
    history: list[dict[str, Any]] = []
    prev = v.get(body, "previous_response_id", str)
    conversation = body.get("conversation")
    conversation_id: str | None = None
    if prev is not None and conversation is not None:
        raise BadRequest(
            "Mutually exclusive parameters: 'previous_response_id' and 'conversation'. Use only one.",
            "conversation",
        )
    if prev is not None:
        stored = store.responses.get(prev)
        if stored is None:
            raise BadRequest(f"Previous response with id '{prev}' not found.", "previous_response_id")
        history = list(stored.history)
    if conversation is not None:
        conversation_id = conversation.get("id") if isinstance(conversation, dict) else conversation
        if not isinstance(conversation_id, str) or conversation_id not in store.conversations:
            raise BadRequest(
                f"Conversation with id '{conversation_id}' not found.", "conversation", status=404
            )
        history = list(store.conversations[conversation_id].items)
    instructions = v.get(body, "instructions", (str, list))
    turns: list[Turn] = []
    if isinstance(instructions, str) and instructions:
        turns.append(Turn(role="system", text=instructions))
    turns += turns_of(history + input_items)
    if not turns:
        raise BadRequest("Missing required parameter: 'input'.", "input")
    conv = Conversation(api="responses", model=model, turns=turns)
    conv.tools = _tools(v.get(body, "tools", list) or [])
    conv.tool_choice = _tool_choice(body.get("tool_choice"))
    conv.parallel_tool_calls = v.get(body, "parallel_tool_calls", bool) is not False
    conv.max_tokens = v.positive_int(body, "max_output_tokens")
    conv.stream = bool(v.get(body, "stream", bool))
    text = v.get(body, "text", dict) or {}
    fmt_value = text.get("format")
    fmt: dict[str, Any] = fmt_value if isinstance(fmt_value, dict) else {}
    if fmt.get("type") == "json_schema":
        schema = fmt.get("schema")
        conv.json_schema = schema if isinstance(schema, dict) else {"type": "object"}
    elif fmt.get("type") == "json_object":
        conv.json_mode = True
    reasoning = v.get(body, "reasoning", dict) or {}
    effort = reasoning.get("effort")
    conv.reasoning = (
        effort not in (None, "none", "minimal")
        or bool(reasoning.get("summary"))
        or (effort is None and model.startswith(_REASONING_MODELS))
    )
    conv.reasoning_summary = bool(reasoning.get("summary")) and conv.reasoning
    return ResponsesRequest(conv, body, input_items, history, conversation_id)


def _tools(raw: list[Any]) -> list[ToolSpec]:
    tools: list[ToolSpec] = []
    for i, tool in enumerate(raw):
        if not isinstance(tool, dict):
            raise BadRequest(f"Invalid type for 'tools[{i}]': expected an object.", f"tools[{i}]")
        if tool.get("type") != "function":
            continue  # hosted tools (web_search, file_search, ...) are never called by the sim
        if not isinstance(tool.get("name"), str):
            raise BadRequest(f"Missing required parameter: 'tools[{i}].name'.", f"tools[{i}].name")
        params = tool.get("parameters")
        tools.append(
            ToolSpec(
                tool["name"], str(tool.get("description") or ""), params if isinstance(params, dict) else {}
            )
        )
    return tools


def _tool_choice(raw: Any) -> str:
    if raw is None:
        return "auto"
    if raw in ("auto", "none", "required"):
        return str(raw)
    if isinstance(raw, dict) and raw.get("type") == "function" and isinstance(raw.get("name"), str):
        return str(raw["name"])
    if isinstance(raw, dict):
        return "auto"  # hosted-tool choices: nothing to force among function tools
    raise BadRequest(f"Invalid value for 'tool_choice': {raw!r}.", "tool_choice")


def output_items(reply: Reply, ids: IdMaker, summary: bool) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if reply.reasoning:
        items.append(
            {
                "id": ids.new("rs_"),
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": reply.reasoning}] if summary else [],
            }
        )
    if reply.text or not reply.tool_calls:
        status = "incomplete" if reply.finish == "length" else "completed"
        items.append(
            {
                "id": ids.new("msg_"),
                "type": "message",
                "role": "assistant",
                "status": status,
                "content": [{"type": "output_text", "text": reply.text, "annotations": [], "logprobs": []}],
            }
        )
    for call in reply.tool_calls:
        items.append(
            {
                "id": ids.new("fc_"),
                "type": "function_call",
                "status": "completed",
                "call_id": call.id,
                "name": call.name,
                "arguments": arguments_json(call.arguments),
            }
        )
    return items


def response_body(
    req: ResponsesRequest,
    rid: str,
    created: int,
    output: list[dict[str, Any]],
    reply: Reply | None,
) -> dict[str, Any]:
    body = req.body
    conv = req.conv
    done = reply is not None
    incomplete = done and reply is not None and reply.finish == "length"
    status = "in_progress" if not done else ("incomplete" if incomplete else "completed")
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else None
    text = body.get("text") if isinstance(body.get("text"), dict) else {"format": {"type": "text"}}
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "completed_at": created if status == "completed" else None,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": conv.max_tokens,
        "max_tool_calls": None,
        "model": conv.model,
        "output": output,
        "parallel_tool_calls": conv.parallel_tool_calls,
        "previous_response_id": body.get("previous_response_id"),
        "conversation": {"id": req.conversation_id} if req.conversation_id else None,
        "reasoning": {"effort": (reasoning or {}).get("effort"), "summary": (reasoning or {}).get("summary")},
        "service_tier": "default",
        "store": body.get("store", True) is not False,
        "temperature": body.get("temperature", 1.0),
        "text": text,
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": [t for t in body.get("tools") or [] if isinstance(t, dict)],
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": usage(conv, reply) if reply is not None else None,
        "user": None,
        "metadata": body.get("metadata") or {},
    }


def usage(conv: Conversation, reply: Reply) -> dict[str, Any]:
    return {
        "input_tokens": conv.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": reply.output_tokens,
        "output_tokens_details": {"reasoning_tokens": reply.reasoning_tokens},
        "total_tokens": conv.input_tokens + reply.output_tokens,
    }


class _Events:
    def __init__(self) -> None:
        self.seq = 0
        self.chunks: list[Chunk] = []

    def add(self, kind: str, payload: dict[str, Any], tokens: int) -> None:
        data = {"type": kind, "sequence_number": self.seq, **payload}
        self.seq += 1
        self.chunks.append(Chunk(sse_event(kind, data), tokens))


def chunks(
    req: ResponsesRequest, rid: str, created: int, output: list[dict[str, Any]], reply: Reply
) -> list[Chunk]:
    ev = _Events()
    start = response_body(req, rid, created, [], None)
    ev.add("response.created", {"response": start}, 0)
    ev.add("response.in_progress", {"response": start}, 0)
    tokens = 0
    for index, item in enumerate(output):
        base = {"output_index": index}
        kind = item["type"]
        if kind == "reasoning":
            ev.add("response.output_item.added", {**base, "item": {**item, "summary": []}}, tokens)
            for s, part in enumerate(item["summary"]):
                ids = {**base, "item_id": item["id"], "summary_index": s}
                ev.add(
                    "response.reasoning_summary_part.added",
                    {**ids, "part": {"type": "summary_text", "text": ""}},
                    tokens,
                )
                for piece in split_tokens(part["text"]):
                    tokens += 1
                    ev.add("response.reasoning_summary_text.delta", {**ids, "delta": piece}, tokens)
                ev.add("response.reasoning_summary_text.done", {**ids, "text": part["text"]}, tokens)
                ev.add("response.reasoning_summary_part.done", {**ids, "part": part}, tokens)
            tokens = max(tokens, reply.reasoning_tokens)
            ev.add("response.output_item.done", {**base, "item": item}, tokens)
        elif kind == "message":
            part = item["content"][0]
            ids = {**base, "item_id": item["id"], "content_index": 0}
            ev.add(
                "response.output_item.added",
                {**base, "item": {**item, "status": "in_progress", "content": []}},
                tokens,
            )
            ev.add(
                "response.content_part.added", {**ids, "part": {**part, "text": "", "logprobs": []}}, tokens
            )
            for piece in split_tokens(part["text"]):
                tokens += 1
                ev.add("response.output_text.delta", {**ids, "delta": piece, "logprobs": []}, tokens)
            ev.add("response.output_text.done", {**ids, "text": part["text"], "logprobs": []}, tokens)
            ev.add("response.content_part.done", {**ids, "part": part}, tokens)
            ev.add("response.output_item.done", {**base, "item": item}, tokens)
        elif kind == "function_call":
            ids = {**base, "item_id": item["id"]}
            ev.add(
                "response.output_item.added",
                {**base, "item": {**item, "status": "in_progress", "arguments": ""}},
                tokens,
            )
            for piece in split_tokens(item["arguments"]):
                tokens += 1
                ev.add("response.function_call_arguments.delta", {**ids, "delta": piece}, tokens)
            ev.add(
                "response.function_call_arguments.done",
                {**ids, "name": item["name"], "arguments": item["arguments"]},
                tokens,
            )
            ev.add("response.output_item.done", {**base, "item": item}, tokens)
    final = response_body(req, rid, created, output, reply)
    kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
    ev.add(kind, {"response": final}, reply.output_tokens)
    return ev.chunks


def stream_error(seq: int) -> bytes:
    return sse_event(
        "error",
        {
            "type": "error",
            "sequence_number": seq,
            "code": "server_error",
            "message": "The server had an error while processing your request. Sorry about that!",
            "param": None,
        },
    )
