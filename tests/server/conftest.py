"""Fixtures for the local backend's contract tests: real servers on loopback, plain httpx."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from backend_kit import TOKEN, Peer, client, peer_handler, upload_template

from nexspec.server.embedded import EmbeddedServer, start_embedded


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    data = tmp_path_factory.mktemp("server")
    with start_embedded(
        data, token=TOKEN, workers=2, webhook_base_delay=0.05, max_upload_bytes=4 * 1024**2
    ) as running:
        yield running


@pytest.fixture
def api(server: EmbeddedServer) -> Iterator[httpx.Client]:
    with client(server) as http:
        yield http


@pytest.fixture
def v3(server: EmbeddedServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=server.root_url + "/api/v3", headers=headers, timeout=30) as http:
        yield http


@pytest.fixture(scope="session")
def template(server: EmbeddedServer) -> dict[str, Any]:
    with client(server) as http:
        uploaded = upload_template(http)
    assert uploaded["status"] == "uploaded", uploaded
    return uploaded


# --- a small loopback HTTP server the backend fetches from and calls back ----------------------


@pytest.fixture
def peer() -> Iterator[Peer]:
    state = Peer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), peer_handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    state.gate.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
