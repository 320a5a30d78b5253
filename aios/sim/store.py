"""Server-side state of the Responses API: stored responses and conversations.

Both are bounded (oldest evicted first) so a long benchmark cannot grow memory without limit.
A stored response keeps the full item history up to and including its output, which is what
``previous_response_id`` continues from.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

_LIMIT = 20_000


@dataclass(slots=True)
class StoredResponse:
    body: dict[str, Any]
    input_items: list[dict[str, Any]]
    history: list[dict[str, Any]]


@dataclass(slots=True)
class StoredConversation:
    body: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)


class Store:
    def __init__(self, limit: int = _LIMIT) -> None:
        self.limit = limit
        self.responses: OrderedDict[str, StoredResponse] = OrderedDict()
        self.conversations: OrderedDict[str, StoredConversation] = OrderedDict()

    def put_response(self, rid: str, stored: StoredResponse) -> None:
        self.responses[rid] = stored
        while len(self.responses) > self.limit:
            self.responses.popitem(last=False)

    def put_conversation(self, cid: str, stored: StoredConversation) -> None:
        self.conversations[cid] = stored
        while len(self.conversations) > self.limit:
            self.conversations.popitem(last=False)

    def clear(self) -> None:
        self.responses.clear()
        self.conversations.clear()
