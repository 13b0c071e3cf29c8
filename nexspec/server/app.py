"""The local backend's ASGI application: routes, middleware and error shapes; nothing more.

Middleware, outermost first: request id on every response, request counting, faults (on
``/api`` only), bearer-token check (on ``/api`` only). The backend starts and stops with
the application's lifespan.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nexspec.server import routes_jobs, routes_library, routes_storage, routes_templates
from nexspec.server.backend import Backend
from nexspec.server.faults import API_PREFIX, FaultInjector, Metrics, RequestCounter
from nexspec.server.problems import ApiProblem, StorageProblem
from nexspec.server.stamps import new_id
from nexspec.server.workers import alive

log = logging.getLogger("nexspec.server")
REQUEST_ID = "nexspec.request_id"


async def health(request: Request) -> Response:
    server: Backend = request.app.state.backend
    workers = alive([server.render_pool, server.inspect_pool])
    return JSONResponse({"status": "ok", "workers": workers, "renderFast": server.config.render_fast})


async def metrics(request: Request) -> Response:
    counts: Metrics = request.app.state.metrics
    return JSONResponse(counts.snapshot())


def routes() -> list[BaseRoute]:
    return [
        *routes_templates.ROUTES,
        *routes_jobs.ROUTES,
        *routes_library.ROUTES,
        *routes_storage.ROUTES,
        Route("/_nexspec/health", health, methods=["GET"]),
        Route("/_nexspec/metrics", metrics, methods=["GET"]),
    ]


class RequestId:
    """Every response carries an ``X-Request-Id`` (the official CLI reports it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_id()
        scope.setdefault("state", {})[REQUEST_ID] = request_id

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, stamped)


class BearerAuth:
    """``/api`` routes need ``Authorization: Bearer <token>``, compared in constant time."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX):
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                response = JSONResponse(
                    {"error": "Unauthorized"}, 401, headers={"WWW-Authenticate": "Bearer"}
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def api_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return JSONResponse(exc.body(), exc.status)


async def storage_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StorageProblem)
    request_id = request.scope.get("state", {}).get(REQUEST_ID, "")
    headers = {"Connection": "close"} if exc.code == "EntityTooLarge" else None
    return Response(exc.xml(request_id), exc.status, headers=headers, media_type="application/xml")


async def http_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, str(exc.detail))
    return JSONResponse({"error": message}, exc.status_code, headers=exc.headers)


async def unexpected(request: Request, exc: Exception) -> Response:
    log.exception("nexspec server: unexpected error", exc_info=exc)
    return JSONResponse({"error": "Internal server error"}, 500)


def make_app(backend: Backend) -> Starlette:
    """The ASGI app serving ``backend``, which it starts and stops with its lifespan."""
    table = routes()
    counts = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        backend.start()
        try:
            yield
        finally:
            backend.stop()

    app = Starlette(
        routes=table,
        middleware=[
            Middleware(RequestId),
            Middleware(RequestCounter, metrics=counts),
            Middleware(FaultInjector, faults=backend.config.faults, routes=table),
            Middleware(BearerAuth, token=backend.token),
        ],
        exception_handlers={
            ApiProblem: api_problem,
            StorageProblem: storage_problem,
            HTTPException: http_problem,
            Exception: unexpected,
        },
        lifespan=lifespan,
    )
    app.state.backend = backend
    app.state.metrics = counts
    return app
