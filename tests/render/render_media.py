"""Small real templates and media for the renderer tests, and PyAV read-backs of outputs.

The Lottie template is 320x180 at 25 fps for 2 s: a background solid, text layers ``title``
and ``subtitle``, an image layer ``logo`` (a red square, embedded), a white ``marker``
sliding along the top edge (so every frame differs) and a precomposition ``intro`` holding
a text layer ``caption``.
"""

from __future__ import annotations

import base64
import io
import math
import struct
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

from nexspec.render import RenderRequest
from nexspec.templateinfo import Composition, Layer, LayerKind, TemplateInfo, TemplateKind

WIDTH, HEIGHT, FPS, FRAMES = 320, 180, 25, 50
SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"


def png_bytes(size: tuple[int, int], colour: tuple[int, int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def write_png(path: Path, size: tuple[int, int], colour: tuple[int, int, int, int]) -> Path:
    path.write_bytes(png_bytes(size, colour))
    return path


def _static(value: Any) -> dict[str, Any]:
    return {"a": 0, "k": value}


def _ks(position: tuple[float, float], anchor: tuple[float, float] = (0, 0)) -> dict[str, Any]:
    return {
        "o": _static(100),
        "r": _static(0),
        "p": _static([*position, 0]),
        "a": _static([*anchor, 0]),
        "s": _static([100, 100, 100]),
    }


def _text(name: str, text: str, size: float, y: float, font: str = "DejaVuSans-Bold") -> dict[str, Any]:
    document = {"s": size, "f": font, "t": text, "j": 2, "tr": 0, "lh": size * 1.2, "ls": 0, "fc": [1, 1, 1]}
    return {
        "ty": 5,
        "nm": name,
        "ip": 0,
        "op": FRAMES,
        "st": 0,
        "ks": _ks((WIDTH / 2, y)),
        "t": {"d": {"k": [{"s": document, "t": 0}]}, "p": {}, "m": {"g": 1, "a": _static([0, 0])}, "a": []},
    }


def _marker() -> dict[str, Any]:
    """A white square sliding along the top edge: every frame of the template differs."""
    slide = {
        "a": 1,
        "k": [
            {"t": 0, "s": [10, 10, 0], "o": {"x": [0], "y": [0]}, "i": {"x": [1], "y": [1]}},
            {"t": FRAMES - 1, "s": [310, 10, 0]},
        ],
    }
    square = {
        "ty": "gr",
        "it": [
            {"ty": "rc", "d": 1, "s": _static([10, 10]), "p": _static([0, 0]), "r": _static(0)},
            {"ty": "fl", "c": _static([1, 1, 1, 1]), "o": _static(100), "r": 1},
            {
                "ty": "tr",
                "p": _static([0, 0]),
                "a": _static([0, 0]),
                "s": _static([100, 100]),
                "r": _static(0),
                "o": _static(100),
            },
        ],
    }
    return {
        "ty": 4,
        "nm": "marker",
        "ip": 0,
        "op": FRAMES,
        "st": 0,
        "ks": {**_ks((0, 0)), "p": slide},
        "shapes": [square],
    }


def lottie_document() -> dict[str, Any]:
    logo = {
        "ty": 2,
        "nm": "logo",
        "refId": "logo_image",
        "ip": 0,
        "op": FRAMES,
        "st": 0,
        "ks": _ks((40, 40), (20, 20)),
    }
    intro = {
        "ty": 0,
        "nm": "intro layer",
        "refId": "comp_intro",
        "w": WIDTH,
        "h": HEIGHT,
        "ip": 0,
        "op": FRAMES,
        "st": 0,
        "ks": _ks((0, 0)),
    }
    background = {
        "ty": 1,
        "nm": "background",
        "sc": "#202040",
        "sw": WIDTH,
        "sh": HEIGHT,
        "ip": 0,
        "op": FRAMES,
        "st": 0,
        "ks": _ks((0, 0)),
    }
    red = "data:image/png;base64," + base64.b64encode(png_bytes((40, 40), (255, 0, 0, 255))).decode()
    return {
        "v": "5.7.4",
        "fr": FPS,
        "ip": 0,
        "op": FRAMES,
        "w": WIDTH,
        "h": HEIGHT,
        "nm": "main",
        "ddd": 0,
        "assets": [
            {"id": "logo_image", "w": 40, "h": 40, "u": "", "p": red, "e": 1},
            {"id": "comp_intro", "nm": "intro", "layers": [_text("caption", "Intro", 16, 170)]},
        ],
        "fonts": {
            "list": [
                {"fName": "DejaVuSans-Bold", "fFamily": "DejaVu Sans", "fStyle": "Bold"},
                {"fName": "DejaVuSans", "fFamily": "DejaVu Sans", "fStyle": "Book"},
            ]
        },
        "layers": [
            intro,
            _marker(),
            _text("title", "Hello", 28, 100),
            _text("subtitle", "Small print", 14, 140, "DejaVuSans"),
            logo,
            background,
        ],
    }


def lottie_info(lottie: str = "promo.json") -> TemplateInfo:
    layers = tuple(
        Layer(name, kind, index)
        for index, (name, kind) in enumerate(
            [
                ("intro layer", LayerKind.PRECOMP),
                ("title", LayerKind.TEXT),
                ("subtitle", LayerKind.TEXT),
                ("logo", LayerKind.FOOTAGE),
                ("background", LayerKind.SOLID),
            ],
            start=1,
        )
    )
    comps = (
        Composition("main", WIDTH, HEIGHT, FPS, FRAMES / FPS, layers),
        Composition("intro", WIDTH, HEIGHT, FPS, FRAMES / FPS, (Layer("caption", LayerKind.TEXT, 1),)),
    )
    return TemplateInfo(TemplateKind.LOTTIE, comps, lottie=lottie)


@dataclass(frozen=True)
class Probe:
    """What PyAV reads back from a rendered file."""

    codec: str
    width: int
    height: int
    pix_fmt: str
    rate: float
    frames: list[np.ndarray]
    duration: float
    audio: tuple[str, int, int] | None  # codec, sample rate, channels
    audio_duration: float

    def hashes(self) -> list[int]:
        return [hash(frame.tobytes()) for frame in self.frames]


def probe(path: Path) -> Probe:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        audio_info = None
        audio_duration = 0.0
        if audio is not None:
            audio_info = (audio.codec_context.name, audio.rate, audio.codec_context.channels)
            audio_duration = float(audio.duration * audio.time_base) if audio.duration else 0.0
        return Probe(
            codec=video.codec_context.name,
            width=video.width,
            height=video.height,
            pix_fmt=video.codec_context.pix_fmt or "",
            rate=float(video.average_rate or 0),
            frames=frames,
            duration=float(container.duration or 0) / av.time_base,
            audio=audio_info,
            audio_duration=audio_duration,
        )


def rgba(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA"))


def write_wav(path: Path, seconds: float, rate: int = 44_100) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = (
            round(12_000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(round(seconds * rate))
        )
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return path


def write_video(path: Path, colour: tuple[int, int, int], frames: int = 5) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        pixels = np.zeros((64, 64, 3), np.uint8)
        pixels[:, :] = colour
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


Make = Callable[..., RenderRequest]  # the make_request fixture: assets, then fields to override
