"""ReAct text protocol ("Thought:/Action:/Action Input:/Observation:/Final Answer:").

crewai's prompt lists each tool as ``Tool Name: X`` / ``Tool Arguments: {json schema}`` /
``Tool Description: ...`` and asks for ``Action:`` and ``Action Input:`` lines; the agent
appends ``Observation: <result>`` after running the tool. This module reads that protocol
back out of the conversation text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .model import Conversation

_TOOL = re.compile(
    r"Tool Name: *(.+?) *\nTool Arguments: *(.*?)\nTool Description: *(.*?)(?=\n\s*\n|\nTool Name:|\Z)", re.S
)
_ACTION = re.compile(r"^Action: *(.+?) *$", re.M)
_OBSERVATION = re.compile(r"^Observation: *(.*?)(?=\n(?:Thought|Action|Final Answer):|\Z)", re.M | re.S)
_PLACEHOLDER_OBSERVATION = "the result of the action"


@dataclass(slots=True)
class ReactState:
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    called: list[str] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)


def is_react(conv: Conversation) -> bool:
    """True when the prompt asks for the ReAct text format instead of native tool calls."""
    text = "\n".join(t.text for t in conv.turns if t.role in ("system", "user"))
    return "Final Answer:" in text and ("Action Input:" in text or "Thought:" in text)


def read_state(conv: Conversation) -> ReactState:
    state = ReactState()
    for turn in conv.turns:
        for name, args, description in _TOOL.findall(turn.text):
            try:
                schema = json.loads(args)
            except ValueError:
                schema = {}
            state.tools[name.strip()] = schema if isinstance(schema, dict) else {}
            state.descriptions[name.strip()] = description.strip()
    for turn in conv.turns:
        if turn.role == "system":
            continue  # the format instructions, not the scratchpad
        for name in _ACTION.findall(turn.text):
            if name in state.tools:
                state.called.append(name)
        for obs in _OBSERVATION.findall(turn.text):
            obs = obs.strip()
            if obs and not obs.startswith(_PLACEHOLDER_OBSERVATION):
                state.observations.append(obs)
    return state


def task_text(text: str) -> str:
    """``text`` without the tool listing, so the listing's words do not pick the tool."""
    return _TOOL.sub("", text)


def action_text(name: str, arguments: dict[str, Any]) -> str:
    return (
        f"Thought: I should use the {name} tool to make progress.\n"
        f"Action: {name}\n"
        f"Action Input: {json.dumps(arguments)}"
    )


def final_text(answer: str) -> str:
    return f"Thought: I now know the final answer\nFinal Answer: {answer}"
