"""Non-generation endpoints: models, stored responses, and the Conversations API."""

from __future__ import annotations

import time
from typing import Any

from .ids import IdMaker
from .model import BadRequest
from .store import Store, StoredConversation
from .wire_responses import normalize_items

MODELS = (
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1",
    "gpt-5",
    "o4-mini",
    "claude-sim",
    "claude-sonnet-4-6",
    "claude-opus-4-8",
    "sim-model",
)
_CREATED = 1_700_000_000


def models(anthropic: bool) -> dict[str, Any]:
    if anthropic:
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
            for m in MODELS
        ]
        return {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
    return {"object": "list", "data": [model(m, False) for m in MODELS]}


def model(name: str, anthropic: bool) -> dict[str, Any]:
    if anthropic:
        return {"type": "model", "id": name, "display_name": name, "created_at": "2025-01-01T00:00:00Z"}
    return {"id": name, "object": "model", "created": _CREATED, "owned_by": "aios-sim"}


def _page(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise BadRequest(f"Invalid value for 'order': {order!r}. Expected 'asc' or 'desc'.", "order")
    ordered = items if order == "asc" else list(reversed(items))
    after = query.get("after")
    if after:
        idx = next((i for i, it in enumerate(ordered) if it.get("id") == after), None)
        ordered = ordered[idx + 1 :] if idx is not None else []
    try:
        limit = int(query.get("limit", "20"))
    except ValueError:
        raise BadRequest("Invalid 'limit': expected an integer.", "limit") from None
    limit = max(1, min(limit, 100))
    page = ordered[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(ordered) > limit,
    }


class Resources:
    def __init__(self, store: Store, ids: IdMaker) -> None:
        self.store = store
        self.ids = ids

    def _conversation(self, cid: str) -> StoredConversation:
        conv = self.store.conversations.get(cid)
        if conv is None:
            raise BadRequest(f"Conversation with id '{cid}' not found.", None, status=404)
        return conv

    def create_conversation(self, body: dict[str, Any]) -> dict[str, Any]:
        cid = self.ids.new("conv_", 32)
        metadata = body.get("metadata") or {}
        obj = {"id": cid, "object": "conversation", "created_at": int(time.time()), "metadata": metadata}
        stored = StoredConversation(obj, normalize_items(body.get("items") or [], self.ids, "items"))
        self.store.put_conversation(cid, stored)
        return obj

    def get_conversation(self, cid: str) -> dict[str, Any]:
        return self._conversation(cid).body

    def update_conversation(self, cid: str, body: dict[str, Any]) -> dict[str, Any]:
        conv = self._conversation(cid)
        if isinstance(body.get("metadata"), dict):
            conv.body["metadata"] = body["metadata"]
        return conv.body

    def delete_conversation(self, cid: str) -> dict[str, Any]:
        self._conversation(cid)
        del self.store.conversations[cid]
        return {"id": cid, "object": "conversation.deleted", "deleted": True}

    def add_items(self, cid: str, body: dict[str, Any]) -> dict[str, Any]:
        conv = self._conversation(cid)
        items = normalize_items(body.get("items"), self.ids, "items")
        conv.items.extend(items)
        return {
            "object": "list",
            "data": items,
            "first_id": items[0]["id"] if items else None,
            "last_id": items[-1]["id"] if items else None,
            "has_more": False,
        }

    def list_items(self, cid: str, query: dict[str, str]) -> dict[str, Any]:
        return _page(self._conversation(cid).items, query)

    def get_item(self, cid: str, item_id: str) -> dict[str, Any]:
        for item in self._conversation(cid).items:
            if item.get("id") == item_id:
                return item
        raise BadRequest(f"Item with id '{item_id}' not found.", None, status=404)

    def delete_item(self, cid: str, item_id: str) -> dict[str, Any]:
        conv = self._conversation(cid)
        self.get_item(cid, item_id)
        conv.items = [it for it in conv.items if it.get("id") != item_id]
        return conv.body

    def get_response(self, rid: str) -> dict[str, Any]:
        stored = self.store.responses.get(rid)
        if stored is None:
            raise BadRequest(f"Response with id '{rid}' not found.", None, status=404)
        return stored.body

    def delete_response(self, rid: str) -> dict[str, Any]:
        self.get_response(rid)
        del self.store.responses[rid]
        return {"id": rid, "object": "response.deleted", "deleted": True}

    def input_items(self, rid: str, query: dict[str, str]) -> dict[str, Any]:
        self.get_response(rid)
        return _page(self.store.responses[rid].input_items, {"order": "asc", **query})
