"""``nexspec serve``: run the local backend in the foreground until interrupted.

Binds to loopback unless told otherwise, and says so loudly when told otherwise. The token
comes from ``--token``, then ``NEXSPEC_SERVE_TOKEN``, then the data dir (created with mode
0600 on first start); it is never printed, only where to find it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from nexspec.errors import UsageError
from nexspec.protocol import API_PREFIX


def serve(
    *,
    host: str,
    port: int,
    data_dir: Path | None,
    token: str | None,
    workers: int | None,
    faults: str | None,
    render_fast: bool,
    max_upload_bytes: int | None,
    echo: Callable[[str], None],
    warn: Callable[[str], None],
    environ: Mapping[str, str] = os.environ,
) -> int:
    """Serve until Ctrl-C; ``echo`` and ``warn`` print to stdout and stderr. Returns the exit code."""
    from nexspec.server.config import (
        TOKEN_ENV,
        ServerConfig,
        default_data_dir,
        default_workers,
        is_loopback,
        parse_faults,
    )
    from nexspec.server.embedded import resolve_token, serve_forever
    from nexspec.server.keys import TOKEN_FILE

    try:
        config = ServerConfig(
            data_dir=(data_dir or default_data_dir()).expanduser(),
            host=host,
            port=port,
            token=token or environ.get(TOKEN_ENV) or None,
            workers=workers or default_workers(),
            faults=parse_faults(faults),
            render_fast=render_fast,
        )
        if max_upload_bytes:
            config = replace(config, max_upload_bytes=max_upload_bytes)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not is_loopback(host):
        warn(
            f"WARNING: listening on {host}, not loopback: other machines can reach this server. "
            "Anyone holding the token can upload files and read any file:// asset this user can."
        )
    secret, created = resolve_token(config)
    token_help = _token_help(config.data_dir / TOKEN_FILE, token_given=bool(config.token), created=created)

    def ready(root_url: str) -> None:
        echo(f"nexspec local backend: {root_url}{API_PREFIX}")
        echo(f"  data:    {config.data_dir}")
        echo(f"  workers: {config.workers}" + (" (fast renders)" if render_fast else ""))
        if config.faults.active:
            echo(f"  faults:  {config.faults.describe()} (on /api routes)")
        for line in token_help:
            echo(line)
        echo(f"  export NEXRENDER_BASE_URL={root_url}{API_PREFIX}")
        echo("Press Ctrl-C to stop.")

    # uvicorn re-raises the Ctrl-C it handled; by then everything has stopped cleanly.
    with contextlib.suppress(KeyboardInterrupt):
        serve_forever(config, secret, ready)
    echo("nexspec local backend stopped.")
    return 0


def _token_help(path: Path, *, token_given: bool, created: bool) -> list[str]:
    if token_given:
        return ["  token:   the one given (--token or NEXSPEC_SERVE_TOKEN); export it as NEXRENDER_API_KEY"]
    state = "created" if created else "stored"
    return [
        f"  token:   {state} in {path} (mode 0600)",
        f'  export NEXRENDER_API_KEY="$(cat {path})"',
    ]
