"""Writes the example projects' templates and images: Bodymovin JSON, PNGs and an .aep.

Deterministic: running it twice writes the same bytes, so its outputs are committed beside it.
Run from anywhere with the project's venv: ``python specs-examples/make_templates.py``.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import random
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from unittest import mock

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
FONTS = HERE.parent / "nexspec" / "fonts"
SANS = "DejaVuSans"
SANS_BOLD = "DejaVuSans-Bold"
AEP_STAGING = Path("/tmp/nexspec-examples/aep-promo/templates/promo")
AEP_DATE = 1_767_225_600  # 2026-01-01T00:00:00Z

Json = dict[str, Any]
Rgb = tuple[float, float, float]
Value = Any  # a static value or an animated property already built by ``keys``

# The standard "ease out" of motion design: fast start, long soft landing.
EASE_OUT = ({"x": [0.16], "y": [1.0]}, {"x": [0.3], "y": [1.0]})
EASE_IN_OUT = ({"x": [0.45], "y": [0.0]}, {"x": [0.55], "y": [1.0]})
LINEAR = ({"x": [0.0], "y": [0.0]}, {"x": [1.0], "y": [1.0]})


def hex_rgb(code: str) -> Rgb:
    return (int(code[1:3], 16) / 255, int(code[3:5], 16) / 255, int(code[5:7], 16) / 255)


def rounded(values: Sequence[float]) -> list[float]:
    return [round(v, 4) for v in values]


# --- Lottie properties ----------------------------------------------------------------------


def static(value: float | Sequence[float]) -> Json:
    return {"a": 0, "k": value if isinstance(value, int | float) else rounded(value)}


def keys(*frames: tuple[float, float | Sequence[float]], ease: tuple[Json, Json] = EASE_OUT) -> Json:
    """An animated property through ``(frame, value)`` pairs, eased between each pair."""
    out: list[Json] = []
    for i, (frame, value) in enumerate(frames):
        key: Json = {"t": frame, "s": [value] if isinstance(value, int | float) else rounded(value)}
        if i < len(frames) - 1:
            key["o"], key["i"] = ease
        out.append(key)
    return {"a": 1, "k": out}


def prop(value: Value) -> Json:
    return value if isinstance(value, dict) else static(value)


def point(value: Value) -> Json:
    """A 2D point as Lottie wants it: 3 components for transforms."""
    if isinstance(value, dict):
        return value
    return static([*value, 0])


def transform(
    position: Value = (0, 0),
    *,
    anchor: Sequence[float] = (0, 0),
    scale: Value = (100, 100),
    rotation: Value = 0,
    opacity: Value = 100,
) -> Json:
    return {
        "o": prop(opacity),
        "r": prop(rotation),
        "p": point(position),
        "a": static([*anchor, 0]),
        "s": point(scale) if isinstance(scale, dict) else static([*scale, 100]),
    }


def group_transform(
    position: Value = (0, 0),
    *,
    anchor: Sequence[float] = (0, 0),
    scale: Value = (100, 100),
    rotation: Value = 0,
    opacity: Value = 100,
) -> Json:
    return {
        "ty": "tr",
        "p": prop(position),
        "a": static(anchor),
        "s": prop(scale),
        "r": prop(rotation),
        "o": prop(opacity),
    }


# --- Shapes ---------------------------------------------------------------------------------


def group(name: str, *items: Json, tr: Json | None = None) -> Json:
    return {"ty": "gr", "nm": name, "it": [*items, tr or group_transform()]}


def rect(size: Value, *, center: Value = (0, 0), radius: float = 0) -> Json:
    return {"ty": "rc", "d": 1, "s": prop(size), "p": prop(center), "r": static(radius)}


def ellipse(size: Value, *, center: Value = (0, 0)) -> Json:
    return {"ty": "el", "d": 1, "s": prop(size), "p": prop(center)}


def fill(color: Rgb, opacity: Value = 100) -> Json:
    return {"ty": "fl", "c": static([*color, 1]), "o": prop(opacity), "r": 1}


def stroke(color: Rgb, width: float, *, opacity: Value = 100, dash: float = 0) -> Json:
    item: Json = {
        "ty": "st",
        "c": static([*color, 1]),
        "o": prop(opacity),
        "w": static(width),
        "lc": 2,
        "lj": 2,
    }
    if dash:
        item["d"] = [
            {"n": "d", "nm": "dash", "v": static(dash)},
            {"n": "g", "nm": "gap", "v": static(dash * 1.6)},
        ]
    return item


def gradient(
    stops: Sequence[tuple[float, Rgb, float]], start: Value, end: Value, *, radial: bool = False
) -> Json:
    """A gradient fill; ``stops`` are (offset, colour, alpha)."""
    colours = [c for offset, rgb, _ in stops for c in (offset, *rgb)]
    alphas = [c for offset, _, alpha in stops for c in (offset, alpha)]
    return {
        "ty": "gf",
        "o": static(100),
        "r": 1,
        "t": 2 if radial else 1,
        "s": prop(start),
        "e": prop(end),
        "h": static(0),
        "a": static(0),
        "g": {"p": len(stops), "k": static([*colours, *alphas])},
    }


def trim(start: Value, end: Value, offset: Value = 0) -> Json:
    return {"ty": "tm", "s": prop(start), "e": prop(end), "o": prop(offset), "m": 1}


# --- Layers ---------------------------------------------------------------------------------


def layer_base(kind: int, name: str, index: int, ks: Json, frames: int) -> Json:
    return {
        "ddd": 0,
        "ind": index,
        "ty": kind,
        "nm": name,
        "ks": ks,
        "ao": 0,
        "ip": 0,
        "op": frames,
        "st": 0,
        "bm": 0,
    }


def shape_layer(name: str, index: int, frames: int, *shapes: Json, ks: Json | None = None) -> Json:
    return {**layer_base(4, name, index, ks or transform(), frames), "shapes": list(shapes)}


def solid_layer(name: str, index: int, frames: int, colour: str, size: tuple[int, int]) -> Json:
    return {**layer_base(1, name, index, transform(), frames), "sc": colour, "sw": size[0], "sh": size[1]}


def image_layer(name: str, index: int, frames: int, ref: str, ks: Json) -> Json:
    return {**layer_base(2, name, index, ks, frames), "refId": ref}


def text_document(
    text: str, *, font: str, size: float, color: Rgb, justify: int = 2, tracking: float = 0
) -> Json:
    return {
        "s": size,
        "f": font,
        "t": text,
        "j": justify,
        "tr": tracking,
        "lh": round(size * 1.2, 2),
        "ls": 0,
        "fc": rounded(color),
    }


def text_layer(name: str, index: int, frames: int, document: Json, ks: Json) -> Json:
    body = {
        "d": {"k": [{"s": document, "t": 0}]},
        "p": {},
        "m": {"g": 1, "a": static([0, 0])},
        "a": [],
    }
    return {**layer_base(5, name, index, ks, frames), "t": body}


def revealed(layer: Json, matte: Json) -> list[Json]:
    """``layer`` seen only through ``matte`` (an alpha track matte), the matte first."""
    return [{**matte, "td": 1}, {**layer, "tt": 1}]


def font_list() -> Json:
    return {
        "list": [
            {"fName": SANS_BOLD, "fFamily": "DejaVu Sans", "fStyle": "Bold", "ascent": 75.9},
            {"fName": SANS, "fFamily": "DejaVu Sans", "fStyle": "Book", "ascent": 75.9},
        ]
    }


def document(name: str, size: tuple[int, int], frames: int, layers: list[Json], assets: list[Json]) -> Json:
    width, height = size
    for index, layer in enumerate(layers, start=1):
        layer["ind"] = index
    return {
        "v": "5.7.4",
        "fr": 25,
        "ip": 0,
        "op": frames,
        "w": width,
        "h": height,
        "nm": name,
        "ddd": 0,
        "assets": assets,
        "fonts": font_list(),
        "layers": layers,
        "markers": [],
    }


# --- Images ---------------------------------------------------------------------------------

SUPERSAMPLE = 4


def font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / f"{SANS_BOLD if bold else SANS}.ttf"), size)


def canvas(size: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGBA", (size * SUPERSAMPLE, size * SUPERSAMPLE), (0, 0, 0, 0))
    return image, ImageDraw.Draw(image)


def finish(image: Image.Image, size: int) -> Image.Image:
    # Drawn large and scaled down: Pillow's primitives are not anti-aliased.
    return image.resize((size, size), Image.Resampling.LANCZOS)


def vertical_gradient(size: tuple[int, int], top: str, bottom: str) -> Image.Image:
    width, height = size
    a, b = hex_rgb(top), hex_rgb(bottom)
    column = Image.new("RGBA", (1, height))
    for y in range(height):
        t = y / max(1, height - 1)
        column.putpixel(
            (0, y),
            (*(round(255 * (x + (y2 - x) * t)) for x, y2 in zip(a, b, strict=True)), 255),
        )
    return column.resize((width, height))


def badge(size: int, top: str, bottom: str) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """A rounded square filled with a vertical gradient: the base of every logo."""
    image, draw = canvas(size)
    big = size * SUPERSAMPLE
    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 4, fill=255)
    image.paste(vertical_gradient((big, big), top, bottom), (0, 0), mask)
    return image, draw


def placeholder_logo(size: int) -> Image.Image:
    image, draw = canvas(size)
    big = size * SUPERSAMPLE
    inset = big // 16
    draw.rounded_rectangle(
        (inset, inset, big - inset, big - inset),
        radius=big // 5,
        outline=(255, 255, 255, 200),
        width=big // 40,
    )
    draw.text(
        (big / 2, big / 2),
        "LOGO",
        font=font(True, big // 6),
        anchor="mm",
        fill=(255, 255, 255, 220),
    )
    return finish(image, size)


def acme_logo(size: int) -> Image.Image:
    image, draw = badge(size, "#7C5CFF", "#22D3EE")
    big = size * SUPERSAMPLE
    apex, left, right = (big * 0.5, big * 0.2), (big * 0.2, big * 0.8), (big * 0.8, big * 0.8)
    draw.polygon([apex, right, left], fill=(255, 255, 255, 255))
    hole = [(big * 0.5, big * 0.47), (big * 0.62, big * 0.8), (big * 0.38, big * 0.8)]
    draw.polygon(hole, fill=(0, 0, 0, 0))
    return finish(image, size)


def sun_logo(size: int) -> Image.Image:
    image, draw = badge(size, "#F97316", "#F43F5E")
    big = size * SUPERSAMPLE
    centre, core = big / 2, big * 0.16
    for ray in range(12):
        angle = ray * math.pi / 6
        inner, outer = core * 1.45, core * 2.3
        start = (centre + inner * math.cos(angle), centre + inner * math.sin(angle))
        end = (centre + outer * math.cos(angle), centre + outer * math.sin(angle))
        draw.line([start, end], fill=(255, 247, 237, 255), width=big // 28)
    draw.ellipse((centre - core, centre - core, centre + core, centre + core), fill=(255, 247, 237, 255))
    return finish(image, size)


def wave_logo(size: int) -> Image.Image:
    image, draw = badge(size, "#0EA5E9", "#0F766E")
    big = size * SUPERSAMPLE
    for row in range(3):
        y0 = big * (0.36 + row * 0.14)
        points = [
            (big * (0.2 + 0.6 * step / 48), y0 + big * 0.05 * math.sin(step / 48 * 2 * math.pi))
            for step in range(49)
        ]
        draw.line(points, fill=(240, 253, 250, 255), width=big // 22, joint="curve")
    return finish(image, size)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def data_uri(image: Image.Image) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


# --- The quickstart promo (1920x1080, 5 s) -------------------------------------------------

VIOLET, CYAN, PINK = hex_rgb("#7C5CFF"), hex_rgb("#22D3EE"), hex_rgb("#F472B6")
WHITE, MIST = (1.0, 1.0, 1.0), hex_rgb("#C7D2FE")


def promo_background(frames: int, w: int, h: int) -> list[Json]:
    # A flat base under radial glows: full-frame gradients cost ThorVG more than all the rest.
    glows = [
        glow("violet glow", VIOLET, 0.7, 1100, (w * 0.78, h * 0.22), (w * 0.72, h * 0.3), frames),
        glow("cyan glow", CYAN, 0.42, 950, (w * 0.12, h * 0.9), (w * 0.2, h * 0.82), frames),
        glow("pink glow", PINK, 0.32, 700, (w * 0.5, h * 1.05), (w * 0.55, h * 0.98), frames),
    ]
    return [
        shape_layer("particles", 0, frames, *particles(frames, w, h)),
        shape_layer("glows", 0, frames, *glows),
        solid_layer("background", 0, frames, "#0D0D29", (w, h)),
    ]


def glow(
    name: str,
    colour: Rgb,
    alpha: float,
    diameter: float,
    start: tuple[float, float],
    end: tuple[float, float],
    frames: int,
) -> Json:
    centre = keys((0, start), (frames, end), ease=EASE_IN_OUT)
    edge = keys(
        (0, (start[0] + diameter / 2, start[1])),
        (frames, (end[0] + diameter / 2, end[1])),
        ease=EASE_IN_OUT,
    )
    # A near-Gaussian falloff: with fewer stops the disc's edge shows.
    falloff = [(0, 1), (0.2, 0.72), (0.4, 0.4), (0.6, 0.17), (0.8, 0.05), (1, 0)]
    shading = gradient(
        [(offset, colour, alpha * share) for offset, share in falloff], centre, edge, radial=True
    )
    return group(name, ellipse((diameter, diameter), center=centre), shading)


def particles(frames: int, w: int, h: int) -> list[Json]:
    rng = random.Random(2024)
    dots = []
    for n in range(18):
        x, y = rng.uniform(0, w), rng.uniform(h * 0.1, h)
        rise, drift, size = rng.uniform(80, 260), rng.uniform(-40, 40), rng.uniform(4, 11)
        position = keys((0, (x, y)), (frames, (x + drift, y - rise)), ease=LINEAR)
        dot = group(
            f"dot {n + 1}",
            ellipse((size, size)),
            fill(WHITE, rng.uniform(18, 55)),
            tr=group_transform(position),
        )
        dots.append(dot)
    return dots


def logo_ring(frames: int, centre: tuple[float, float]) -> Json:
    solid = group("ring", ellipse((370, 370)), stroke(CYAN, 5), trim(0, keys((4, 0), (34, 100)), 0))
    dashed = group(
        "dashes",
        ellipse((420, 420)),
        stroke(VIOLET, 3, opacity=80, dash=10),
        trim(0, keys((10, 0), (44, 100)), 0),
        tr=group_transform(rotation=keys((0, 0), (frames, -90), ease=LINEAR)),
    )
    spin = group_transform(centre, rotation=keys((0, -90), (frames, 30), ease=EASE_IN_OUT))
    return shape_layer("ring", 0, frames, group("rings", solid, dashed, tr=spin))


def matte_band(name: str, frames: int, top: float, bottom: float, w: int) -> Json:
    band = group("band", rect((w, bottom - top), center=(w / 2, (top + bottom) / 2)), fill(WHITE))
    return shape_layer(name, 0, frames, band)


def rise(x: float, y: float, start: float, distance: float = 150) -> Json:
    """A text layer transform that rises ``distance`` pixels into place from ``start``."""
    return transform(
        keys((start, (x, y + distance)), (start + 20, (x, y))),
        opacity=keys((start, 0), (start + 12, 100)),
    )


def promo(w: int = 1920, h: int = 1080, frames: int = 125) -> Json:
    """The quickstart template: title, subtitle and logo over animated light."""
    cx, logo_y, title_y, subtitle_y = w / 2, h * 0.35, h * 0.66, h * 0.775
    title = text_layer(
        "title",
        0,
        frames,
        text_document("Your title here", font=SANS_BOLD, size=104, color=WHITE),
        rise(cx, title_y, 22),
    )
    subtitle = text_layer(
        "subtitle",
        0,
        frames,
        text_document("A subtitle that says a little more", font=SANS, size=46, color=MIST, tracking=10),
        rise(cx, subtitle_y, 38, 90),
    )
    accent = group(
        "bar",
        rect((240, 8), radius=4),
        gradient([(0, VIOLET, 1), (1, CYAN, 1)], (-120, 0), (120, 0)),
        tr=group_transform((cx, title_y + 50), scale=keys((32, (0, 100)), (52, (100, 100)))),
    )
    logo_ks = transform(
        (cx, logo_y),
        anchor=(120, 120),
        scale=keys((8, (40, 40, 100)), (22, (108, 108, 100)), (32, (100, 100, 100))),
        opacity=keys((8, 0), (18, 100)),
    )
    layers = [
        *revealed(subtitle, matte_band("subtitle matte", frames, subtitle_y - 60, subtitle_y + 20, w)),
        *revealed(title, matte_band("title matte", frames, title_y - 260, title_y + 44, w)),
        shape_layer("accent", 0, frames, accent),
        image_layer("logo", 0, frames, "logo_image", logo_ks),
        logo_ring(frames, (cx, logo_y)),
        *promo_background(frames, w, h),
    ]
    logo = {
        "id": "logo_image",
        "w": 240,
        "h": 240,
        "u": "",
        "p": data_uri(placeholder_logo(240)),
        "e": 1,
    }
    return document("main", (w, h), frames, layers, [logo])


# --- The city card (1280x720, 4 s) ----------------------------------------------------------


def skyline(frames: int, w: int, h: int) -> list[Json]:
    rng = random.Random(7)
    buildings, x = [], 0.0
    while x < w:
        width, height = rng.uniform(50, 110), rng.uniform(90, 300)
        delay = 6 + 24 * (x / w) + rng.uniform(0, 6)
        windows = [
            group(
                f"window {row}-{col}",
                rect((8, 12), center=(col * 18 - 9, -height + 24 + row * 28)),
                fill(hex_rgb("#FDE68A"), rng.choice((0, 0, 35, 70))),
            )
            for row in range(int((height - 40) // 28))
            for col in range(2)
        ]
        grow = keys((delay, (100, 0)), (delay + 22, (100, 100)))
        body = group("body", rect((width - 4, height), center=(0, -height / 2)), fill(hex_rgb("#0B1020")))
        buildings.append(
            group(
                f"building {len(buildings) + 1}",
                *windows,
                body,
                tr=group_transform((x + width / 2, h), scale=grow),
            )
        )
        x += width
    return buildings


def city_card(w: int = 1280, h: int = 720, frames: int = 100) -> Json:
    """The city-batch template: a dusk skyline rising under the city's name and tagline."""
    sky = group(
        "sky",
        rect((w, h), center=(w / 2, h / 2)),
        gradient(
            [(0, hex_rgb("#0B1437"), 1), (0.55, hex_rgb("#4C1D95"), 1), (1, hex_rgb("#F97316"), 1)],
            (w / 2, 0),
            (w / 2, h),
        ),
    )
    sun_centre = keys((0, (w * 0.72, h * 0.82)), (frames, (w * 0.72, h * 0.6)), ease=EASE_OUT)
    sun = group(
        "sun",
        ellipse((300, 300), center=sun_centre),
        gradient(
            [(0, hex_rgb("#FDE68A"), 1), (0.7, hex_rgb("#FB923C"), 1), (1, hex_rgb("#FB923C"), 0)],
            sun_centre,
            keys((0, (w * 0.72 + 150, h * 0.82)), (frames, (w * 0.72 + 150, h * 0.6)), ease=EASE_OUT),
            radial=True,
        ),
    )
    kicker = text_layer(
        "kicker",
        0,
        frames,
        text_document(
            "NEXT STOP", font=SANS_BOLD, size=26, color=hex_rgb("#FDBA74"), justify=0, tracking=300
        ),
        transform((80, 150), opacity=keys((4, 0), (16, 100))),
    )
    city = text_layer(
        "city",
        0,
        frames,
        text_document("City name", font=SANS_BOLD, size=96, color=WHITE, justify=0),
        rise(80, 250, 10, 120),
    )
    tagline = text_layer(
        "tagline",
        0,
        frames,
        text_document("A tagline for this city", font=SANS, size=36, color=hex_rgb("#E9D5FF"), justify=0),
        rise(80, 310, 24, 70),
    )
    layers = [
        *revealed(tagline, matte_band("tagline matte", frames, 270, 322, w)),
        *revealed(city, matte_band("city matte", frames, 150, 272, w)),
        kicker,
        shape_layer("skyline", 0, frames, *skyline(frames, w, h)),
        shape_layer("sun", 0, frames, sun),
        shape_layer("sky", 0, frames, sky),
    ]
    return document("main", (w, h), frames, layers, [])


# --- The After Effects project --------------------------------------------------------------


def write_aep(folder: Path, logo: Image.Image) -> None:
    # py-aep stores a footage item's absolute path and modification time: importing the logo
    # from a fixed staging folder with a fixed date keeps the .aep byte-identical on every
    # machine and free of local paths.
    staged = AEP_STAGING / "logo.png"
    write_png(staged, logo)
    os.utime(staged, (AEP_DATE, AEP_DATE))
    # py-aep stamps each new item with a random GUID: seeded ones keep the bytes stable.
    rng = random.Random(26)
    with mock.patch.object(uuid, "uuid4", lambda: uuid.UUID(int=rng.getrandbits(128), version=4)):
        build_aep(folder, staged)
    write_png(folder / "logo.png", logo)


def build_aep(folder: Path, logo: Path) -> None:
    import py_aep

    app = py_aep.new("26.0x67", platform="windows")
    comp = app.project.root_folder.add_comp("main", 1920, 1080, 1.0, 6.0, 25.0)
    comp.add_solid(list(hex_rgb("#141038")), "background", 1920, 1080, 1.0)
    logo_layer = comp.add(app.project.import_file(py_aep.ImportOptions(logo)))
    logo_layer.name = "logo"
    logo_layer.transform.position.value = [960, 380, 0]
    for name, text, y in (
        ("subtitle", "A subtitle that says a little more", 820),
        ("title", "Your title here", 700),
    ):
        layer = comp.add_text(text)
        layer.name = name
        layer.transform.position.value = [960, y, 0]
    target = folder / "promo.aep"
    target.unlink(missing_ok=True)  # py-aep refuses to overwrite
    app.project.save(target)


# --- Writing --------------------------------------------------------------------------------


def write_json(path: Path, doc: Json) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")


def write_png(path: Path, image: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(image))


def main() -> None:
    write_json(HERE / "quickstart" / "templates" / "promo.json", promo())
    write_png(HERE / "quickstart" / "images" / "acme-logo.png", acme_logo(480))
    write_png(HERE / "quickstart" / "images" / "sunny-logo.png", sun_logo(480))
    write_json(HERE / "city-batch" / "templates" / "city-card.json", city_card())
    write_aep(HERE / "aep-promo" / "templates" / "promo", acme_logo(480))
    write_png(HERE / "aep-promo" / "images" / "northwind-logo.png", wave_logo(480))


if __name__ == "__main__":
    main()
