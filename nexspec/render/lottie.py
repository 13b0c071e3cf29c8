"""The faithful local renderer: a Bodymovin (Lottie) export drawn by ThorVG, encoded by PyAV.

Assets are applied to the document first (``lottiedoc``); each frame is then drawn into
ThorVG's own buffer and handed to the encoder as a numpy view of that buffer, uncopied.
"""

from __future__ import annotations

import json
import os
import threading
import time
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from nexspec.errors import RenderError
from nexspec.render import lottiedoc
from nexspec.render.base import SANS, SANS_BOLD, Progress, RenderRequest, RenderResult
from nexspec.render.encode import VideoWriter, decode_audio, write_image
from nexspec.render.joblog import ProgressMeter, RenderLog
from nexspec.render.output import OutputKind, OutputPlan, codec_note, plan_output
from nexspec.render.targets import check_request
from nexspec.templateinfo import TemplateKind

if TYPE_CHECKING:
    from thorvg_python.engine import Engine
    from thorvg_python.paint.text import Text

    from nexspec.render.encode import Pixels

# The first font loaded is ThorVG's fallback for every font it cannot match by name.
BUNDLED_FONTS = (SANS, SANS_BOLD)
FONT_SUFFIXES = (".ttf", ".otf")
# ThorVG's engine, worker threads and loaded fonts are process-wide, and one render already
# keeps every core busy: Lottie renders in one process take turns, one stage at a time.
THORVG = threading.Lock()


class LottieRenderer:
    name = "lottie"

    def render(self, request: RenderRequest, progress: Progress) -> RenderResult:
        log = RenderLog("nexspec local render: lottie (ThorVG + PyAV)")
        path = lottiedoc.lottie_file(request)
        document, plan, audio = _prepare(request, path, log)
        fonts = (*_template_fonts(request.template_root), *request.fonts)
        for font in fonts:
            log.info(f"Font: {font.name}")
        started = time.perf_counter()
        _render(document, plan, request.output, fonts, audio, ProgressMeter(progress, plan.count))
        log.info(f"Wrote {request.output.name}")
        return RenderResult(request.output, plan.count, log.finish(plan.count, _since(started)))


def _since(started: float) -> float:
    return time.perf_counter() - started


def _prepare(
    request: RenderRequest, path: Path, log: RenderLog
) -> tuple[lottiedoc.Json, OutputPlan, tuple[Path, ...]]:
    """The edited document, what to write, and the audio files to mux."""
    # A .zip carrying a project beside its export is rendered by the cloud from the project:
    # its targets are checked against the project, as the cloud would.
    checked = request.info.kind is not TemplateKind.LOTTIE and bool(request.info.compositions)
    if checked:
        check_request(request)
    source = lottiedoc.load_document(path)
    root = lottiedoc.root_name(source)
    document = lottiedoc.select_composition(source, request.composition, root)
    width, height, fps, frames = _geometry(document, path)
    log.info(f"Template: {request.template_name} ({path.name})")
    log.info(
        f"Composition: {request.composition} ({width}x{height}, {fps:g} fps, "
        f"{frames} frames, {frames / fps:.2f} s)"
    )
    try:
        audio = lottiedoc.apply_assets(document, request, log, root=root, checked=checked)
        lottiedoc.embed_images(document, path.parent, log)
    except (KeyError, IndexError, TypeError, AttributeError) as error:
        # The export's JSON is read as it is: a layer or asset missing its expected parts.
        raise RenderError(f"Lottie file '{path.name}' is malformed: {error!r}") from None
    plan = plan_output(request.settings, width=width, height=height, fps=fps, total_frames=frames)
    log.info(f"Output: {plan.describe()}")
    if note := codec_note(request.settings, plan):
        log.warn(note)
    if audio and plan.kind is OutputKind.IMAGE:
        log.warn("audio: an image has no soundtrack; skipped")
        audio = ()
    return document, plan, audio


def _geometry(document: lottiedoc.Json, path: Path) -> tuple[int, int, float, int]:
    try:
        width, height = int(document["w"]), int(document["h"])
        fps = float(document["fr"])
        frames = round(float(document["op"]) - float(document.get("ip", 0)))
    except (KeyError, TypeError, ValueError):
        raise RenderError(f"Lottie file '{path.name}' lacks its size, frame rate or length") from None
    if min(width, height, frames) <= 0 or fps <= 0:
        raise RenderError(f"Lottie file '{path.name}' has an empty size or length")
    return width, height, fps, frames


def _template_fonts(root: Path) -> tuple[Path, ...]:
    if not root.is_dir():
        return ()
    return tuple(sorted(p for p in root.rglob("*") if p.suffix.lower() in FONT_SUFFIXES))


def _render(
    document: lottiedoc.Json,
    plan: OutputPlan,
    output: Path,
    fonts: tuple[Path, ...],
    audio: tuple[Path, ...],
    meter: ProgressMeter,
) -> None:
    meter.advance(0)
    image = plan.kind is OutputKind.IMAGE
    soundtrack = decode_audio(list(audio), plan.duration) if audio else None
    with Stage(document, plan, fonts, straight_alpha=image) as stage:
        if image:
            write_image(output, stage.draw(plan.first), "rgba", plan.image_format)
            meter.advance(1)
            return
        with VideoWriter(output, plan, soundtrack) as writer:
            for done, frame in enumerate(range(plan.first, plan.first + plan.count), start=1):
                writer.write(stage.draw(frame), "rgba")
                meter.advance(done)


@lru_cache(maxsize=1)
def _thorvg() -> tuple[Engine, Text]:
    """The process's ThorVG engine with the bundled fonts loaded; it is never terminated.

    ThorVG counts engine initialisations without a lock, and its last termination unloads
    every font: one engine for the process's lifetime avoids both races.
    """
    from thorvg_python.engine import Engine
    from thorvg_python.paint.text import Text

    engine = Engine(threads=os.cpu_count() or 0)
    fonts = Text(engine)
    for font in BUNDLED_FONTS:
        fonts.font_load(str(font))
    return engine, fonts


class Stage:
    """A ThorVG canvas and animation for one render; frames are drawn into one buffer.

    A stage holds ``THORVG`` from creation to ``close``. ``straight_alpha`` asks for
    unpremultiplied pixels, which a PNG stores; video wants them premultiplied, which
    is a composite over black.
    """

    def __init__(
        self,
        document: lottiedoc.Json,
        plan: OutputPlan,
        fonts: tuple[Path, ...],
        *,
        straight_alpha: bool = False,
    ) -> None:
        THORVG.acquire()
        try:
            self._open(document, plan, fonts, straight_alpha=straight_alpha)
        except BaseException:
            THORVG.release()
            raise

    def _open(
        self, document: lottiedoc.Json, plan: OutputPlan, fonts: tuple[Path, ...], *, straight_alpha: bool
    ) -> None:
        import numpy as np
        from thorvg_python.animation.lottie import LottieAnimation
        from thorvg_python.base import Colorspace, Result
        from thorvg_python.canvas.sw import SwCanvas

        engine, self._loader = _thorvg()
        self._fonts = fonts
        for font in fonts:
            self._loader.font_load(str(font))
        self._canvas = SwCanvas(engine)
        space = Colorspace.ABGR8888S if straight_alpha else Colorspace.ABGR8888
        self._canvas.set_target(plan.width, plan.height, cs=space)
        buffer = self._canvas.buffer_arr
        assert buffer is not None  # set_target has just allocated it
        self._animation = LottieAnimation(engine)
        picture = self._animation.get_picture()
        data = json.dumps(document, ensure_ascii=False).encode()
        if picture.load_data(data, "lottie+json", None, True) != Result.SUCCESS:
            self._free()
            raise RenderError("ThorVG could not load the Lottie animation")
        picture.set_size(plan.width, plan.height)
        self._canvas.add(picture)
        view = np.frombuffer(memoryview(buffer).cast("B"), np.uint8)
        self._pixels: Pixels = view.reshape(plan.height, plan.width, 4)

    def draw(self, frame: int) -> Pixels:
        """Frame ``frame`` (counted from the animation's in-point), as RGBA pixels.

        The array is a view of ThorVG's buffer: the next ``draw`` overwrites it.
        """
        self._animation.set_frame(float(frame))
        self._canvas.update()
        self._canvas.draw(True)
        self._canvas.sync()
        return self._pixels

    def __enter__(self) -> Stage:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._free()
        finally:
            THORVG.release()

    def _free(self) -> None:
        # Fonts are global to ThorVG: a template's own must not leak into the next render.
        for font in self._fonts:
            self._loader.font_unload(str(font))
        self._canvas.destroy()
        self._animation._del()
