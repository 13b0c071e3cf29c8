"""How a slate looks: the static card drawn once with Pillow, and the footer drawn per frame.

Sizes are given for a 1080-pixel-high frame and scaled to the output, so a preview at half
size or a vertical composition keeps the same proportions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING

from nexspec.render.base import SANS, SANS_BOLD
from nexspec.render.output import OutputPlan

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

    from nexspec.render.encode import Pixels

Rgb = tuple[int, int, int]
PICTURES = ("image", "video")
TOP, BOTTOM = (17, 21, 33), (9, 11, 18)
AMBER, INK = (245, 185, 66), (20, 20, 20)
WHITE, SOFT, DIM = (243, 244, 246), (170, 178, 197), (120, 128, 148)
ACCENT, PANEL, LINE, TRACK = (125, 211, 252), (22, 27, 39), (35, 42, 58), (30, 36, 50)


@dataclass(frozen=True)
class CardEntry:
    """One injected value: a text line, or a picture (an image, a video's first frame)."""

    kind: str
    label: str
    value: str
    picture: Image.Image | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Card:
    template: str
    composition: str
    summary: str
    entries: tuple[CardEntry, ...]

    def draw(self, width: int, height: int) -> Image.Image:
        """The card without its footer, as an RGB image of the output's size."""
        from PIL import ImageDraw

        image = _background(width, height)
        pen = Pen(ImageDraw.Draw(image), min(width, height) / 1080, width, height)
        top = pen.header(self.template, self.composition, self.summary)
        pictures = [e for e in self.entries if e.picture is not None or e.kind in PICTURES]
        texts = [e for e in self.entries if e not in pictures]
        split = width * 0.6 if pictures and width >= height else width - pen.margin
        bottom = height - pen.margin - pen.u * 120
        pen.texts(texts, pen.margin, top, split - pen.u * 40, bottom)
        if pictures:
            left = split if width >= height else pen.margin
            start = top if width >= height else (top + bottom) / 2
            pen.pictures(image, pictures, left, start, width - pen.margin, bottom)
        return image


@lru_cache(maxsize=32)
def font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(str(SANS_BOLD if bold else SANS), max(6, size))


def _background(width: int, height: int) -> Image.Image:
    from PIL import Image

    column = Image.linear_gradient("L").resize((1, height))
    image = Image.merge(
        "RGB",
        [
            column.point(lambda v, a=a, b=b: round(a + (b - a) * v / 255))
            for a, b in zip(TOP, BOTTOM, strict=True)
        ],
    ).resize((width, height))
    return image


@dataclass(frozen=True, slots=True)
class Pen:
    """Draws the card's parts at scale ``u`` (1.0 for a 1080-pixel-high frame)."""

    draw: ImageDraw.ImageDraw
    u: float
    width: int
    height: int

    @property
    def margin(self) -> float:
        return 72 * self.u

    def size(self, points: float) -> int:
        return round(points * self.u)

    def header(self, template: str, composition: str, summary: str) -> float:
        """Draw the badge, template name and composition; return where the body starts."""
        u, m = self.u, self.margin
        self.draw.rectangle((0, 0, self.width, self.size(6)), fill=AMBER)
        badge = font(True, self.size(24))
        pad_x, pad_y = 16 * u, 9 * u
        text_w = self.draw.textlength("PREVIEW", font=badge)
        box = (m, m, m + text_w + 2 * pad_x, m + self.size(24) + 2 * pad_y)
        self.draw.rounded_rectangle(box, radius=8 * u, fill=AMBER)
        self.draw.text((m + pad_x, m + pad_y), "PREVIEW", font=badge, fill=INK)
        note = "Local slate  ·  After Effects cannot render on this machine"
        self.line(
            note,
            box[2] + 20 * u,
            (box[1] + box[3]) / 2,
            font(False, self.size(22)),
            DIM,
            anchor="lm",
        )
        y = box[3] + 64 * u
        self.line(template, m, y, font(True, self.size(64)), WHITE, anchor="ls")
        y += 56 * u
        label = font(False, self.size(26))
        self.line("Composition", m, y, label, DIM, anchor="ls")
        x = m + self.draw.textlength("Composition  ", font=label)
        name = font(True, self.size(30))
        self.line(composition, x, y, name, WHITE, anchor="ls")
        x += self.draw.textlength(composition + "    ", font=name)
        self.line(summary, x, y, label, SOFT, anchor="ls")
        y += 36 * u
        self.draw.line((m, y, self.width - m, y), fill=LINE, width=max(1, self.size(2)))
        return y + 44 * u

    def line(
        self,
        text: str,
        x: float,
        y: float,
        face: ImageFont.FreeTypeFont,
        fill: Rgb,
        *,
        anchor: str = "la",
    ) -> None:
        room = self.width - self.margin - x
        self.draw.text((x, y), fit(self.draw, text, face, room), font=face, fill=fill, anchor=anchor)

    def texts(self, entries: list[CardEntry], left: float, top: float, right: float, bottom: float) -> None:
        """Each entry as its layer name over its value (two lines at most), top to bottom."""
        label, value = font(False, self.size(22)), font(False, self.size(34))
        y = top
        for shown, entry in enumerate(entries):
            lines = wrap(self.draw, entry.value or "(empty)", value, right - left, 2)
            needed = self.u * 30 + len(lines) * self.u * 44
            if y + needed > bottom:
                more = f"+ {len(entries) - shown} more (see the job log)"
                self.draw.text((left, y), more, font=label, fill=DIM)
                return
            self.draw.text((left, y), f"{entry.label}  ", font=label, fill=ACCENT)
            x = left + self.draw.textlength(f"{entry.label}  ", font=label)
            self.draw.text((x, y), entry.kind, font=label, fill=DIM)
            y += self.u * 30
            for text in lines:
                self.draw.text((left, y), text, font=value, fill=WHITE)
                y += self.u * 44
            y += self.u * 22

    def pictures(
        self,
        image: Image.Image,
        entries: list[CardEntry],
        left: float,
        top: float,
        right: float,
        bottom: float,
    ) -> None:
        """Thumbnails in one column, each in a panel with its layer name below."""
        caption = font(False, self.size(22))
        slot = (bottom - top) / len(entries)
        box_h = min(slot - self.u * 48, (right - left) * 9 / 16)
        if box_h < self.u * 24:
            return
        for index, entry in enumerate(entries):
            y = top + index * slot
            panel = (left, y, right, y + box_h)
            self.draw.rounded_rectangle(panel, radius=10 * self.u, fill=PANEL, outline=LINE)
            if entry.picture is None:
                self.draw.text(
                    ((left + right) / 2, y + box_h / 2),
                    "unreadable",
                    font=caption,
                    fill=DIM,
                    anchor="mm",
                )
            else:
                paste_fitted(image, entry.picture, panel, self.u * 10)
            text = f"{entry.label}  ·  {entry.value}"
            shown = fit(self.draw, text, caption, right - left)
            self.draw.text((left, y + box_h + self.u * 10), shown, font=caption, fill=ACCENT)


def paste_fitted(target: Image.Image, picture: Image.Image, box: tuple[float, ...], inset: float) -> None:
    from PIL import Image

    width, height = int(box[2] - box[0] - 2 * inset), int(box[3] - box[1] - 2 * inset)
    if width < 1 or height < 1:
        return
    thumb = picture.convert("RGBA")
    thumb.thumbnail((width, height), Image.Resampling.LANCZOS)
    x = int(box[0] + inset + (width - thumb.width) / 2)
    y = int(box[1] + inset + (height - thumb.height) / 2)
    target.paste(thumb, (x, y), thumb)


def fit(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont, room: float) -> str:
    """``text`` cut with an ellipsis to fit ``room`` pixels."""
    text = " ".join(text.split())
    if draw.textlength(text, font=face) <= room:
        return text
    while text and draw.textlength(text + "…", font=face) > room:
        text = text[:-1]
    return text + "…"


def wrap(
    draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont, room: float, limit: int
) -> list[str]:
    """Word-wrap ``text`` to ``room`` pixels in at most ``limit`` lines, the last cut to fit."""
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=face) <= room:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > limit:
        lines = [*lines[: limit - 1], " ".join(lines[limit - 1 :])]
    return [fit(draw, line, face, room) for line in lines] or [""]


class Footer:
    """The timecode, frame counter and progress bar, redrawn over the card for each frame.

    Only the footer band changes: it is drawn on a small image and copied into one frame
    buffer, which ``frame`` returns (and overwrites on the next call).
    """

    def __init__(self, card: Image.Image, plan: OutputPlan, total: int) -> None:
        import numpy as np

        self._plan, self._total = plan, max(1, total)
        self._u = min(plan.width, plan.height) / 1080
        margin = round(72 * self._u)
        self._box = (
            margin,
            plan.height - margin - round(84 * self._u),
            plan.width - margin,
            plan.height - margin,
        )
        self._band = card.crop(self._box)
        self._pixels: Pixels = np.array(card, dtype=np.uint8)

    def frame(self, number: int) -> Pixels:
        import numpy as np
        from PIL import ImageDraw

        band = self._band.copy()
        draw = ImageDraw.Draw(band)
        width, height = band.size
        bar = max(2, round(10 * self._u))
        done = round(width * min(1.0, (number + 1) / self._total))
        draw.rectangle((0, height - bar, width, height), fill=TRACK)
        draw.rectangle((0, height - bar, done, height), fill=AMBER)
        baseline = height - bar - round(22 * self._u)
        draw.text(
            (0, baseline),
            timecode(number, self._plan.fps),
            font=font(True, round(44 * self._u)),
            fill=WHITE,
            anchor="ls",
        )
        counter = f"frame {number + 1} / {self._total}"
        draw.text(
            (width, baseline),
            counter,
            font=font(False, round(24 * self._u)),
            fill=SOFT,
            anchor="rs",
        )
        left, top, right, bottom = self._box
        self._pixels[top:bottom, left:right] = np.asarray(band)
        return self._pixels


def timecode(frame: int, fps: Fraction | float) -> str:
    """SMPTE-style ``HH:MM:SS:FF`` (non-drop) at the nearest whole frame rate."""
    rate = max(1, round(fps))
    seconds, frames = divmod(frame, rate)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}"
