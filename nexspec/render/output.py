"""What a render writes: a job's output settings turned into a concrete frame range, size and codec.

Shared by every local renderer so that ``preview``, ``fast``, ``frames`` and ``type: image``
mean the same thing whichever renderer draws the frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from nexspec.errors import RenderError
from nexspec.render.base import OutputSettings

CRF = 23


class OutputKind(StrEnum):
    VIDEO = "video"
    IMAGE = "image"


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """One output file: composition frames ``first .. first + count - 1`` at ``width x height``.

    ``image_format`` is ``png`` or ``jpeg`` and only matters for ``OutputKind.IMAGE``.
    """

    kind: OutputKind
    width: int
    height: int
    fps: Fraction
    first: int
    count: int
    preset: str = "veryfast"
    image_format: str = "png"

    @property
    def duration(self) -> float:
        return float(self.count / self.fps)

    def describe(self) -> str:
        frames = (
            f"frame {self.first}"
            if self.count == 1
            else (f"frames {self.first}-{self.first + self.count - 1}")
        )
        if self.kind is OutputKind.IMAGE:
            return f"{self.image_format.upper()} image {self.width}x{self.height}, {frames}"
        return (
            f"H.264 MP4 {self.width}x{self.height} at {float(self.fps):g} fps, {frames}, "
            f"preset {self.preset}, crf {CRF}"
        )


def plan_output(
    settings: OutputSettings, *, width: int, height: int, fps: float, total_frames: int
) -> OutputPlan:
    """The output for a composition of ``total_frames`` frames, or ``RenderError`` if impossible.

    ``frames: [a, b]`` is inclusive at both ends, as aerender's start and end frames are.
    """
    if settings.type not in ("video", "image"):
        raise RenderError(f"Output type '{settings.type}' is not supported by the local renderer")
    rate = frame_rate(fps)
    if settings.type == "image":
        frame = _image_frame(settings.frames)
        _check_range(frame, frame, total_frames)
        image_format = "jpeg" if settings.codec == "image_jpeg" else "png"
        return OutputPlan(OutputKind.IMAGE, width, height, rate, frame, 1, image_format=image_format)
    first, last = _video_range(settings.frames, total_frames)
    _check_range(first, last, total_frames)
    if settings.fast:
        last = first
    scale = 2 if settings.preview else 1
    return OutputPlan(
        OutputKind.VIDEO,
        _even(width // scale),
        _even(height // scale),
        rate,
        first,
        last - first + 1,
        preset="ultrafast"
        if settings.preview or settings.fast or settings.quality == "draft"
        else "veryfast",
    )


def codec_note(settings: OutputSettings, plan: OutputPlan) -> str | None:
    """A warning when the job names a codec that the local output only stands in for."""
    if settings.codec is None or settings.codec in ("image_png", "image_jpeg"):
        return None
    local = "H.264" if plan.kind is OutputKind.VIDEO else plan.image_format.upper()
    return f"codec '{settings.codec}' is written locally as {local}"


def frame_rate(fps: float) -> Fraction:
    """``fps`` as an exact fraction: 29.97 is NTSC's 30000/1001, not 2997/100."""
    fps = float(fps)
    nominal = round(fps * 1.001)
    if not fps.is_integer() and abs(fps - nominal / 1.001) < 0.005:
        return Fraction(nominal * 1000, 1001)
    return Fraction(fps).limit_denominator(1000)


def _image_frame(frames: tuple[int, int] | int | None) -> int:
    if frames is None:
        return 0
    return frames if isinstance(frames, int) else frames[0]


def _video_range(frames: tuple[int, int] | int | None, total: int) -> tuple[int, int]:
    if frames is None:
        return 0, total - 1
    if isinstance(frames, int):
        return frames, frames
    return frames[0], frames[1]


def _check_range(first: int, last: int, total: int) -> None:
    if not 0 <= first <= last < total:
        span = f"{first}" if first == last else f"[{first}, {last}]"
        raise RenderError(f"Frame {span} is outside the composition, which has frames 0-{total - 1}")


def _even(size: int) -> int:
    """H.264 in yuv420p needs even dimensions."""
    return max(2, size - size % 2)
