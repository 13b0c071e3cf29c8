"""Template routes: v2 create, list, get, patch, delete, upload URL, download URL; v3 light
list and get, compositions and layers with ``limit``/``offset``.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nexspec.protocol import API_PREFIX, API_V3_PREFIX
from nexspec.server import payloads
from nexspec.server.documents import (
    compositions_v3,
    creation_doc,
    layers_v3,
    template_doc,
    template_v3,
    upload_info,
)
from nexspec.server.problems import ApiProblem, not_found
from nexspec.server.records import TemplateRecord
from nexspec.server.web import backend, links, read_json, reply


async def create(request: Request) -> Response:
    creation = payloads.template_creation(await read_json(request))
    template = backend(request).templates.create(creation)
    return reply(creation_doc(template, links(request)), 201)


async def list_v2(request: Request) -> Response:
    found = backend(request).store.list_templates()
    return reply([template_doc(t, links(request)) for t in found])


async def get(request: Request) -> Response:
    template = backend(request).templates.get(request.path_params["id"])
    return reply(template_doc(template, links(request)))


async def patch(request: Request) -> Response:
    name = payloads.template_patch(await read_json(request))
    template = backend(request).templates.rename(request.path_params["id"], name)
    return reply(template_doc(template, links(request)))


async def delete(request: Request) -> Response:
    backend(request).templates.delete(request.path_params["id"])
    return Response(status_code=204)


async def new_upload(request: Request) -> Response:
    template = backend(request).templates.new_upload_url(request.path_params["id"])
    return reply(upload_info(template, links(request)))


async def download(request: Request) -> Response:
    template = backend(request).templates.get(request.path_params["id"])
    if template.blob is None or not backend(request).blobs.exists(template.blob):
        raise ApiProblem(410, "Template file is no longer available")
    url = links(request).download(template.blob, int(time.time()))
    return reply({"url": url})


async def list_v3(request: Request) -> Response:
    return reply([template_v3(t) for t in backend(request).store.list_templates()])


def _v3(request: Request) -> TemplateRecord:
    template_id = payloads.check_id(request.path_params["id"], "template")
    template = backend(request).store.get_template(template_id)
    if template is None:
        raise not_found("Template")
    return template


async def get_v3(request: Request) -> Response:
    return reply(template_v3(_v3(request)))


async def compositions(request: Request) -> Response:
    limit, offset = payloads.page(request.query_params)
    info = _v3(request).info
    items = compositions_v3(info) if info else []
    return reply(items[offset : offset + limit])


async def layers(request: Request) -> Response:
    limit, offset = payloads.page(request.query_params)
    info = _v3(request).info
    items = layers_v3(info) if info else []
    return reply(items[offset : offset + limit])


ROUTES = [
    Route(f"{API_PREFIX}/templates", create, methods=["POST"]),
    Route(f"{API_PREFIX}/templates", list_v2, methods=["GET"]),
    Route(f"{API_PREFIX}/templates/{{id}}", get, methods=["GET"]),
    Route(f"{API_PREFIX}/templates/{{id}}", patch, methods=["PATCH"]),
    Route(f"{API_PREFIX}/templates/{{id}}", delete, methods=["DELETE"]),
    Route(f"{API_PREFIX}/templates/{{id}}/upload", new_upload, methods=["PUT"]),
    Route(f"{API_PREFIX}/templates/{{id}}/download", download, methods=["GET"]),
    Route(f"{API_V3_PREFIX}/templates", list_v3, methods=["GET"]),
    Route(f"{API_V3_PREFIX}/templates/{{id}}", get_v3, methods=["GET"]),
    Route(f"{API_V3_PREFIX}/templates/{{id}}/compositions", compositions, methods=["GET"]),
    Route(f"{API_V3_PREFIX}/templates/{{id}}/layers", layers, methods=["GET"]),
]
