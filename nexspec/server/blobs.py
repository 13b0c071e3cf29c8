"""The blob folder and the presigned URLs that reach it.

Files live under ``<data>/blobs/<key>``; a write streams into ``<data>/tmp`` and is renamed
into place only when complete, so a crash never leaves a partial file visible under its key.
Storage URLs are signed, S3-style, with an HMAC over method, key, signing time and expiry.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import os
import re
import shutil
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from nexspec.server.problems import StorageProblem
from nexspec.server.stamps import new_id

_ULID = r"[0-9A-HJKMNP-TV-Z]{26}"
KEY_PATTERN = re.compile(
    rf"^(templates/{_ULID}/{_ULID}|outputs/{_ULID}\.(mp4|png|jpg|zip)|fonts/{_ULID}\.ttf)$"
)
STORAGE_PREFIX = "/_storage/"
WRITE_BLOCK = 4 * 1024 * 1024
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
# The storage routes accept no request header in the x-amz- family: like the real bucket,
# whose presigned URLs sign only `host`, they refuse unsigned security headers.
SIGNED_PARAMS = ("X-Amz-Date", "X-Amz-Expires", "x-amz-meta-templateid", "X-Amz-Signature")


class TooLarge(Exception):
    """A streamed body went past its size limit; nothing was kept."""


def check_key(key: str) -> str:
    if not KEY_PATTERN.match(key):
        raise StorageProblem(400, "InvalidURI", "Couldn't parse the specified URI.", key)
    return key


class BlobStore:
    """Files by storage key, written atomically."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "blobs"
        self.temp = data_dir / "tmp"
        self.root.mkdir(parents=True, exist_ok=True)
        self.temp.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def temp_path(self, name: str = "upload.part") -> Path:
        """A fresh path in the temp folder ending in ``name`` (encoders go by the suffix)."""
        return self.temp / f"{new_id()}-{name}"

    def clear_temp(self) -> None:
        """Partial writes left by a crash are never resumed: drop them."""
        for entry in self.temp.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    def commit(self, temp: Path, key: str) -> None:
        """Move a complete file from the temp folder to ``key``."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)

    async def write_stream(self, key: str, chunks: AsyncIterator[bytes], limit: int) -> int:
        """Stream ``chunks`` to ``key``; ``TooLarge`` (nothing kept) past ``limit`` bytes.

        Bytes are gathered into blocks written by a thread while the next block arrives, so
        the disk and the HTTP parser work side by side; at most two blocks are held.
        """
        temp = self.temp_path()
        try:
            with temp.open("wb", buffering=0) as out:
                size = await _pipe(chunks, functools.partial(_write_all, out.fileno()), key, limit)
            self.commit(temp, key)
        finally:
            temp.unlink(missing_ok=True)
        return size

    def delete(self, key: str) -> None:
        with suppress(FileNotFoundError):
            self.path(key).unlink()

    def delete_folder(self, prefix: str) -> None:
        """Every blob under ``templates/<id>``; ``prefix`` is never user-supplied."""
        folder = (self.root / prefix).resolve()
        if folder.is_relative_to(self.root.resolve()) and folder != self.root.resolve():
            shutil.rmtree(folder, ignore_errors=True)


async def _pipe(
    chunks: AsyncIterator[bytes], write: Callable[[list[bytes]], object], key: str, limit: int
) -> int:
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[object] | None = None
    block: list[bytes] = []
    held = size = 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise TooLarge(key)
            block.append(chunk)
            held += len(chunk)
            if held >= WRITE_BLOCK:
                if pending is not None:
                    await pending
                pending = loop.run_in_executor(None, write, block)
                block, held = [], 0
    finally:
        if pending is not None:
            await pending
    write(block)
    return size


def _write_all(fd: int, parts: list[bytes]) -> None:
    """Write every part, in order, without joining them first."""
    for part in parts:
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view) :]


@dataclass(frozen=True, slots=True)
class SignedUrl:
    path_and_query: str
    expires_in: int | None


class UrlSigner:
    """Signs and checks storage URLs; the bearer token plays no part in them."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(
        self,
        method: str,
        key: str,
        *,
        issued: int,
        expires_in: int | None,
        template_id: str | None = None,
    ) -> SignedUrl:
        date = datetime.fromtimestamp(issued, UTC).strftime(_AMZ_DATE)
        params = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD",
            "X-Amz-Credential": f"nexspec-local/{date[:8]}/local/s3/aws4_request",
            "X-Amz-Date": date,
        }
        if expires_in is not None:
            params["X-Amz-Expires"] = str(expires_in)
        params["X-Amz-SignedHeaders"] = "host"
        if template_id is not None:
            params["x-amz-meta-templateid"] = template_id
        params["x-id"] = "PutObject" if method == "PUT" else "GetObject"
        params["X-Amz-Signature"] = self._mac(method, key, params)
        return SignedUrl(f"{STORAGE_PREFIX}{key}?{urlencode(params)}", expires_in)

    def verify(self, method: str, key: str, query: Mapping[str, str], *, now: float | None = None) -> None:
        """Raise the bucket's 403 unless ``query`` is a valid, unexpired signature of ``key``."""
        given = query.get("X-Amz-Signature")
        if not given or "X-Amz-Date" not in query:
            raise StorageProblem(
                403, "AccessDenied", "Query-string authentication requires a signature.", key
            )
        if not hmac.compare_digest(given, self._mac(method, key, query)):
            raise StorageProblem(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
                key,
            )
        expiry = _expiry(query)
        if expiry is not None and (now if now is not None else time.time()) > expiry:
            raise StorageProblem(403, "AccessDenied", "Request has expired", key)

    def _mac(self, method: str, key: str, params: Mapping[str, str]) -> str:
        signed = "\n".join([method, key, *(f"{n}={params.get(n, '')}" for n in SIGNED_PARAMS[:-1])])
        return hmac.new(self._key, signed.encode(), hashlib.sha256).hexdigest()


def _expiry(query: Mapping[str, str]) -> float | None:
    if "X-Amz-Expires" not in query:
        return None
    try:
        issued = datetime.strptime(query["X-Amz-Date"], _AMZ_DATE).replace(tzinfo=UTC)
        return issued.timestamp() + int(query["X-Amz-Expires"])
    except ValueError:
        return 0.0
