"""The simulated model: decides what to say for a conversation.

``auto`` mode behaves like a cooperative agent model: it takes a handoff (``transfer_to_*``)
once; calls the offered tools relevant to the latest request (``relevance``) that it has not
called since that request, with arguments filled from the prompt so they satisfy the tool's
schema, for at most ``max_tool_rounds`` rounds and never twice at once to the same crewai
coworker; then answers using the tool results. Asked to pick the next speaker from a list, it
answers one listed name (``speaker``). Output depends only on the seed, the conversation and
the choice index, never on timing; ids are assigned later by the wire layer.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from . import react, relevance, speaker
from .config import SimConfig
from .model import BadRequest, Conversation, Reply, ToolCall, ToolSpec
from .schema_fill import fill
from .script import Script
from .tokens import count_tokens, truncate_tokens

HANDOFF_PREFIX = "transfer_to_"
_FILLER = [
    "this",
    "covers",
    "the",
    "request",
    "with",
    "the",
    "details",
    "that",
    "matter",
    "most",
    "here",
    "and",
    "keeps",
    "the",
    "answer",
    "short",
    "clear",
    "and",
    "useful",
    "for",
    "the",
    "next",
    "step",
    "of",
    "the",
    "task",
    "at",
    "hand",
]


class ScriptedError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Policy:
    def __init__(self, config: SimConfig, script: Script | None = None) -> None:
        self.config = config
        self.script = script

    def reply(self, conv: Conversation, choice: int = 0) -> Reply:
        if self.config.mode == "echo":
            reply = Reply(text=conv.last_user_text() or "(empty)")
        elif self.config.mode == "scripted":
            reply = self._scripted(conv)
        else:
            reply = self._auto(conv, self._rng(conv, choice))
        return finalize(reply, conv)

    def _rng(self, conv: Conversation, choice: int) -> random.Random:
        digest = hashlib.blake2b(
            f"{self.config.seed}\x00{choice}\x00{conv.model}\x00{conv.transcript()}".encode(),
            digest_size=8,
        ).digest()
        return random.Random(int.from_bytes(digest, "big"))

    def _scripted(self, conv: Conversation) -> Reply:
        assert self.script is not None
        entry = self.script.next(conv.last_user_text())
        if entry is None:
            raise ScriptedError(500, "The sim script is exhausted: no reply left for this request.")
        if entry.status is not None:
            raise ScriptedError(entry.status, entry.message)
        calls = [ToolCall(c["name"], dict(c.get("arguments") or {})) for c in entry.tool_calls]
        return Reply(text=entry.text, tool_calls=calls, reasoning=entry.reasoning)

    def _auto(self, conv: Conversation, rng: random.Random) -> Reply:
        reasoning = self._reasoning(conv, rng) if conv.reasoning else ""
        chosen = speaker.choose(conv) if not conv.tools and conv.json_schema is None else None
        if chosen is not None:
            reply = Reply(text=chosen)
        elif react.is_react(conv) and not conv.tools:
            reply = self._react(conv, rng)
        else:
            calls = self._tool_calls(conv)
            if calls:
                reply = Reply(tool_calls=calls, finish="tool_calls")
            else:
                reply = Reply(text=self._answer(conv, rng, self._tool_results(conv)))
        reply.reasoning = reasoning
        return reply

    def _tool_calls(self, conv: Conversation) -> list[ToolCall]:
        if not conv.tools or conv.tool_choice == "none":
            return []
        prompt = conv.last_user_text()
        by_name = {t.name: t for t in conv.tools}
        if conv.tool_choice not in ("auto", "required"):
            tool = by_name.get(conv.tool_choice)
            if tool is None:
                raise BadRequest(
                    f"tool_choice names {conv.tool_choice!r}, which is not among the tools.",
                    "tool_choice",
                )
            return [self._call(tool, prompt, turn_of(conv))]
        ever_called = {c.name for t in conv.turns for c in t.tool_calls}
        handoffs = [t for t in conv.tools if t.name.startswith(HANDOFF_PREFIX)]
        if handoffs and not any(n.startswith(HANDOFF_PREFIX) for n in ever_called):
            return [self._call(handoffs[0], prompt)]
        recent = conv.since_last_user()
        rounds = sum(1 for t in recent if t.tool_calls)
        called = {c.name for t in recent for c in t.tool_calls}
        offered = [t for t in conv.tools if not t.name.startswith(HANDOFF_PREFIX)]
        relevant = relevance.relevant_tools(offered, prompt)
        fresh = [t for t in relevant if t.name not in called]
        if rounds >= self.config.max_tool_rounds:
            fresh = []
        if not fresh and conv.tool_choice == "required":
            fresh = (relevant or conv.tools)[:1]
        calls = one_per_coworker([self._call(tool, prompt, turn_of(conv)) for tool in fresh])
        return calls if conv.parallel_tool_calls else calls[:1]

    @staticmethod
    def _call(tool: ToolSpec, prompt: str, turn: int = 0) -> ToolCall:
        schema = tool.parameters or {"type": "object", "properties": {}}
        args = fill(schema, prompt, tool.description, turn)
        return ToolCall(tool.name, args if isinstance(args, dict) else {"input": args})

    @staticmethod
    def _tool_results(conv: Conversation) -> list[str]:
        return [t.text for t in conv.since_last_user() if t.role == "tool" and t.text]

    def _answer(self, conv: Conversation, rng: random.Random, results: list[str]) -> str:
        if conv.json_schema is not None:
            context = conv.last_user_text() + " " + " ".join(results)
            return json.dumps(fill(conv.json_schema, context, turn=turn_of(conv)))
        words = rng.randint(self.config.answer_words_min, self.config.answer_words_max)
        # A contiguous run of a fixed sentence reads better than random words.
        start = rng.randrange(len(_FILLER))
        filler = " ".join(_FILLER[(start + i) % len(_FILLER)] for i in range(words))
        if results:
            text = f"Based on the tool results ({'; '.join(r[:200] for r in results)}), {filler}."
        else:
            text = f"Answer: {filler}."
        if conv.json_mode:
            return json.dumps({"answer": text})
        return text

    def _react(self, conv: Conversation, rng: random.Random) -> Reply:
        state = react.read_state(conv)
        prompt = react.task_text(conv.last_user_text())
        specs = [ToolSpec(n, state.descriptions.get(n, ""), state.tools[n] or {}) for n in state.tools]
        fresh = [t for t in relevance.relevant_tools(specs, prompt) if t.name not in state.called]
        if fresh and len(state.called) < self.config.max_tool_rounds:
            call = self._call(fresh[0], prompt)
            return Reply(text=react.action_text(call.name, call.arguments))
        return Reply(text=react.final_text(self._answer(conv, rng, state.observations)))

    @staticmethod
    def _reasoning(conv: Conversation, rng: random.Random) -> str:
        topic = " ".join(conv.last_user_text().split()[:12]) or "the request"
        steps = rng.randint(2, 4)
        return f"The user asks: {topic}. " + " ".join(
            f"Step {i + 1}: consider what is needed and check it." for i in range(steps)
        )


def finalize(reply: Reply, conv: Conversation) -> Reply:
    """Apply stop sequences and the max-tokens cap, then count output tokens."""
    if conv.stop and reply.text and not reply.tool_calls:
        cut = min(
            ((reply.text.find(s), s) for s in conv.stop if s and s in reply.text),
            default=None,
        )
        if cut is not None:
            reply.text = reply.text[: cut[0]]
            reply.finish, reply.stop_sequence = "stop_sequence", cut[1]
    reply.reasoning_tokens = count_tokens(reply.reasoning)
    visible = count_tokens(reply.text) + sum(_call_tokens(c) for c in reply.tool_calls)
    limit = conv.max_tokens
    if limit is not None and reply.reasoning_tokens + visible > limit:
        if reply.reasoning_tokens >= limit:
            reply.reasoning = truncate_tokens(reply.reasoning, limit)
            reply.reasoning_tokens = count_tokens(reply.reasoning)
            reply.text = ""
        else:
            budget = limit - reply.reasoning_tokens
            reply.text = truncate_tokens(reply.text, budget)
        # A tool call cut short is unusable JSON: real models end with a partial message.
        reply.tool_calls = []
        reply.finish, reply.stop_sequence = "length", None
        visible = count_tokens(reply.text)
    reply.output_tokens = reply.reasoning_tokens + visible
    return reply


def turn_of(conv: Conversation) -> int:
    """How many user turns came before the latest one: rotates choices across a conversation."""
    return max(0, sum(1 for t in conv.turns if t.role == "user") - 1)


def one_per_coworker(calls: list[ToolCall]) -> list[ToolCall]:
    """Drop a second call to a coworker already called in this reply.

    crewai runs one executor per coworker and rejects a concurrent second task for it
    ("Executor is already running"); a model delegates to one coworker at a time.
    """
    seen: set[str] = set()
    kept: list[ToolCall] = []
    for call in calls:
        coworker = call.arguments.get("coworker") or call.arguments.get("co_worker")
        if isinstance(coworker, str):
            if coworker.lower() in seen:
                continue
            seen.add(coworker.lower())
        kept.append(call)
    return kept


def _call_tokens(call: ToolCall) -> int:
    return count_tokens(call.name) + count_tokens(json.dumps(call.arguments)) + 3


def arguments_json(args: dict[str, Any]) -> str:
    return json.dumps(args, separators=(",", ":"))
