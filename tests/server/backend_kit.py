"""Helpers for the local backend's contract tests: plain httpx against a real server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
from lottie_docs import lottie_bytes

from nexspec.server.embedded import EmbeddedServer

TOKEN = "test-token-0123456789"
TERMINAL = {"finished", "error", "manually_cancelled"}
WAIT_SECONDS = 60.0  # an upper bound for polling loops, never an assertion about speed


def client(server: EmbeddedServer, token: str | None = TOKEN) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=30)


def wait_until(probe: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting; last value: {value!r}")
        time.sleep(0.02)


def upload_template(
    api: httpx.Client, data: bytes | None = None, *, kind: str = "lottie", name: str = "promo"
) -> dict[str, Any]:
    """Create a template, PUT its file to the presigned URL, wait until processed."""
    created = api.post("/templates", json={"type": kind, "displayName": name})
    assert created.status_code == 201, created.text
    info = created.json()["uploadInfo"]
    put = httpx.put(
        info["url"],
        content=lottie_bytes() if data is None else data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert put.status_code == 200, put.text
    return wait_template(api, created.json()["id"])


def wait_template(api: httpx.Client, template_id: str) -> dict[str, Any]:
    return wait_until(
        lambda: api.get(f"/templates/{template_id}").json(),
        lambda t: t["status"] in ("uploaded", "error"),
    )


def wait_job(api: httpx.Client, job_id: str, states: set[str] = TERMINAL) -> dict[str, Any]:
    return wait_until(lambda: api.get(f"/jobs/{job_id}").json(), lambda j: j["status"] in states)


def job_for(template_id: str, **extra: Any) -> dict[str, Any]:
    return {"template": {"id": template_id, "composition": "main"}, **extra}


@dataclass
class Peer:
    """A loopback HTTP server: serves files, holds requests on a gate, records webhooks."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    gate: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)
    calls: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers for webhook calls, in order

    def wait_calls(self, count: int) -> list[dict[str, Any]]:
        return wait_until(lambda: list(self.calls), lambda calls: len(calls) >= count)


def peer_handler(peer: Peer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path.startswith("/hold"):
                peer.held.set()
                peer.gate.wait(WAIT_SECONDS)
            name = self.path.split("?")[0].rsplit("/", 1)[-1]
            data = peer.files.get(name)
            if data is None:
                self.send_response(404 if not self.path.startswith("/status/") else int(name))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            peer.calls.append(
                {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
            )
            status = peer.statuses.pop(0) if peer.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_PUT = do_DELETE = _record

    return Handler
