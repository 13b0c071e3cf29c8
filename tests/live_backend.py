"""``nexspec serve`` and ``nexspec`` commands as real processes, and what the server holds.

``running_server`` starts ``python -m nexspec serve`` on a free loopback port and stops it
(SIGINT, then SIGKILL of its process group) whatever happens. ``server_jobs`` lists every job
through the API, retrying what a faulty server refuses. ``write_project`` writes a project
with one tiny Lottie template and a ``foreach`` over an inline list of rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from nexspec.protocol import IDEMPOTENCY_TAG_PREFIX

# Upper bounds that only keep a hung process from hanging the suite; never speed assertions.
STARTUP_LIMIT = 60.0
COMMAND_LIMIT = 240.0
TRANSIENT = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[bytes]
    api_url: str
    root_url: str
    token: str
    data_dir: Path
    log: Path

    def metrics(self) -> dict[str, int]:
        counts: dict[str, int] = httpx.get(self.root_url + "/_nexspec/metrics", timeout=30).json()["requests"]
        return counts


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without nexspec's own settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEXRENDER_", "NEXSPEC_")) and k != "CI"}
    env.update(extra)
    return env


@contextlib.contextmanager
def running_server(
    data_dir: Path, *, token: str, faults: str | None = None, workers: int = 2
) -> Iterator[Server]:
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"{data_dir.name}.serve.log"
    args = [sys.executable, "-m", "nexspec", "serve", "--port", "0", "--data", str(data_dir)]
    args += ["--render-fast", "--workers", str(workers)]
    if faults:
        args += ["--faults", faults]
    with log.open("wb") as out:
        process = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=clean_env(NEXSPEC_SERVE_TOKEN=token),
            start_new_session=True,
        )
    try:
        api_url = _await_ready(process, log)
        yield Server(process, api_url, api_url.removesuffix("/api/v2"), token, data_dir, log)
    finally:
        _stop(process)


def _await_ready(process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + STARTUP_LIMIT
    while True:
        text = log.read_text(encoding="utf-8", errors="replace")
        found = re.search(r"^nexspec local backend: (\S+)$", text, re.MULTILINE)
        if found and "Press Ctrl-C" in text:
            return found[1]
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"nexspec serve did not start (exit {process.returncode}):\n{text}")
        time.sleep(0.02)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a user stops it; a server that does not stop loses its whole session."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        # Not reaped yet, so the group is still this server's: its render workers go with it.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


def server_jobs(server: Server) -> list[dict[str, Any]]:
    """Every job the server holds (all pages), asked until a faulty server answers."""
    jobs: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.api_url, headers=headers, timeout=30) as http:
        while True:
            page = _get_retrying(http, "/jobs", {"from": len(jobs), "limit": 1000, "sort": "oldest_first"})
            jobs += page
            if len(page) < 1000:
                return jobs


def _get_retrying(http: httpx.Client, path: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    for _ in range(200):
        try:
            response = http.get(path, params=params)
        except httpx.TransportError:
            time.sleep(0.05)
            continue
        if response.status_code in TRANSIENT:
            time.sleep(0.05)
            continue
        response.raise_for_status()
        body: list[dict[str, Any]] = response.json()
        return body
    raise AssertionError(f"GET {path} kept failing")


def idempotency_prefix(fingerprint: str) -> str:
    """The part of a job's idempotency tag that is the same for every attempt."""
    return f"{IDEMPOTENCY_TAG_PREFIX}{fingerprint.removeprefix('sha256:')[:20]}-"


def idempotency_tags(job: Mapping[str, Any]) -> list[str]:
    return [
        t
        for t in job.get("tags") or ()
        if t.startswith(IDEMPOTENCY_TAG_PREFIX) and not t.startswith("nxs-p-")
    ]


def jobs_by_prefix(jobs: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for job in jobs:
        for tag in idempotency_tags(job):
            grouped.setdefault(tag.rsplit("-", 1)[0] + "-", []).append(job)
    return grouped


def stored_rows(data_dir: Path, sql: str) -> list[sqlite3.Row]:
    """Rows of the server's own database, read-only (the server keeps running)."""
    db = sqlite3.connect(f"file:{data_dir / 'nexspec.db'}?mode=ro", uri=True, timeout=30)
    try:
        db.row_factory = sqlite3.Row
        return list(db.execute(sql))
    finally:
        db.close()


# --- projects ------------------------------------------------------------------------------


def _text_layer(name: str, index: int, y: int) -> dict[str, Any]:
    style = {"s": 24, "f": "DejaVuSans", "t": name, "j": 2, "tr": 0, "lh": 28.8, "ls": 0, "fc": [1, 1, 1]}
    text = {"d": {"k": [{"s": style, "t": 0}]}, "p": {}, "m": {"g": 1, "a": {"a": 0, "k": [0, 0]}}, "a": []}
    return {**_layer(5, name, index), "ks": _transform(160, y), "t": text}


def _layer(kind: int, name: str, index: int) -> dict[str, Any]:
    return {"ddd": 0, "ind": index, "ty": kind, "nm": name, "ao": 0, "ip": 0, "op": 5, "st": 0, "bm": 0}


def _transform(x: int, y: int) -> dict[str, Any]:
    static = {"o": 100, "r": 0, "p": [x, y, 0], "a": [0, 0, 0], "s": [100, 100, 100]}
    return {key: {"a": 0, "k": value} for key, value in static.items()}


def lottie_template() -> bytes:
    """A 160x90, five-frame composition ``main``: texts ``title`` and ``subtitle`` over a solid."""
    background = {**_layer(1, "background", 3), "ks": _transform(0, 0), "sc": "#203040", "sw": 160, "sh": 90}
    font = {"fName": "DejaVuSans", "fFamily": "DejaVu Sans", "fStyle": "Book", "ascent": 75}
    document = {
        "v": "5.7.4", "fr": 25, "ip": 0, "op": 5, "w": 160, "h": 90, "nm": "main", "ddd": 0,
        "assets": [], "markers": [], "fonts": {"list": [font]},
        "layers": [_text_layer("title", 1, 40), _text_layer("subtitle", 2, 70), background],
    }  # fmt: skip
    return json.dumps(document).encode()


def write_project(
    root: Path,
    rows: int,
    *,
    label: str,
    env: Sequence[str] = (),
    defaults: Mapping[str, Any] | None = None,
    template: bytes | None = None,
) -> Path:
    """A project rendering ``rows`` jobs ``clip-000``... whose titles carry ``label``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "promo.json").write_bytes(template or lottie_template())
    spec: dict[str, Any] = {
        "version": 1,
        "templates": {"promo": {"path": "promo.json", "composition": "main"}},
        "jobs": {
            "clip-{{ row.n }}": {
                "template": "promo",
                "foreach": [{"n": f"{i:03d}", "title": f"{label} #{i}"} for i in range(rows)],
                "assets": [{"type": "text", "layerName": "title", "value": "{{ row.title }}"}],
            }
        },
    }
    if env:
        spec["env"] = list(env)
    if defaults:
        spec["defaults"] = dict(defaults)
    (root / "nexspec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return root


def nexspec(
    *args: str, cwd: Path, env: Mapping[str, str], check_limit: float = COMMAND_LIMIT
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m nexspec ARGS`` to completion, capturing stdout and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "nexspec", *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=check_limit,
        check=False,
    )
