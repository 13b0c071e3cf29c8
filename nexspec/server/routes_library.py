"""The team library: fonts (multipart TTF upload, 40 MiB) and secrets (values never returned)."""

from __future__ import annotations

from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message

from nexspec.protocol import API_PREFIX
from nexspec.server import payloads
from nexspec.server.documents import font_doc, secret_doc
from nexspec.server.problems import ApiProblem, Detail, bad_request, conflict, not_found
from nexspec.server.records import FontRecord, SecretRecord
from nexspec.server.stamps import new_id, now
from nexspec.server.store import DuplicateName
from nexspec.server.web import backend, read_json, reply

TTF_MAGICS = (b"\x00\x01\x00\x00", b"true")
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and small fields around the font


async def create_font(request: Request) -> Response:
    server = backend(request)
    limit = server.config.max_font_bytes
    async with _limited(request, limit + FORM_OVERHEAD).form(max_files=1, max_fields=8) as form:
        upload = form.get("font")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise bad_request("Validation failed", [Detail("font", "is required: a .ttf file")])
        if not upload.filename.lower().endswith(".ttf"):
            raise bad_request("Only TrueType (.ttf) fonts are accepted")
        family = form.get("familyName")
        font = await _store_font(request, upload, family if isinstance(family, str) else None)
    server.store.insert_font(font)
    return reply(font_doc(font), 201)


async def _store_font(request: Request, upload: UploadFile, family: str | None) -> FontRecord:
    server = backend(request)
    temp = server.blobs.temp_path("font.ttf")
    try:
        size = await _save(upload, temp, server.config.max_font_bytes)
        name = family.strip() if family and family.strip() else _family(temp)
        font_id = new_id()
        font = FontRecord(font_id, name, Path(str(upload.filename)).name, now(), f"fonts/{font_id}.ttf", size)
        server.blobs.commit(temp, font.blob)
    finally:
        temp.unlink(missing_ok=True)
    return font


def _limited(request: Request, limit: int) -> Request:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiProblem(413, "Font file exceeds 40 MiB")
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise ApiProblem(413, "Font file exceeds 40 MiB")
        return message

    return Request(request.scope, receive)


async def _save(upload: UploadFile, temp: Path, limit: int) -> int:
    size = 0
    with temp.open("wb") as out:
        while chunk := await upload.read(1024 * 1024):
            size += len(chunk)
            if size > limit:
                raise ApiProblem(413, "Font file exceeds 40 MiB")
            out.write(chunk)
    with temp.open("rb") as f:
        if not f.read(4).startswith(TTF_MAGICS):
            raise bad_request("The file is not a TrueType font")
    return size


def _family(path: Path) -> str:
    from PIL import ImageFont

    try:
        family = ImageFont.truetype(str(path), 12).getname()[0]
    except OSError:
        raise bad_request("The file is not a readable TrueType font") from None
    return family or path.stem


async def list_fonts(request: Request) -> Response:
    return reply([font_doc(f) for f in backend(request).store.list_fonts()])


def _font(request: Request) -> FontRecord:
    font = backend(request).store.get_font(request.path_params["id"])
    if font is None:
        raise not_found("Font")
    return font


async def get_font(request: Request) -> Response:
    return reply(font_doc(_font(request)))


async def delete_font(request: Request) -> Response:
    font = _font(request)
    server = backend(request)
    if server.store.jobs_using_font(font.file_name):
        raise conflict("Font is in use by active jobs")
    server.store.delete_font(font.id)
    server.blobs.delete(font.blob)
    return Response(status_code=204)


async def list_secrets(request: Request) -> Response:
    return reply([secret_doc(s) for s in backend(request).store.list_secrets()])


async def create_secret(request: Request) -> Response:
    name, value = payloads.secret_creation(await read_json(request))
    secret = SecretRecord(new_id(), name, now())
    try:
        backend(request).store.insert_secret(secret, value)
    except DuplicateName:
        raise conflict(f"Secret '{name}' already exists", "SECRET_ALREADY_EXISTS") from None
    return reply(secret_doc(secret), 201)


async def delete_secret(request: Request) -> Response:
    if not backend(request).store.delete_secret(request.path_params["id"]):
        raise not_found("Secret")
    return Response(status_code=200)


ROUTES = [
    Route(f"{API_PREFIX}/fonts", create_font, methods=["POST"]),
    Route(f"{API_PREFIX}/fonts", list_fonts, methods=["GET"]),
    Route(f"{API_PREFIX}/fonts/{{id}}", get_font, methods=["GET"]),
    Route(f"{API_PREFIX}/fonts/{{id}}", delete_font, methods=["DELETE"]),
    Route(f"{API_PREFIX}/secrets", list_secrets, methods=["GET"]),
    Route(f"{API_PREFIX}/secrets", create_secret, methods=["PUT"]),
    Route(f"{API_PREFIX}/secrets/{{id}}", delete_secret, methods=["DELETE"]),
]
