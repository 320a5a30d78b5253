"""Build a JSON value that satisfies a JSON schema, drawing values from the prompt.

Numbers in the prompt fill numeric fields in order and capitalised or content words fill
strings, so ``add 3 and 4`` calls ``add(a=3, b=4)`` and ``weather in Paris`` gives
``city="Paris"``. Free-text arguments (``text``, ``query``, ``task``...) take a quoted string
of the prompt, else the request itself; an enum or a list of choices in the tool description
takes the option the prompt names. Supports what pydantic and tool definitions emit: objects, arrays, enums,
const, anyOf/oneOf/allOf, $ref into $defs/definitions, bounds and nullable types.
"""

from __future__ import annotations

import re
from typing import Any

from .relevance import best_name

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "what",
        "how",
        "who",
        "why",
        "when",
        "where",
        "which",
        "this",
        "that",
        "from",
        "into",
        "your",
        "you",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "can",
        "could",
        "would",
        "should",
        "please",
        "tell",
        "give",
        "use",
        "using",
        "call",
        "about",
        "there",
        "then",
        "than",
        "them",
        "they",
        "their",
        "its",
        "it's",
        "is",
        "be",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "an",
        "or",
        "if",
        "me",
        "my",
        "our",
    ]
)
_MAX_DEPTH = 8
_QUOTED = re.compile(r"(?<!\w)'([^'\n]{2,200})'(?!\w)|\"([^\"\n]{2,200})\"|“([^”\n]{2,200})”")
# crewai states the request after "Current Task:"; elsewhere the prompt's first line is it.
_TASK = re.compile(r"Current Task:\s*([^\n]+)")
# Arguments that want a phrase or a sentence, not one word.
_FREE_TEXT_WORDS = """
text query question task message body content prompt input description context request instructions
search search_query q sentence
"""
_FREE_TEXT = frozenset(_FREE_TEXT_WORDS.split())


class PromptValues:
    """Cursor over the numbers and words of a prompt, cycling when it runs out."""

    def __init__(self, prompt: str) -> None:
        task = _TASK.search(prompt)
        lines = [line.strip() for line in prompt.splitlines() if line.strip()]
        self.request = task.group(1).strip() if task else (lines[0] if lines else "")
        # crewai's label is not a value: "Current Task: weather in Oslo" wants Oslo, not Task.
        prompt = prompt.replace("Current Task:", "\n")
        self.numbers = [float(m) for m in _NUMBER.findall(prompt)]
        words: list[str] = []
        capitalised: list[str] = []
        for match in _WORD.finditer(prompt):
            word = match.group()
            if word.lower() in _STOP:
                continue
            words.append(word)
            before = prompt[: match.start()].rstrip()
            # Capitalised words not opening a sentence are usually the names and places
            # an argument wants.
            if word[0].isupper() and before and before[-1] not in ".!?:\n":
                capitalised.append(word)
        self.words = capitalised + [w for w in words if w not in capitalised]
        self.prompt = prompt
        self.quoted: list[str] = [a or b or c for a, b, c in _QUOTED.findall(prompt)]
        self._n = 0
        self._w = 0
        self._q = 0

    def number(self) -> float | None:
        if not self.numbers:
            return None
        value = self.numbers[self._n % len(self.numbers)]
        self._n += 1
        return value

    def phrase(self, default: str) -> str:
        """The next quoted string of the prompt, then the request itself."""
        if self._q < len(self.quoted):
            self._q += 1
            return self.quoted[self._q - 1]
        return self.request or self.word(default)

    def word(self, default: str) -> str:
        if not self.words:
            return default
        value = self.words[self._w % len(self.words)]
        self._w += 1
        return value


# "... to one of the following coworkers: Analyst, Editor" names the values an argument takes.
_CHOICES = re.compile(r"following ([a-z_]+?)s?:\s*([^\n]+)")


def choices_in(description: str) -> dict[str, list[str]]:
    """Argument name -> allowed values, from a tool description that lists them."""
    found: dict[str, list[str]] = {}
    for match in _CHOICES.finditer(description):
        options = [o.strip().strip(".") for o in match.group(2).split(",")]
        options = [o for o in options if o]
        if options:
            found[match.group(1)] = options
    return found


def fill(schema: dict[str, Any], prompt: str, description: str = "", turn: int = 0) -> Any:
    """A value valid against ``schema`` (best effort for exotic keywords).

    ``description`` is the tool's: a string argument whose allowed values it lists gets the
    one the prompt names, as a model reading the description would pick. With no value named,
    enums and listed choices rotate with ``turn`` (the conversation's user turns so far), so a
    router asked again after each worker reply names every option in turn, ending on the last.
    """
    filler = _Filler(schema, PromptValues(prompt), choices_in(description), turn)
    return filler.value(schema, "value", 0)


class _Filler:
    def __init__(
        self,
        root: dict[str, Any],
        values: PromptValues,
        choices: dict[str, list[str]] | None = None,
        turn: int = 0,
    ) -> None:
        self.root = root
        self.values = values
        self.choices = choices or {}
        self.turn = turn

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return schema
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        merged = {k: v for k, v in schema.items() if k != "$ref"}
        return {**self.resolve(node), **merged} if isinstance(node, dict) else merged

    def value(self, schema: Any, name: str, depth: int) -> Any:
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return None if depth > _MAX_DEPTH else self.values.word(name)
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            options = schema["enum"]
            named = best_name([o for o in options if isinstance(o, str)], self.values.prompt)
            return named if named is not None else options[self.turn % len(options)]
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
                return self.value((non_null or options)[0], name, depth + 1)
        if isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                if isinstance(part, dict):
                    merged.update(self.resolve(part))
            return self.value(merged, name, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        return self.typed(kind, schema, name, depth)

    def typed(self, kind: str, schema: dict[str, Any], name: str, depth: int) -> Any:
        if kind == "object":
            props = schema.get("properties") or {}
            return {key: self.value(sub, key, depth + 1) for key, sub in props.items()}
        if kind == "array":
            count = max(int(schema.get("minItems", 1)), 1)
            count = min(count, int(schema.get("maxItems", count)))
            return [self.value(schema.get("items", {}), name, depth + 1) for _ in range(count)]
        if kind in ("integer", "number"):
            return self.number(kind, schema)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self.string(schema, name)

    def number(self, kind: str, schema: dict[str, Any]) -> int | float:
        raw = self.values.number()
        value = 1.0 if raw is None else raw
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        if isinstance(low, int | float) and value < low:
            value = float(low) + (1 if "exclusiveMinimum" in schema else 0)
        if isinstance(high, int | float) and value > high:
            value = float(high) - (1 if "exclusiveMaximum" in schema else 0)
        if kind == "integer":
            return int(value)
        return int(value) if value.is_integer() else value

    def string(self, schema: dict[str, Any], name: str) -> str:
        fmt = schema.get("format")
        if fmt == "date-time":
            return "2025-01-01T00:00:00Z"
        if fmt == "date":
            return "2025-01-01"
        if fmt == "email":
            return "user@example.com"
        if fmt in ("uri", "url"):
            return "https://example.com/"
        if fmt == "uuid":
            return "00000000-0000-4000-8000-000000000000"
        listed = self.choices.get(name)
        if listed:
            text = best_name(listed, self.values.prompt) or listed[self.turn % len(listed)]
        elif name.lower() in _FREE_TEXT:
            text = self.values.phrase(name)
        else:
            text = self.values.word(name)
        min_len = int(schema.get("minLength", 0))
        if len(text) < min_len:
            text = text + "x" * (min_len - len(text))
        if "maxLength" in schema:
            text = text[: int(schema["maxLength"])]
        return text
