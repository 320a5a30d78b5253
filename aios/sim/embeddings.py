"""``POST /v1/embeddings``: request checks, deterministic vectors and the OpenAI response shape.

A vector hashes the text's content words and their character trigrams into ``dimensions``
signed buckets and is L2-normalised, so texts sharing words (or word pieces) get a high cosine
similarity and retrieval returns sensible neighbours. Nothing is random and nothing is
downloaded; the same text always gets the same vector.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from dataclasses import dataclass
from typing import Any

from .model import BadRequest
from .relevance import stem
from .tokens import count_tokens

MAX_INPUTS = 2048
MAX_ITEM_TOKENS = 8192
_WORD = re.compile(r"[^\W_]+")
# Function words carry no topic: leaving them out keeps "what causes tides" near "tides are...".
_SKIP_WORDS = """
a an the and or of to in on at by for with from into as is are was were be been do does did what
which who how why when where this that these those it its i you we they he she me my our your their
can could would should will may might must please not no so if then than there here about
"""
_SKIP = frozenset(_SKIP_WORDS.split())


def native_dimensions(model: str) -> int:
    return 3072 if "large" in model else 1536


@dataclass(slots=True)
class EmbeddingsRequest:
    model: str
    inputs: list[str]
    tokens: list[int]
    dimensions: int
    base64: bool


def parse(body: dict[str, Any]) -> EmbeddingsRequest:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("you must provide a model parameter", "model")
    raw = body.get("input")
    if raw is None or (isinstance(raw, list) and not raw):
        raise BadRequest("'input' is a required property and must be a non-empty string or array.", "input")
    # A flat list of ints is one tokenised input; any other list is a batch of inputs.
    items: list[Any] = raw if isinstance(raw, list) and not isinstance(raw[0], int) else [raw]
    if len(items) > MAX_INPUTS:
        raise BadRequest(f"'$.input' is invalid: at most {MAX_INPUTS} inputs per request.", "input")
    inputs: list[str] = []
    tokens: list[int] = []
    for item in items:
        text, count = _item(item)
        if count > MAX_ITEM_TOKENS:
            raise BadRequest(
                f"This model's maximum context length is {MAX_ITEM_TOKENS} tokens, however you "
                f"requested {count} tokens in your input. Please reduce your input.",
                "input",
            )
        inputs.append(text)
        tokens.append(count)
    native = native_dimensions(model)
    dims = body.get("dimensions")
    if dims is None:
        dims = native
    elif "ada-002" in model:
        raise BadRequest("This model does not support specifying dimensions.", "dimensions")
    elif isinstance(dims, bool) or not isinstance(dims, int) or not 1 <= dims <= native:
        raise BadRequest(f"Invalid 'dimensions': expected an integer from 1 to {native}.", "dimensions")
    fmt = body.get("encoding_format", "float")
    if fmt not in ("float", "base64"):
        raise BadRequest(
            f"Invalid value for 'encoding_format': expected 'float' or 'base64', got {fmt!r}.",
            "encoding_format",
        )
    return EmbeddingsRequest(model, inputs, tokens, dims, fmt == "base64")


def _item(item: Any) -> tuple[str, int]:
    """One input as text to embed and its token count; token ids embed as their ids."""
    if isinstance(item, str):
        if not item:
            raise BadRequest("'$.input' is invalid: an input string must not be empty.", "input")
        return item, count_tokens(item)
    if isinstance(item, list) and item and all(isinstance(t, int) and not isinstance(t, bool) for t in item):
        return " ".join(f"t{t}" for t in item), len(item)
    raise BadRequest(
        "'$.input' is invalid: expected a string, an array of strings, an array of token ids "
        "or an array of token id arrays.",
        "input",
    )


def _features(text: str) -> list[tuple[str, float]]:
    words = [w.lower() for w in _WORD.findall(text)]
    content = [w for w in words if w not in _SKIP] or words or [text]
    out: list[tuple[str, float]] = []
    for word in content:
        out.append(("w:" + stem(word), 2.0))
        padded = f" {word} "
        out.extend(("c:" + padded[i : i + 3], 0.5) for i in range(len(padded) - 2))
    return out


def vector(text: str, dimensions: int) -> list[float]:
    values = [0.0] * dimensions
    for feature, weight in _features(text):
        digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
        values[digest % dimensions] += weight if digest >> 63 else -weight
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def render(req: EmbeddingsRequest) -> dict[str, Any]:
    data: list[dict[str, Any]] = []
    for index, text in enumerate(req.inputs):
        values = vector(text, req.dimensions)
        encoded: Any = (
            base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode() if req.base64 else values
        )
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    total = sum(req.tokens)
    return {
        "object": "list",
        "data": data,
        "model": req.model,
        "usage": {"prompt_tokens": total, "total_tokens": total},
    }
