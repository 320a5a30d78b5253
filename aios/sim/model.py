"""The provider-neutral shapes the wire adapters translate to and from.

Each API (chat completions, responses, messages) parses its request into a ``Conversation``;
the reply policy answers with a ``Reply``; the same adapter renders the reply in its format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


class BadRequest(Exception):
    """A request the provider would reject with a 400; ``param`` names the offending field."""

    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.status = status


@dataclass(slots=True)
class ToolSpec:
    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass(slots=True)
class Turn:
    role: Role
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None


@dataclass(slots=True)
class Conversation:
    """A request reduced to what decides the answer, its cost and its timing."""

    api: Literal["chat", "responses", "messages"]
    model: str
    turns: list[Turn]
    tools: list[ToolSpec] = field(default_factory=list)
    # "auto" | "none" | "required" | a tool name
    tool_choice: str = "auto"
    parallel_tool_calls: bool = True
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    n: int = 1
    stream: bool = False
    json_schema: dict[str, Any] | None = None
    json_mode: bool = False
    reasoning: bool = False
    reasoning_summary: bool = False
    input_tokens: int = 0

    def last_user_text(self) -> str:
        for turn in reversed(self.turns):
            if turn.role == "user":
                return turn.text
        return ""

    def since_last_user(self) -> list[Turn]:
        for i in range(len(self.turns) - 1, -1, -1):
            if self.turns[i].role == "user":
                return self.turns[i + 1 :]
        return list(self.turns)

    def transcript(self) -> str:
        """All text, for token counting and hashing (tool calls included)."""
        parts: list[str] = [t.description + str(t.parameters) + t.name for t in self.tools]
        for turn in self.turns:
            parts.append(turn.text)
            parts.extend(c.name + str(c.arguments) for c in turn.tool_calls)
        return "\n".join(parts)


@dataclass(slots=True)
class Reply:
    """What the simulated model says. ``finish`` is provider-neutral:
    "stop" | "length" | "tool_calls" | "stop_sequence"."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    reasoning: str = ""
    finish: str = "stop"
    stop_sequence: str | None = None
    output_tokens: int = 0
    reasoning_tokens: int = 0
