"""Running the local backend under uvicorn: in the foreground (``nexspec serve``) or embedded,
in a background thread on an ephemeral loopback port, for ``nexspec apply`` and tests::

    with start_embedded(data_dir=Path(".nexspec"), render_fast=True) as server:
        server.base_url   # http://127.0.0.1:PORT/api/v2
        server.token

Leaving the ``with`` block stops uvicorn, the dispatcher and every worker process.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nexspec.errors import BackendError
from nexspec.protocol import API_PREFIX
from nexspec.server.config import Faults, ServerConfig, default_workers, parse_faults
from nexspec.server.keys import data_dir_token, instance_id, preferred_port, remember_port

STARTUP_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class EmbeddedServer:
    """A running local backend: ``base_url`` is the API root a cloud client is given."""

    base_url: str
    root_url: str
    token: str
    data_dir: Path
    port: int
    instance: str = ""


def resolve_token(config: ServerConfig) -> tuple[str, bool]:
    """The token to require: the configured one, else the data dir's (created when missing).

    The flag says whether a new token was just created.
    """
    if config.token:
        return config.token, False
    return data_dir_token(config.data_dir)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # With the protocol named, asyncio turns Nagle off on accepted connections; without it,
    # a response's body waits ~40 ms behind its headers for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise BackendError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class ServerRunner:
    """uvicorn serving the backend app on an already bound socket."""

    def __init__(self, config: ServerConfig, token: str) -> None:
        import uvicorn

        from nexspec.server.app import make_app
        from nexspec.server.backend import Backend
        from nexspec.server.faults import abortable_protocol

        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket = bind(config.host, config.port)
        self.port = int(self.socket.getsockname()[1])
        self.config = replace(config, port=self.port)
        self.backend = Backend(self.config, token=token)
        app = make_app(self.backend)
        settings = uvicorn.Config(
            app,
            http=abortable_protocol(),
            lifespan="on",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
            timeout_keep_alive=30,
        )
        self.server = uvicorn.Server(settings)

    @property
    def root_url(self) -> str:
        host = self.config.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def run(self) -> None:
        """Serve until stopped (Ctrl-C in the foreground, ``stop`` from another thread)."""
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self.socket.close()

    def stop(self) -> None:
        self.server.should_exit = True


@contextmanager
def start_embedded(
    data_dir: Path,
    token: str | None = None,
    workers: int | None = None,
    faults: Faults | str | None = None,
    render_fast: bool = False,
    **settings: Any,
) -> Iterator[EmbeddedServer]:
    """Start the local backend on ``127.0.0.1:<free port>`` in this process, until the block ends.

    ``settings`` are further ``ServerConfig`` fields (``webhook_base_delay``,
    ``max_upload_bytes``, ...).
    """
    config = ServerConfig(
        data_dir=Path(data_dir),
        host="127.0.0.1",
        port=0,
        token=token,
        workers=workers or default_workers(),
        faults=faults if isinstance(faults, Faults) else parse_faults(faults),
        render_fast=render_fast,
        **settings,
    )
    secret, _ = resolve_token(config)
    runner = _runner(config, secret)
    remember_port(config.data_dir, runner.port)
    thread = threading.Thread(target=runner.run, name="nexspec-embedded-server", daemon=True)
    thread.start()
    try:
        _wait_started(runner, thread)
        yield EmbeddedServer(
            base_url=runner.root_url + API_PREFIX,
            root_url=runner.root_url,
            token=secret,
            data_dir=config.data_dir,
            port=runner.port,
            instance=instance_id(config.data_dir),
        )
    finally:
        runner.stop()
        thread.join(SHUTDOWN_TIMEOUT)


def _runner(config: ServerConfig, secret: str) -> ServerRunner:
    """A runner on the port this data dir used last time if it is free, else on any port."""
    preferred = preferred_port(config.data_dir)
    if preferred:
        try:
            return ServerRunner(replace(config, port=preferred), secret)
        except BackendError:
            pass
    return ServerRunner(config, secret)


def _wait_started(runner: ServerRunner, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not runner.server.started:
        if not thread.is_alive():
            raise BackendError("the local backend failed to start; see the log above")
        if time.monotonic() > deadline:
            runner.stop()
            raise BackendError("the local backend did not start in time")
        time.sleep(0.01)


def serve_forever(config: ServerConfig, token: str, on_ready: Callable[[str], None]) -> None:
    """Serve in the foreground until interrupted; ``on_ready`` gets the root URL first."""
    runner = ServerRunner(config, token)
    on_ready(runner.root_url)
    runner.run()
