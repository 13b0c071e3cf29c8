"""Faults on demand and request counting, as ASGI middleware.

``FaultInjector`` touches only ``/api`` routes: added latency, 429 with ``Retry-After``
and 5xx answered before the request is handled, and dropped connections *after* it was
handled (the response is lost), the ambiguous failure a careful client must survive.
``RequestCounter`` counts every request by method and route template for
``/_nexspec/metrics``. The storage routes are counted but never faulted.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nexspec.payload import JsonObject
from nexspec.server.config import Faults

ABORT_EXTENSION = "nexspec.abort"
API_PREFIX = "/api/"
_ERROR_STATUSES = (500, 502, 503)


class Metrics:
    """Request counts by ``"METHOD /route/{template}"``; safe across threads."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def snapshot(self) -> JsonObject:
        with self._lock:
            counts = dict(sorted(self._counts.items()))
        return {"requests": dict(counts), "total": sum(counts.values())}


class RequestCounter:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "(unmatched)"
            self.metrics.count(f"{scope['method']} {path}")


class FaultInjector:
    def __init__(self, app: ASGIApp, faults: Faults, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.faults = faults
        self.routes = routes
        self.random = random.Random(faults.seed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.faults.active or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        roll = self.random.random()
        drop, throttle = self.faults.drop_rate, self.faults.throttle_rate
        if roll < drop:
            await self._drop(scope, receive, send)
        elif roll < drop + throttle:
            self._route(scope)
            await _json(
                send, 429, {"error": "Too many requests"}, ("retry-after", str(self.faults.retry_after))
            )
        elif roll < drop + throttle + self.faults.error_rate:
            self._route(scope)
            status = self.random.choice(_ERROR_STATUSES)
            await _json(send, status, {"error": "Internal server error (injected fault)"})
        else:
            await self.app(scope, receive, send)

    async def _drop(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)
        abort = scope.get("extensions", {}).get(ABORT_EXTENSION)
        if abort is None:
            # No transport to abort (another server): break the response instead.
            await send({"type": "http.response.start", "status": 500, "headers": []})
            raise ConnectionAbortedError("injected dropped connection")
        abort()
        # Let the server notice the lost connection before this request's handler returns, so it
        # neither answers 500 nor logs a missing response.
        for _ in range(3):
            await asyncio.sleep(0)

    def _route(self, scope: Scope) -> None:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                return


async def _json(send: Send, status: int, body: JsonObject, *extra: tuple[str, str]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def abortable_protocol() -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, extended so that middleware can drop a connection outright."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    def connection_made(self: Any, transport: asyncio.Transport) -> None:
        AutoHTTPProtocol.connection_made(self, transport)
        self.app = functools.partial(_with_abort, self.app, transport.abort)

    return type("NexspecHTTPProtocol", (AutoHTTPProtocol,), {"connection_made": connection_made})


async def _with_abort(
    app: ASGIApp, abort: Callable[[], None], scope: Scope, receive: Receive, send: Send
) -> None:
    scope.setdefault("extensions", {})[ABORT_EXTENSION] = abort
    await app(scope, receive, send)
