"""The HTTP face of the sim: a Starlette app that hands every request to ``SimProvider``.

One catch-all route keeps per-request overhead low (the sim must never be the bottleneck);
``/sim/stats`` and ``/sim/reset`` are the sim's own control endpoints.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .codec import dumps, loads
from .config import SimConfig
from .provider import SimProvider
from .result import SimDisconnect
from .script import ScriptError

_METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH"]


class _DropInjectedDisconnects(logging.Filter):
    """An injected disconnect is the point of the fault, not an application error."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, SimDisconnect):
                return False
            exc = exc.__cause__ or exc.__context__
            if isinstance(exc, BaseExceptionGroup):
                if any(isinstance(e, SimDisconnect) for e in exc.exceptions):
                    return False
        return True


def _json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(payload), status_code=status, headers=headers, media_type="application/json")


def create_app(provider: SimProvider | None = None, config: SimConfig | None = None) -> Starlette:
    sim = provider or SimProvider(config)

    async def stats(request: Request) -> Response:
        return _json_response(200, sim.stats())

    async def reset(request: Request) -> Response:
        sim.reset()
        return _json_response(200, {"ok": True})

    async def configure(request: Request) -> Response:
        try:
            changes = loads(await request.body() or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("expected a JSON object of settings")
            config = sim.configure(changes)
        except (ValueError, ScriptError) as exc:
            return _json_response(400, {"error": {"message": str(exc), "type": "invalid_config"}})
        return _json_response(200, config.model_dump(mode="json"))

    async def proxy(request: Request) -> Response:
        path = request.url.path
        if request.url.query:
            path = f"{path}?{request.url.query}"
        body = await request.body()
        result = await sim.handle(request.method, path, body, request.headers)
        if result.stream is not None:
            return StreamingResponse(result.stream, status_code=result.status, headers=result.headers)
        return Response(dumps(result.json), status_code=result.status, headers=result.headers)

    logging.getLogger("uvicorn.error").addFilter(_DropInjectedDisconnects())
    app = Starlette(
        routes=[
            Route("/sim/stats", stats, methods=["GET"]),
            Route("/sim/reset", reset, methods=["POST"]),
            Route("/sim/config", configure, methods=["POST"]),
            Route("/{path:path}", proxy, methods=_METHODS),
        ]
    )
    app.state.provider = sim
    return app
