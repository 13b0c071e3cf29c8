"""Choosing and opening a backend: Nexrender Cloud, any compatible server, or the embedded one.

The default is the Cloud when ``NEXRENDER_API_KEY`` is set, otherwise the embedded local
backend (announced in one line). In CI with no key and no explicit ``--backend local``
the choice fails instead of silently rendering on the CI runner.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from nexspec.client import ApiClient
from nexspec.errors import BackendError, UsageError
from nexspec.protocol import DEFAULT_CLOUD_URL

LOCAL = "local"
API_KEY_VARIABLE = "NEXRENDER_API_KEY"
BASE_URL_VARIABLE = "NEXRENDER_BASE_URL"


@dataclass(frozen=True, slots=True)
class BackendChoice:
    """Which backend a command talks to; ``key`` scopes the lock (``local`` or the base URL)."""

    kind: str  # "cloud" or "local"
    key: str
    url: str | None = None
    announcement: str | None = None

    @property
    def is_local(self) -> bool:
        return self.kind == LOCAL

    @property
    def on_this_machine(self) -> bool:
        """Whether the backend can read this machine's files (the embedded one, or loopback)."""
        return self.is_local or _is_loopback(self.url or "")


@dataclass(frozen=True, slots=True)
class Connection:
    choice: BackendChoice
    client: ApiClient
    file_url: Callable[[str], str] | None
    instance: str = ""  # the local backend's data dir identity (see BackendLock.instance)


def choose_backend(*, backend: str | None, api_url: str | None, environ: Mapping[str, str]) -> BackendChoice:
    key = environ.get(API_KEY_VARIABLE, "")
    if backend == LOCAL:
        return BackendChoice(LOCAL, LOCAL)
    url = (api_url or environ.get(BASE_URL_VARIABLE) or DEFAULT_CLOUD_URL).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--api-url must be an http(s) URL, not '{url}'")
    if backend == "cloud" or key:
        return BackendChoice("cloud", url, url)
    if environ.get("CI"):
        raise BackendError(
            f"CI is set and {API_KEY_VARIABLE} is not: refusing to render on the CI runner by surprise; "
            f"set {API_KEY_VARIABLE} to use Nexrender Cloud, or pass --backend local to render here"
        )
    note = f"{API_KEY_VARIABLE} is not set: using the embedded local backend (data in .nexspec/server)"
    return BackendChoice(LOCAL, LOCAL, announcement=note)


@contextmanager
def connect(
    choice: BackendChoice,
    root: Path,
    environ: Mapping[str, str],
    *,
    faults: str | None = None,
    render_fast: bool = False,
    workers: int | None = None,
) -> Iterator[Connection]:
    """An API client for the chosen backend, starting the embedded server when it is local."""
    if choice.is_local:
        with _embedded(root, faults=faults, render_fast=render_fast, workers=workers) as (client, instance):
            yield Connection(choice, client, _file_url(root), instance)
        return
    key = environ.get(API_KEY_VARIABLE)
    if not key:
        raise BackendError(f"{API_KEY_VARIABLE} is not set; it holds the API token for {choice.url}")
    assert choice.url is not None
    with ApiClient.connect(choice.url, key) as client:
        yield Connection(choice, client, _file_url(root) if choice.on_this_machine else None)


@contextmanager
def _embedded(
    root: Path, *, faults: str | None, render_fast: bool, workers: int | None
) -> Iterator[tuple[ApiClient, str]]:
    from nexspec.server.embedded import start_embedded

    with (
        start_embedded(
            data_dir=local_data_dir(root), faults=faults, render_fast=render_fast, workers=workers
        ) as server,
        ApiClient.connect(server.base_url, server.token) as client,
    ):
        yield client, server.instance


def local_data_dir(root: Path) -> Path:
    return root / ".nexspec" / "server"


def local_instance(root: Path) -> str | None:
    """The embedded backend's data dir identity for this project, if it ever started."""
    from nexspec.server.keys import read_instance

    return read_instance(local_data_dir(root))


def _file_url(root: Path) -> Callable[[str], str]:
    def url(relpath: str) -> str:
        return (root / relpath).resolve().as_uri()

    return url


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
