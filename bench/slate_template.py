"""The tiny Lottie slate the benchmarks render, and projects built around it."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

CHUNK = 1024 * 1024
TEXT = {"s": 20, "f": "DejaVuSans", "t": "slate", "j": 0, "tr": 0, "lh": 24, "ls": 0, "fc": [1, 1, 1]}
STILL = {"o": {"a": 0, "k": 100}, "r": {"a": 0, "k": 0}, "p": {"a": 0, "k": [0, 0, 0]},
         "a": {"a": 0, "k": [0, 0, 0]}, "s": {"a": 0, "k": [100, 100, 100]}}  # fmt: skip
SLATE = {
    "v": "5.7.4", "fr": 25, "ip": 0, "op": 25, "w": 160, "h": 90, "nm": "main", "ddd": 0, "assets": [],
    "fonts": {"list": [{"fName": "DejaVuSans", "fFamily": "DejaVu Sans", "fStyle": "Book", "ascent": 75.9}]},
    "layers": [
        {"ddd": 0, "ind": 1, "ty": 5, "nm": "title", "ao": 0, "ip": 0, "op": 25, "st": 0, "bm": 0,
         "ks": {**STILL, "p": {"a": 0, "k": [8, 50, 0]}},
         "t": {"d": {"k": [{"s": TEXT, "t": 0}]}, "p": {}, "m": {"g": 1, "a": {"a": 0, "k": [0, 0]}},
               "a": []}},
        {"ddd": 0, "ind": 2, "ty": 1, "nm": "background", "ao": 0, "ip": 0, "op": 25, "st": 0, "bm": 0,
         "sc": "#203040", "sw": 160, "sh": 90, "ks": STILL},
    ],
}  # fmt: skip


def footage(size: int) -> Iterator[bytes]:
    block = os.urandom(min(size, CHUNK))
    left = size
    while left:
        yield block[:left]
        left -= min(left, len(block))


def build_big(root: Path, shape: str, size: int, spec: str) -> Path:
    """A project whose template (a folder or a .zip) holds `size` bytes of footage beside
    the slate; `spec` is the nexspec.yaml, with `{path}` for the template. Returns its path."""
    templates = root / "templates"
    templates.mkdir(parents=True)
    lottie = json.dumps(SLATE).encode()
    if shape == "folder":
        template = templates / "slate"
        (template / "footage").mkdir(parents=True)
        (template / "slate.json").write_bytes(lottie)
        with (template / "footage" / "plate.mov").open("wb") as out:
            for block in footage(size):
                out.write(block)
    else:
        template = templates / "slate.zip"
        with zipfile.ZipFile(template, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr("slate.json", lottie)
            with archive.open(zipfile.ZipInfo("footage/plate.mov"), "w", force_zip64=True) as out:
                for block in footage(size):
                    out.write(block)
    (root / "nexspec.yaml").write_text(spec.format(path=template.relative_to(root).as_posix()))
    return template
