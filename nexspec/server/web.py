"""Request and response functions shared by the route modules: the backend of a request, its
links, JSON bodies read within a size limit, and JSON responses.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nexspec.server.documents import Links
from nexspec.server.problems import ApiProblem

if TYPE_CHECKING:
    from nexspec.server.backend import Backend


def backend(request: Request) -> Backend:
    found: Backend = request.app.state.backend
    return found


def links(request: Request) -> Links:
    """Links that point back at the host and port the client used."""
    return backend(request).links(str(request.base_url).rstrip("/"))


async def read_json(request: Request) -> Any:
    """The JSON body; 413 past the server's limit, 400 when it is not JSON."""
    limit = backend(request).config.max_json_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiProblem(413, f"Request body exceeds {limit:,} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiProblem(413, f"Request body exceeds {limit:,} bytes")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise ApiProblem(400, "Request body is not valid JSON") from None


def reply(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)
