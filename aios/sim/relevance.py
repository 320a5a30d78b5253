"""Which offered tools (or listed names) a request is about: deterministic lexical scoring.

A word of the request that also appears in a tool's name counts more than one in its
description, and a word every tool shares counts less than one only this tool has (an IDF
weight), so "contact info of Ada" picks ``get_contact_info`` over ``get_user_data``. A second
tool joins the first only when the request clearly asks for several things (a conjunction, a
list, two arithmetic operators) and names something the tools already chosen do not cover.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .model import ToolSpec

_WORD = re.compile(r"[A-Za-z][a-z]*|[A-Z]+(?![a-z])|\d+")
# Operators between operands mean arithmetic: "(2 + 3) * 4" asks to add and to multiply.
_OPERATORS = {
    "+": ("add", "plus", "sum"),
    "*": ("multiply", "times", "product"),
    "\u00d7": ("multiply", "times", "product"),
    "/": ("divide", "quotient"),
    "\u00f7": ("divide", "quotient"),
    "-": ("subtract", "minus", "difference"),
}
# A dash only with spaces around it: "2026-03-02" and "INV-1001" are not subtractions.
_OPERATION = re.compile(r"[\d)]\s*([+*/\u00d7\u00f7])\s*[\d(]|[\d)]\s+(-)\s+[\d(]")
_SEVERAL = re.compile(r"\band\b|,|;|&|\balso\b|\bthen\b|\bplus\b|\bas well\b|\bboth\b", re.I)
# Words that say nothing about which tool fits: function words and generic tool verbs.
_NOISE_WORDS = """
a an the and or of to in on at by for with from into about as is are was were be been am do does did
what which who whom whose how why when where this that these those it its me my our your you we they
them their he she his her i if then than so not no yes can could would should will shall may might
must please tell give get set fetch use using call tool tools function functions run make let also
some any all each one two both only just very more most current task expected criteria final answer
actual complete content summary return must context working provide best
"""
_NOISE = frozenset(_NOISE_WORDS.split())


def stem(word: str) -> str:
    """A crude English stem, enough to match ``counts``/``counting`` to ``count``."""
    w = word.lower()
    if w.endswith(("sses", "xes", "ches", "shes", "zes")):
        return w[:-2]
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ers", ""), ("er", ""), ("ed", ""), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: len(w) - len(suffix)] + keep
    return w


def terms(text: str) -> set[str]:
    """The content-word stems of ``text`` (snake_case and camelCase split apart)."""
    return {stem(w) for w in _WORD.findall(text) if w.lower() not in _NOISE and not w.isdigit()}


def request_terms(text: str) -> set[str]:
    found = terms(text)
    for op in _operators(text):
        found.update(_OPERATORS[op])
    return found


def _operators(text: str) -> list[str]:
    return [a or b for a, b in _OPERATION.findall(text)]


def _match(term: str, words: set[str]) -> bool:
    if term in words:
        return True
    # "info" ~ "information", "write" ~ "writ(er)": a shared stem of four or more letters.
    return len(term) >= 4 and any(len(w) >= 4 and (w.startswith(term) or term.startswith(w)) for w in words)


def several_things(text: str) -> bool:
    """True when the request joins more than one ask (conjunctions, lists, two operators)."""
    return bool(_SEVERAL.search(text)) or len(_operators(text)) >= 2


@dataclass(slots=True)
class Scored:
    tool: ToolSpec
    score: float
    # Request terms matched by the tool's name, and by its name or description.
    by_name: set[str]
    covered: set[str]


def score(tools: Sequence[ToolSpec], text: str) -> list[Scored]:
    """Each tool with its relevance to ``text`` (0 when no word matches), in offered order."""
    wanted = request_terms(text)
    names = [terms(t.name.replace("_", " ").replace("-", " ")) for t in tools]
    descs = [terms(t.description) for t in tools]
    count = len(tools)
    out: list[Scored] = []
    for tool, name_terms, desc_terms in zip(tools, names, descs, strict=True):
        by_name = {w for w in wanted if _match(w, name_terms)}
        by_desc = {w for w in wanted if _match(w, desc_terms)}
        total = 0.0
        for w in by_name | by_desc:
            shared = sum(1 for n, d in zip(names, descs, strict=True) if _match(w, n | d))
            weight = 3.0 if w in by_name else 1.0
            total += weight * math.log(1 + count / max(shared, 1))
        out.append(Scored(tool, total, by_name, by_name | by_desc))
    return out


def relevant_tools(tools: Sequence[ToolSpec], text: str) -> list[ToolSpec]:
    """The tools a model would call for ``text``, in offered order.

    The best match, plus any other tool that names a further ask of a request that asks for
    several things. When no tool matches any word, the request is broad ("tell me about
    Lima"): every offered tool is relevant, as a model gathering facts would use them all.
    """
    scored = score(tools, text)
    ranked = sorted((s for s in scored if s.score > 0), key=lambda s: -s.score)
    if not ranked:
        return list(tools)
    chosen = [ranked[0]]
    if several_things(text):
        covered = set(ranked[0].covered)
        for other in ranked[1:]:
            if other.by_name - covered:
                chosen.append(other)
                covered |= other.covered
    keep = {id(s.tool) for s in chosen}
    return [t for t in tools if id(t) in keep]


def best_name(options: Sequence[str], text: str) -> str | None:
    """The option ``text`` names or is most about (None when it matches none)."""
    lowered = text.lower()
    named = [
        o for o in options if len(o) >= 3 and re.search(rf"(?<!\w){re.escape(o.lower())}(?!\w)", lowered)
    ]
    if len(named) == 1:
        return named[0]
    wanted = request_terms(text)
    best: tuple[int, str] | None = None
    for option in options:
        hits = sum(1 for w in wanted if _match(w, terms(option)))
        if hits and (best is None or hits > best[0]):
            best = (hits, option)
    return best[1] if best else None
