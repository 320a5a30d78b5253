"""``SimProvider``: the simulated OpenAI/Anthropic provider, callable in process (no HTTP).

``handle(method, path, body, headers)`` routes a request, applies faults and rate limits,
asks the policy for a reply, paces it with the timing model and renders it in the wire
format of the endpoint. The HTTP server is a thin wrapper around this.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from . import embeddings, resources, wire_anthropic, wire_chat, wire_responses
from .codec import loads
from .config import Faults, SimConfig
from .errors import Flavor, error_body
from .faults import FaultInjector
from .ids import IdMaker
from .model import BadRequest, Conversation, Reply
from .pacing import Chunk, StreamFault, pace
from .policy import Policy, ScriptedError
from .ratelimit import Admission, Denial, RateLimiter
from .resources import Resources
from .result import SimResult
from .script import Script
from .stats import Stats
from .store import Store, StoredResponse
from .timing import TimingModel, make_timing
from .tokens import count_tokens

_JSON = {"content-type": "application/json"}
_SSE = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}
Handler = Callable[..., Awaitable[SimResult]]


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _api_key(headers: dict[str, str]) -> str:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return headers.get("x-api-key", "") or "anonymous"


class SimProvider:
    def __init__(self, config: SimConfig | None = None) -> None:
        self.ids = IdMaker((config or SimConfig()).seed)
        self.store = Store()
        self.resources = Resources(self.store, self.ids)
        self._stats = Stats()
        self._spent: dict[str, int] = {}
        self._apply(config or SimConfig())
        self._routes()

    def _apply(self, config: SimConfig) -> None:
        # The config refuses mode "scripted" without a script.
        script = Script.load(config.script) if config.mode == "scripted" and config.script else None
        self.config = config
        self._script = script
        self.policy = Policy(config, script)
        self.limiter = RateLimiter(config)
        self.faults = FaultInjector(config.faults, config.seed)
        self.timing: TimingModel = make_timing(config)

    def configure(self, changes: Mapping[str, Any]) -> SimConfig:
        """Replace some settings at run time (``faults`` may be a spec string), then reset.

        Lets one running sim serve many test scenarios; ids and stored state survive.
        Raises ``ValueError`` (pydantic's ValidationError included) naming a bad setting.
        """
        updates = dict(changes)
        if isinstance(updates.get("faults"), str):
            updates["faults"] = Faults.parse(updates["faults"])
        merged = {**self.config.model_dump(), **updates}
        self._apply(SimConfig.model_validate(merged))
        self.reset()
        return self.config

    # -- public surface -------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        snap = self._stats.snapshot()
        snap["faults"] = dict(self.faults.counts)
        snap["admitted"] = self.limiter.admitted
        snap["first_admitted_at"] = self.limiter.first_admitted_at
        snap["last_admitted_at"] = self.limiter.last_admitted_at
        snap["profile"] = self.config.profile
        snap.update(self.timing.stats())
        return snap

    def reset(self) -> None:
        """Zero the counters and refill every rate bucket (ids keep counting up)."""
        self._stats.reset()
        self.limiter.reset()
        self.faults.reset()
        self._spent.clear()
        if self._script is not None:
            self._script.reset()

    async def handle(
        self,
        method: str,
        path: str,
        body: bytes | dict[str, Any] | None,
        headers: Mapping[str, str],
    ) -> SimResult:
        path, _, query = path.partition("?")
        hdrs = _lower(headers)
        # The path decides the flavor; only shared or unknown paths fall back to the
        # header the Anthropic SDK always sends.
        flavor: Flavor
        if path.startswith("/v1/messages"):
            flavor = "anthropic"
        elif path.startswith(("/v1/chat/", "/v1/responses", "/v1/conversations", "/v1/embeddings")):
            flavor = "openai"
        else:
            flavor = "anthropic" if "anthropic-version" in hdrs else "openai"
        request_id = self.ids.new("req_")
        endpoint, handler, args = self._route(method.upper(), path.rstrip("/") or "/")
        self._stats.begin(endpoint)
        streaming = False
        try:
            if handler is None:
                status = 405 if endpoint.startswith("405") else 404
                text = f"Invalid URL ({method.upper()} {path})" if flavor == "openai" else "Not Found"
                return self._finish(self._error(flavor, status, text, request_id), request_id)
            data = self._decode(body)
            result = await handler(data, hdrs, flavor, request_id, dict(parse_qsl(query)), *args)
            streaming = result.stream is not None
            if streaming:
                result.stream = self._track(result.stream)  # type: ignore[arg-type]
            return self._finish(result, request_id)
        except BadRequest as exc:
            error = self._error(flavor, exc.status, exc.message, request_id, param=exc.param)
            return self._finish(error, request_id)
        except ScriptedError as exc:
            return self._finish(self._error(flavor, exc.status, exc.message, request_id), request_id)
        finally:
            if not streaming:
                self._stats.end()

    # -- plumbing ---------------------------------------------------------------------------
    def _route(self, method: str, path: str) -> tuple[str, Handler | None, tuple[str, ...]]:
        parts = path.strip("/").split("/")
        exact = self._exact.get(tuple(parts))
        if exact is not None:
            name = "/" + "/".join(parts)
            if method in exact:
                return f"{method} {name}", exact[method], ()
            return f"405 {method} {name}", None, ()
        for pattern, methods in self._patterns:
            if len(pattern) == len(parts) and all(
                p == "*" or p == q for p, q in zip(pattern, parts, strict=True)
            ):
                name = "/" + "/".join("{id}" if p == "*" else p for p in pattern)
                args = tuple(q for p, q in zip(pattern, parts, strict=True) if p == "*")
                if method in methods:
                    return f"{method} {name}", methods[method], args
                return f"405 {method} {name}", None, ()
        return f"404 {method}", None, ()

    def _routes(self) -> None:
        self._exact: dict[tuple[str, ...], dict[str, Handler]] = {
            ("v1", "chat", "completions"): {"POST": self._chat},
            ("v1", "responses"): {"POST": self._responses},
            ("v1", "messages"): {"POST": self._messages},
            ("v1", "embeddings"): {"POST": self._embeddings},
            ("v1", "messages", "count_tokens"): {"POST": self._count_tokens},
            ("v1", "models"): {"GET": self._models},
            ("v1", "conversations"): {"POST": self._conv_create},
        }
        self._patterns: list[tuple[tuple[str, ...], dict[str, Handler]]] = [
            (("v1", "models", "*"), {"GET": self._model}),
            (("v1", "responses", "*"), {"GET": self._resp_get, "DELETE": self._resp_delete}),
            (("v1", "responses", "*", "input_items"), {"GET": self._resp_input_items}),
            (
                ("v1", "conversations", "*"),
                {"GET": self._conv_get, "POST": self._conv_update, "DELETE": self._conv_delete},
            ),
            (("v1", "conversations", "*", "items"), {"GET": self._items_list, "POST": self._items_add}),
            (
                ("v1", "conversations", "*", "items", "*"),
                {"GET": self._item_get, "DELETE": self._item_delete},
            ),
        ]

    @staticmethod
    def _decode(body: bytes | dict[str, Any] | None) -> dict[str, Any]:
        if body is None or body == b"":
            return {}
        if isinstance(body, dict):
            return body
        try:
            data = loads(body)
        except ValueError:
            raise BadRequest(
                "We could not parse the JSON body of your request. (HINT: This likely means "
                "you aren't using your HTTP library correctly.)"
            ) from None
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object.")
        return data

    def _error(
        self,
        flavor: Flavor,
        status: int,
        message: str,
        request_id: str,
        *,
        param: str | None = None,
        code: str | None = None,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> SimResult:
        body = error_body(flavor, status, message, param=param, code=code, kind=kind, request_id=request_id)
        return SimResult(status, {**_JSON, **(headers or {})}, json=body)

    def _finish(self, result: SimResult, request_id: str) -> SimResult:
        result.headers["x-request-id"] = request_id
        result.headers["request-id"] = request_id
        self._stats.by_status[str(result.status)] += 1
        if result.status == 429:
            self._stats.rate_limited += 1
            self._stats.rate_limited_at.append(time.monotonic())
        return result

    async def _track(self, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        self._stats.streams += 1
        try:
            async for chunk in stream:
                yield chunk
        finally:
            self._stats.end()

    # -- generation -------------------------------------------------------------------------
    async def _gate(
        self, conv: Conversation, flavor: Flavor, hdrs: dict[str, str], request_id: str
    ) -> Admission | SimResult:
        """Faults and rate limits, in the order a provider applies them."""
        conv.input_tokens = count_tokens(conv.transcript()) + 3 * len(conv.turns)
        return await self._admit(flavor, hdrs, request_id, conv.input_tokens, conv.max_tokens, conv.stream)

    async def _admit(
        self,
        flavor: Flavor,
        hdrs: dict[str, str],
        request_id: str,
        input_tokens: int,
        max_tokens: int | None,
        stream: bool,
    ) -> Admission | SimResult:
        fault = self.faults.draw(stream)
        if fault == "429":
            return self._rate_error(flavor, request_id, Denial("requests", 0, 1, 0, 0.1))
        key = _api_key(hdrs)
        budget = self.config.budget_tokens
        if budget is not None and self._spent.get(key, 0) >= budget:
            return self._quota_error(flavor, request_id)
        decision = self.limiter.admit(flavor, key, input_tokens, max_tokens)
        if isinstance(decision, Denial):
            return self._rate_error(flavor, request_id, decision)
        if fault == "500":
            msg = (
                "The server had an error while processing your request. Sorry about that!"
                if flavor == "openai"
                else "Internal server error"
            )
            return self._error(flavor, 500, msg, request_id, headers=decision.headers)
        if fault == "529":
            if flavor == "anthropic":
                return self._error(flavor, 529, "Overloaded", request_id, headers=decision.headers)
            return self._error(
                flavor,
                503,
                "The engine is currently overloaded, please try again later.",
                request_id,
                headers=decision.headers,
            )
        if fault == "stall":
            await asyncio.sleep(self.config.faults.stall_seconds)
        decision.headers["x-sim-fault"] = fault or ""
        return decision

    def _rate_error(self, flavor: Flavor, request_id: str, denial: Denial) -> SimResult:
        headers = dict(denial.headers)
        if math.isinf(denial.wait_real):
            # Larger than the bucket itself: waiting cannot help.
            headers["x-should-retry"] = "false"
            message = (
                f"Request too large: Limit {denial.limit}, Requested {denial.requested} {denial.bucket}."
            )
        else:
            wait = max(denial.wait_real, 0.001)
            headers["retry-after"] = str(max(1, math.ceil(wait)))
            if flavor == "openai":
                headers["retry-after-ms"] = str(math.ceil(wait * 1000))
            message = self._rate_message(flavor, denial, wait)
        if flavor == "anthropic":
            return self._error(flavor, 429, message, request_id, headers=headers)
        kind = "tokens" if denial.bucket == "tokens" else "requests"
        return self._error(
            flavor, 429, message, request_id, kind=kind, code="rate_limit_exceeded", headers=headers
        )

    def _rate_message(self, flavor: Flavor, denial: Denial, wait: float) -> str:
        if flavor == "anthropic":
            what = denial.bucket.replace("_", " ")
            return (
                f"This request would exceed your organization's rate limit of "
                f"{denial.limit} {what} per minute. Please try again in {wait:.2f}s."
            )
        unit = "TPM" if denial.bucket == "tokens" else "RPM"
        again = f"{math.ceil(wait * 1000)}ms" if wait < 1 else f"{wait:.3f}s"
        return (
            f"Rate limit reached for sim-model in organization org-sim on {denial.bucket} "
            f"per min ({unit}): Limit {denial.limit}, Used {denial.used}, Requested "
            f"{denial.requested}. Please try again in {again}."
        )

    def _quota_error(self, flavor: Flavor, request_id: str) -> SimResult:
        headers = {"x-should-retry": "false"}
        if flavor == "anthropic":
            return self._error(
                flavor,
                429,
                "You have reached your specified API usage limits. "
                "You will regain access on the first of next month.",
                request_id,
                headers=headers,
            )
        return self._error(
            flavor,
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            request_id,
            kind="insufficient_quota",
            code="insufficient_quota",
            headers=headers,
        )

    def _account(
        self, conv: Conversation, hdrs: dict[str, str], admission: Admission, output_tokens: int
    ) -> None:
        self._account_tokens(hdrs, admission, conv.input_tokens, output_tokens)

    def _account_tokens(
        self, hdrs: dict[str, str], admission: Admission, input_tokens: int, output_tokens: int
    ) -> None:
        self._stats.input_tokens += input_tokens
        self._stats.output_tokens += output_tokens
        key = _api_key(hdrs)
        self._spent[key] = self._spent.get(key, 0) + input_tokens + output_tokens
        self.limiter.settle(admission, output_tokens)

    async def _generate(
        self,
        conv: Conversation,
        hdrs: dict[str, str],
        flavor: Flavor,
        request_id: str,
        render: Callable[[list[Reply]], dict[str, Any]],
        chunks: Callable[[list[Reply]], list[Chunk]],
        stream_error: Callable[[int], bytes],
        prefixes: tuple[str, ...] = ("call_",),
    ) -> SimResult:
        gate = await self._gate(conv, flavor, hdrs, request_id)
        if isinstance(gate, SimResult):
            return gate
        fault = gate.headers.pop("x-sim-fault", "")
        replies = [self.policy.reply(conv, i) for i in range(conv.n)]
        for reply in replies:
            for call in reply.tool_calls:
                call.id = self.ids.new(prefixes[0])
        out_tokens = max(r.output_tokens for r in replies)
        total_out = sum(r.output_tokens for r in replies)
        progress = self.timing.run(conv.input_tokens, out_tokens)
        if not conv.stream:
            async for _ in progress:
                pass
            self._account(conv, hdrs, gate, total_out)
            return SimResult(200, {**_JSON, **gate.headers}, json=render(replies))
        parts = chunks(replies)
        stream_fault = None
        if fault in ("disconnect", "stream_error"):
            stream_fault = StreamFault(max(1, len(parts) // 2), fault == "disconnect", stream_error)
        self._account(conv, hdrs, gate, total_out)
        return SimResult(200, {**_SSE, **gate.headers}, stream=pace(parts, progress, stream_fault))

    async def _chat(
        self, body: dict[str, Any], hdrs: dict[str, str], flavor: Flavor, rid: str, query: dict[str, str]
    ) -> SimResult:
        conv = wire_chat.parse(body)
        opts = body.get("stream_options")
        include_usage = isinstance(opts, dict) and bool(opts.get("include_usage"))
        cid, created = self.ids.new("chatcmpl-", 29), int(time.time())
        return await self._generate(
            conv,
            hdrs,
            flavor,
            rid,
            lambda rs: wire_chat.render(conv, rs, cid, created),
            lambda rs: wire_chat.chunks(conv, rs, cid, created, include_usage),
            wire_chat.stream_error,
        )

    async def _messages(
        self, body: dict[str, Any], hdrs: dict[str, str], flavor: Flavor, rid: str, query: dict[str, str]
    ) -> SimResult:
        conv = wire_anthropic.parse(body)
        mid = self.ids.new("msg_")
        return await self._generate(
            conv,
            hdrs,
            flavor,
            rid,
            lambda rs: wire_anthropic.render(conv, rs[0], mid),
            lambda rs: wire_anthropic.chunks(conv, rs[0], mid),
            wire_anthropic.stream_error,
            ("toolu_",),
        )

    async def _responses(
        self, body: dict[str, Any], hdrs: dict[str, str], flavor: Flavor, rid: str, query: dict[str, str]
    ) -> SimResult:
        req = wire_responses.parse(body, self.store, self.ids)
        resp_id, created = self.ids.new("resp_", 48), int(time.time())
        memo: dict[str, Any] = {}

        def output(replies: list[Reply]) -> list[dict[str, Any]]:
            # Built once, then stored so previous_response_id and conversations see it.
            if "items" not in memo:
                items = wire_responses.output_items(replies[0], self.ids, req.conv.reasoning_summary)
                memo["items"] = items
                final = wire_responses.response_body(req, resp_id, created, items, replies[0])
                self._remember(req, resp_id, final, items)
            return memo["items"]  # type: ignore[no-any-return]

        def render(replies: list[Reply]) -> dict[str, Any]:
            return wire_responses.response_body(req, resp_id, created, output(replies), replies[0])

        def chunks(replies: list[Reply]) -> list[Chunk]:
            return wire_responses.chunks(req, resp_id, created, output(replies), replies[0])

        return await self._generate(req.conv, hdrs, flavor, rid, render, chunks, wire_responses.stream_error)

    def _remember(
        self,
        req: wire_responses.ResponsesRequest,
        resp_id: str,
        final: dict[str, Any],
        items: list[dict[str, Any]],
    ) -> None:
        if req.conversation_id is not None:
            stored = self.store.conversations.get(req.conversation_id)
            if stored is not None:
                stored.items.extend(req.input_items + items)
        if final["store"]:
            history = req.history + req.input_items + items
            self.store.put_response(resp_id, StoredResponse(final, req.input_items, history))

    async def _embeddings(
        self, body: dict[str, Any], hdrs: dict[str, str], flavor: Flavor, rid: str, query: dict[str, str]
    ) -> SimResult:
        req = embeddings.parse(body)
        # Embeddings produce no output tokens: the token bucket is charged the input only.
        gate = await self._admit(flavor, hdrs, rid, sum(req.tokens), 0, False)
        if isinstance(gate, SimResult):
            return gate
        gate.headers.pop("x-sim-fault", "")
        self._account_tokens(hdrs, gate, sum(req.tokens), 0)
        return SimResult(200, {**_JSON, **gate.headers}, json=embeddings.render(req))

    async def _count_tokens(
        self, body: dict[str, Any], hdrs: dict[str, str], flavor: Flavor, rid: str, query: dict[str, str]
    ) -> SimResult:
        conv = wire_anthropic.parse({"max_tokens": 1, **body})
        total = count_tokens(conv.transcript()) + 3 * len(conv.turns)
        return SimResult(200, dict(_JSON), json={"input_tokens": total})

    # -- resources --------------------------------------------------------------------------
    async def _models(self, body: dict[str, Any], hdrs: dict[str, str], *_: Any) -> SimResult:
        return SimResult(200, dict(_JSON), json=resources.models("anthropic-version" in hdrs))

    async def _model(
        self,
        body: dict[str, Any],
        hdrs: dict[str, str],
        flavor: Flavor,
        rid: str,
        query: dict[str, str],
        name: str,
    ) -> SimResult:
        return SimResult(200, dict(_JSON), json=resources.model(name, flavor == "anthropic"))

    def _ok(self, value: dict[str, Any]) -> SimResult:
        return SimResult(200, dict(_JSON), json=value)

    async def _resp_get(self, body: Any, h: Any, f: Any, r: Any, q: Any, rid: str) -> SimResult:
        return self._ok(self.resources.get_response(rid))

    async def _resp_delete(self, body: Any, h: Any, f: Any, r: Any, q: Any, rid: str) -> SimResult:
        return self._ok(self.resources.delete_response(rid))

    async def _resp_input_items(
        self, body: Any, h: Any, f: Any, r: Any, query: dict[str, str], rid: str
    ) -> SimResult:
        return self._ok(self.resources.input_items(rid, query))

    async def _conv_create(self, body: dict[str, Any], *_: Any) -> SimResult:
        return self._ok(self.resources.create_conversation(body))

    async def _conv_get(self, body: Any, h: Any, f: Any, r: Any, q: Any, cid: str) -> SimResult:
        return self._ok(self.resources.get_conversation(cid))

    async def _conv_update(self, body: dict[str, Any], h: Any, f: Any, r: Any, q: Any, cid: str) -> SimResult:
        return self._ok(self.resources.update_conversation(cid, body))

    async def _conv_delete(self, body: Any, h: Any, f: Any, r: Any, q: Any, cid: str) -> SimResult:
        return self._ok(self.resources.delete_conversation(cid))

    async def _items_list(
        self, body: Any, h: Any, f: Any, r: Any, query: dict[str, str], cid: str
    ) -> SimResult:
        return self._ok(self.resources.list_items(cid, query))

    async def _items_add(self, body: dict[str, Any], h: Any, f: Any, r: Any, q: Any, cid: str) -> SimResult:
        return self._ok(self.resources.add_items(cid, body))

    async def _item_get(self, body: Any, h: Any, f: Any, r: Any, q: Any, cid: str, item_id: str) -> SimResult:
        return self._ok(self.resources.get_item(cid, item_id))

    async def _item_delete(
        self, body: Any, h: Any, f: Any, r: Any, q: Any, cid: str, item_id: str
    ) -> SimResult:
        return self._ok(self.resources.delete_item(cid, item_id))
