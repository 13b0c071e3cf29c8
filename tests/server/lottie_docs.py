"""Small Bodymovin (Lottie) documents made on the fly for the server tests."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from typing import Any

from PIL import Image

Json = dict[str, Any]


def _static(value: Any) -> Json:
    return {"a": 0, "k": value}


def _transform(position: tuple[float, float] = (0, 0)) -> Json:
    return {
        "o": _static(100),
        "r": _static(0),
        "p": _static([*position, 0]),
        "a": _static([0, 0, 0]),
        "s": _static([100, 100, 100]),
    }


def _layer(kind: int, name: str, index: int, frames: int, **extra: Any) -> Json:
    base = {"ddd": 0, "ind": index, "ty": kind, "nm": name, "ao": 0, "ip": 0, "op": frames}
    return {**base, "st": 0, "bm": 0, "ks": _transform(extra.pop("position", (0, 0))), **extra}


def _text(name: str, index: int, frames: int, text: str, y: float) -> Json:
    document = {"s": 24, "f": "DejaVuSans", "t": text, "j": 2, "tr": 0, "lh": 28.8, "ls": 0}
    body = {
        "d": {"k": [{"s": {**document, "fc": [1, 1, 1]}, "t": 0}]},
        "p": {},
        "m": {"g": 1, "a": _static([0, 0])},
        "a": [],
    }
    return _layer(5, name, index, frames, position=(160, y), t=body)


def lottie(
    name: str = "main", *, width: int = 320, height: int = 180, frames: int = 25, fps: int = 25
) -> Json:
    """A ``width`` x ``height`` animation of ``frames`` frames: texts ``title`` and ``subtitle``
    and an image ``photo`` over a solid ``background``."""
    layers = [
        _text("title", 1, frames, "Title", 80),
        _text("subtitle", 2, frames, "Subtitle", 120),
        _layer(2, "photo", 3, frames, refId="image_0", position=(8, 8)),
        _layer(1, "background", 4, frames, sc="#203040", sw=width, sh=height),
    ]
    return {
        "v": "5.7.4",
        "fr": fps,
        "ip": 0,
        "op": frames,
        "w": width,
        "h": height,
        "nm": name,
        "ddd": 0,
        "assets": [{"id": "image_0", "w": 32, "h": 32, "u": "", "p": png_uri(), "e": 1}],
        "fonts": {
            "list": [{"fName": "DejaVuSans", "fFamily": "DejaVu Sans", "fStyle": "Book", "ascent": 75}]
        },
        "layers": layers,
        "markers": [],
    }


def png_uri(size: int = 32) -> str:
    buffer = io.BytesIO()
    Image.new("RGBA", (size, size), (240, 180, 40, 255)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def lottie_bytes(**kwargs: Any) -> bytes:
    return json.dumps(lottie(**kwargs)).encode()


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
