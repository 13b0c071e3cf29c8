"""The storage the presigned URLs point at: PUT a template file, GET a template or an output.

It behaves like the cloud's bucket, not like the API: no bearer token (one sent is refused),
S3-style XML errors, unsigned ``x-amz-*`` headers refused, bodies streamed to disk.
"""

from __future__ import annotations

import hashlib
import mimetypes

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from nexspec.server.blobs import STORAGE_PREFIX, TooLarge, check_key
from nexspec.server.problems import StorageProblem
from nexspec.server.web import backend

_OUTPUT_TYPES = {"mp4": "video/mp4", "png": "image/png", "jpg": "image/jpeg", "zip": "application/zip"}


def _check_headers(request: Request, key: str) -> None:
    if "authorization" in request.headers:
        raise StorageProblem(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified",
            key,
        )
    unsigned = sorted(name for name in request.headers if name.lower().startswith("x-amz-"))
    if unsigned:
        raise StorageProblem(
            400,
            "MalformedSecurityHeader",
            f"Your request has a malformed header: {unsigned[0]} is not signed.",
            key,
        )


async def put_object(request: Request) -> Response:
    server = backend(request)
    key = check_key(request.path_params["key"])
    _check_headers(request, key)
    server.signer.verify("PUT", key, request.query_params)
    parts = key.split("/")
    if parts[0] != "templates" or not server.templates.is_current_upload(parts[1], parts[2]):
        raise StorageProblem(403, "AccessDenied", "This upload URL is no longer valid", key)
    limit = server.config.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(key, limit)
    try:
        size = await server.blobs.write_stream(key, request.stream(), limit)
    except TooLarge:
        raise _too_large(key, limit) from None
    server.templates.accept_upload(parts[1], parts[2], size)
    etag = hashlib.md5(f"{key}:{size}".encode(), usedforsecurity=False).hexdigest()
    return Response(status_code=200, headers={"ETag": f'"{etag}"'})


def _too_large(key: str, limit: int) -> StorageProblem:
    return StorageProblem(
        400, "EntityTooLarge", f"Your proposed upload exceeds the maximum allowed size ({limit} bytes)", key
    )


async def get_object(request: Request) -> Response:
    server = backend(request)
    key = check_key(request.path_params["key"])
    _check_headers(request, key)
    server.signer.verify("GET", key, request.query_params)
    path = server.blobs.path(key)
    if not path.is_file():
        raise StorageProblem(404, "NoSuchKey", "The specified key does not exist.", key)
    suffix = key.rsplit(".", 1)[-1] if "." in key else ""
    media = _OUTPUT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media)


ROUTES = [
    Route(f"{STORAGE_PREFIX}{{key:path}}", put_object, methods=["PUT"]),
    Route(f"{STORAGE_PREFIX}{{key:path}}", get_object, methods=["GET", "HEAD"]),
]
