"""Fetching a job's (or a template's) ``src`` to a local file before rendering.

``http(s)://`` with httpx, ``file://`` used in place (nexspec submits project files to the
local backend that way), and ``data:`` URIs. Failures read as the cloud words them:
``Asset failed to download (403)``.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, unquote_to_bytes, urlsplit
from urllib.request import url2pathname

from nexspec.errors import RenderError

CHUNK_BYTES = 1024 * 1024
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class FetchLimits:
    max_bytes: int
    timeout: float


def download_error(reason: object) -> RenderError:
    return RenderError(f"Asset failed to download ({reason})")


def fetch(src: str, folder: Path, stem: str, limits: FetchLimits) -> Path:
    """A local file holding ``src``'s bytes; ``file://`` sources are used where they are."""
    scheme = src.split(":", 1)[0].lower() if ":" in src else ""
    if scheme in ("http", "https"):
        return _fetch_http(src, folder / _name(stem, _url_suffix(src)), limits)
    if scheme == "file":
        return _local_file(src)
    if scheme == "data":
        return _fetch_data(src, folder, stem, limits)
    raise download_error(f"unsupported URL scheme '{scheme or src[:16]}'")


def _name(stem: str, suffix: str) -> str:
    return _SAFE_NAME.sub("_", stem)[:80] + suffix


def _url_suffix(url: str) -> str:
    suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix
    return suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", suffix) else ""


def _fetch_http(url: str, target: Path, limits: FetchLimits) -> Path:
    import httpx

    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=limits.timeout) as response:
            if response.status_code >= 400:
                raise download_error(response.status_code)
            _copy_limited(response.iter_bytes(CHUNK_BYTES), target, limits.max_bytes)
    except httpx.HTTPError as exc:
        raise download_error(type(exc).__name__) from None
    return target


def _copy_limited(chunks: object, target: Path, limit: int) -> None:
    size = 0
    with target.open("wb") as out:
        for chunk in chunks:  # type: ignore[attr-defined]
            size += len(chunk)
            if size > limit:
                raise download_error(f"larger than {limit:,} bytes")
            out.write(chunk)


def _local_file(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise download_error(f"file URL on another host '{parts.netloc}'")
    path = Path(url2pathname(parts.path))
    if not path.is_absolute() or not path.is_file():
        raise download_error("file not found")
    return path


def _fetch_data(uri: str, folder: Path, stem: str, limits: FetchLimits) -> Path:
    header, comma, data = uri[5:].partition(",")
    if not comma:
        raise download_error("malformed data URI")
    media, _, encoding = header.partition(";")
    try:
        content = base64.b64decode(data, validate=False) if encoding.endswith("base64") else (
            unquote_to_bytes(data)
        )  # fmt: skip
    except ValueError:
        raise download_error("malformed data URI") from None
    if len(content) > limits.max_bytes:
        raise download_error(f"larger than {limits.max_bytes:,} bytes")
    suffix = mimetypes.guess_extension(media.strip() or "text/plain") or ""
    target = folder / _name(stem, suffix)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return target
