"""Speaker selection: a prompt that asks to pick the next role from a list gets one name.

autogen's ``SelectorGroupChat`` asks "select the next role from ['planner', 'writer'] to play.
Only return the role." (and on a bad answer "Please select from: [...]"); other routers word it
alike. The answer is exactly one listed name: the one that has spoken least in the transcript,
ties going to list order, so turns rotate and every participant gets one.
"""

from __future__ import annotations

import re

from .model import Conversation

# A choosing verb, then within the same sentence a bracketed list or a "from: a, b" list.
_BRACKETED = re.compile(r"\b(?:select|choose|pick)\b[^\[\n.]{0,120}?\[([^\]\n]+)\]", re.I)
_COLON = re.compile(r"\b(?:select|choose|pick)\b[^:\n.]{0,80}?\b(?:from|among)\b\s*:\s*([^\n]+)", re.I)
_QUOTED = re.compile(r"'([^'\n]+)'|\"([^\"\n]+)\"")
# Only a request about who acts next counts, not "pick a colour [red or blue]".
_ABOUT_SPEAKERS = re.compile(r"\b(?:role|speaker|name|agent|worker|participant|member)s?\b|\bnext\b", re.I)


def _names(listing: str) -> list[str]:
    quoted = [a or b for a, b in _QUOTED.findall(listing)]
    raw = quoted or [n for n in re.split(r",|\bor\b", listing)]
    names = [n.strip().strip(".").strip() for n in raw]
    return [n for n in dict.fromkeys(names) if n and len(n) <= 64]


def candidates(text: str) -> list[str]:
    """The names a "select the next one from ..." request lists (the last such request)."""
    found: list[str] = []
    if not _ABOUT_SPEAKERS.search(text):
        return found
    for pattern in (_BRACKETED, _COLON):
        for match in pattern.finditer(text):
            names = _names(match.group(1))
            if len(names) >= 2:
                found = names
        if found:
            return found
    return found


def choose(conv: Conversation) -> str | None:
    """The next speaker for a selection prompt, or None when the prompt asks for no choice."""
    for turn in reversed(conv.turns):
        if turn.role not in ("system", "user"):
            continue
        names = candidates(turn.text)
        if names:
            transcript = "\n".join(t.text for t in conv.turns)
            spoken = {n: len(re.findall(rf"(?m)^{re.escape(n)}:", transcript)) for n in names}
            return min(names, key=lambda n: (spoken[n], names.index(n)))
    return None
