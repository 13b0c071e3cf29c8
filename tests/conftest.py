"""Shared fixtures: a clean environment, projects written into ``tmp_path``, real templates.

The standard Lottie template (``promo.json``) is 320x180 at 25 fps: composition ``main``
holds text layers ``title`` and ``subtitle``, an image layer ``logo``, a solid
``background`` and a precomp layer ``intro layer`` showing composition ``intro``, which
holds the text layer ``caption``.
"""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from nexspec.server.embedded import EmbeddedServer

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples"
SCRUBBED_PREFIXES = ("NEXRENDER_", "NEXSPEC_")
SCRUBBED_NAMES = {"CI"}
LOCAL_TOKEN = "local-server-token-0123456789"

MakeProject = Callable[..., Path]


def _layer(ty: int, name: str, **extra: Any) -> dict[str, Any]:
    return {"ty": ty, "nm": name, "ip": 0, "op": 50, "st": 0, **extra}


def lottie_document() -> dict[str, Any]:
    return {
        "v": "5.7.4", "fr": 25, "ip": 0, "op": 50, "w": 320, "h": 180, "nm": "main",
        "assets": [
            {"id": "logo_image", "w": 40, "h": 40, "u": "", "p": "logo.png", "e": 0},
            {"id": "comp_intro", "nm": "intro", "layers": [_layer(5, "caption")]},
        ],
        "layers": [
            _layer(0, "intro layer", refId="comp_intro", w=320, h=180),
            _layer(5, "title"),
            _layer(5, "subtitle"),
            _layer(2, "logo", refId="logo_image"),
            _layer(1, "background", sc="#202040", sw=320, sh=180),
        ],
    }  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the caller's API keys, nexspec settings or CI markers."""
    for name in list(os.environ):
        if name.startswith(SCRUBBED_PREFIXES) or name in SCRUBBED_NAMES:
            monkeypatch.delenv(name)


@pytest.fixture
def project(tmp_path: Path) -> MakeProject:
    """Writes a project under ``tmp_path/project`` and returns its root.

    ``spec`` is the text of ``nexspec.yaml`` (dedented); ``files`` maps project-relative
    paths to text or bytes. ``promo.json`` is the standard Lottie template unless
    ``files`` gives it other contents.
    """

    def make(spec: str, files: dict[str, str | bytes] | None = None) -> Path:
        root = tmp_path / "project"
        root.mkdir(exist_ok=True)
        contents: dict[str, str | bytes] = {"promo.json": json.dumps(lottie_document())}
        contents.update(files or {})
        contents["nexspec.yaml"] = textwrap.dedent(spec)
        for name, data in contents.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                path.write_bytes(data)
            else:
                path.write_text(data, encoding="utf-8")
        return root

    return make


@pytest.fixture(scope="session")
def aep_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real After Effects project written by py-aep.

    Composition ``main`` (1920x1080, 30 fps, 10 s) holds a placeholder footage layer
    ``photo``, a precomp layer ``lower third``, a solid ``background`` and a text layer
    ``title``; composition ``lower third`` holds the text layer ``name``.
    """
    import py_aep

    app = py_aep.new()
    root = app.project.root_folder
    lower_third = root.add_comp("lower third", 1920, 200, 1.0, 5.0, 30.0)
    lower_third.add_text("Name").name = "name"
    comp = root.add_comp("main", 1920, 1080, 1.0, 10.0, 30.0)
    comp.add_text("Hello").name = "title"
    comp.add_solid([0.1, 0.2, 0.5], "background", 1920, 1080, 1.0)
    comp.add(lower_third)
    comp.add(app.project.import_placeholder("photo", 100, 100, 30.0, 5.0))
    path = tmp_path_factory.mktemp("aep") / "promo.aep"
    app.project.save(path)
    return path.read_bytes()


@pytest.fixture
def sample() -> Callable[[str], Path]:
    """The path of a file in ../shared/samples, read in place; skips when it is absent."""

    def find(name: str) -> Path:
        path = SAMPLES / name
        if not path.is_file():
            pytest.skip(f"../shared/samples is absent: {name} is needed (see SOURCES.md there)")
        return path

    return find


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Runs the test from ``tmp_path``, so printed paths start with ``project/``."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """A real local backend on loopback, one-frame renders, shared by the client and apply tests."""
    from nexspec.server.embedded import start_embedded

    data = tmp_path_factory.mktemp("local-server")
    with start_embedded(data, token=LOCAL_TOKEN, workers=2, render_fast=True) as running:
        yield running


@pytest.fixture
def request_counts() -> Callable[[EmbeddedServer], dict[str, int]]:
    """What a server's ``/_nexspec/metrics`` route counted so far, by ``METHOD /route``."""

    def counts(server: EmbeddedServer) -> dict[str, int]:
        requests: dict[str, int] = httpx.get(server.root_url + "/_nexspec/metrics").json()["requests"]
        return requests

    return counts
