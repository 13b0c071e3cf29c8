"""The slate renderer, for After Effects templates (.aep, .zip, .mogrt) that cannot render here.

It writes what the job would inject, as a video of the composition's size, rate and length:
a PREVIEW card listing every text value and image, with a running timecode and progress bar.
The request is checked against the template's introspection first, as the cloud would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nexspec.errors import RenderError
from nexspec.render.base import Progress, RenderAsset, RenderRequest, RenderResult
from nexspec.render.encode import VideoWriter, decode_audio, first_video_frame, write_image
from nexspec.render.joblog import ProgressMeter, RenderLog
from nexspec.render.output import OutputKind, OutputPlan, codec_note, plan_output
from nexspec.render.slatecard import Card, CardEntry, Footer
from nexspec.render.targets import check_request

if TYPE_CHECKING:
    from PIL import Image

# When the template was never introspected there is no composition to take a size from.
FALLBACK = (1920, 1080, 25.0, 10.0)


@dataclass(frozen=True, slots=True)
class Geometry:
    width: int
    height: int
    fps: float
    duration: float

    @property
    def frames(self) -> int:
        return max(1, round(self.duration * self.fps))


class SlateRenderer:
    name = "slate"

    def render(self, request: RenderRequest, progress: Progress) -> RenderResult:
        log = RenderLog("nexspec local render: slate (Pillow + PyAV)")
        log.warn(
            "After Effects cannot run on this machine: this output is a slate listing the "
            "job's values, not a render of the template"
        )
        geometry = _geometry(request, log)
        plan = plan_output(
            request.settings,
            width=geometry.width,
            height=geometry.height,
            fps=geometry.fps,
            total_frames=geometry.frames,
        )
        log.info(f"Output: {plan.describe()}")
        if note := codec_note(request.settings, plan):
            log.warn(note)
        card = Card(
            template=request.template_name,
            composition=request.composition,
            summary=_summary(geometry),
            entries=tuple(_entries(request.assets, log)),
        )
        started = time.perf_counter()
        audio = [a.src for a in request.assets if a.type == "audio" and a.src is not None]
        meter = ProgressMeter(progress, plan.count)
        _render(card, plan, request.output, audio, meter, total=geometry.frames)
        log.info(f"Wrote {request.output.name}")
        return RenderResult(request.output, plan.count, log.finish(plan.count, _since(started)))


def _since(started: float) -> float:
    return time.perf_counter() - started


def _geometry(request: RenderRequest, log: RenderLog) -> Geometry:
    log.info(f"Template: {request.template_name} ({request.info.kind.value})")
    if not request.info.compositions:
        log.warn(
            "the template was not introspected: its compositions and layers are not "
            "checked, and the slate uses 1920x1080 at 25 fps for 10 s"
        )
        return Geometry(*FALLBACK)
    comp = check_request(request)
    log.info(
        f"Composition: {request.composition} ({comp.width}x{comp.height}, {comp.fps:g} fps, "
        f"{comp.duration:.2f} s)"
    )
    return Geometry(comp.width, comp.height, comp.fps, comp.duration)


def _summary(geometry: Geometry) -> str:
    return (
        f"{geometry.width}×{geometry.height}  ·  {geometry.fps:g} fps  ·  "
        f"{geometry.duration:.2f} s  ·  {geometry.frames} frames"
    )


def _entries(assets: tuple[RenderAsset, ...], log: RenderLog) -> list[CardEntry]:
    entries = []
    for asset in assets:
        entry = _entry(asset)
        log.info(f"Asset {asset.type} -> {entry.label}: {entry.value}")
        entries.append(entry)
    return entries


def _entry(asset: RenderAsset) -> CardEntry:
    target = asset.layer_name or asset.name or ""
    if asset.composition:
        target = f"{asset.composition} › {target}"
    if asset.type in ("image", "video") and asset.src is not None:
        return CardEntry(asset.type, target, asset.src.name, picture=_picture(asset))
    if asset.type == "data":
        detail = f"{asset.property}: " if asset.property else ""
        return CardEntry("data", target, f"{detail}{_text(asset.value)}")
    if asset.src is not None:
        return CardEntry(asset.type, target or asset.src.name, asset.src.name)
    return CardEntry(asset.type, target, _text(asset.value))


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _picture(asset: RenderAsset) -> Image.Image | None:
    """A thumbnail source: the image itself, or a video's first frame; None when unreadable."""
    from PIL import Image, UnidentifiedImageError

    assert asset.src is not None
    try:
        if asset.type == "video":
            return first_video_frame(asset.src)
        with Image.open(asset.src) as image:
            image.load()
            return image
    except (OSError, UnidentifiedImageError, RenderError):
        return None


def _render(
    card: Card,
    plan: OutputPlan,
    output: Path,
    audio: list[Path],
    meter: ProgressMeter,
    *,
    total: int,
) -> None:
    meter.advance(0)
    footer = Footer(card.draw(plan.width, plan.height), plan, total)
    if plan.kind is OutputKind.IMAGE:
        write_image(output, footer.frame(plan.first), "rgb24", plan.image_format)
        meter.advance(1)
        return
    soundtrack = decode_audio(audio, plan.duration) if audio else None
    with VideoWriter(output, plan, soundtrack) as writer:
        for done, frame in enumerate(range(plan.first, plan.first + plan.count), start=1):
            writer.write(footer.frame(frame), "rgb24")
            meter.advance(done)
