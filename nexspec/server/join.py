"""``POST /jobs/join`` rendered locally: videos concatenated, in order, into one H.264 MP4.

Every input is scaled to the first one's size and played at its frame rate. Sound is not
carried over (a local choice, documented).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from nexspec.errors import RenderError
from nexspec.render.encode import VideoWriter
from nexspec.render.output import OutputKind, OutputPlan


def join_videos(
    inputs: list[Path], output: Path, *, fast: bool, progress: Callable[[float], None]
) -> tuple[int, list[str]]:
    """Write the concatenation of ``inputs`` to ``output``; the frame count and a log."""
    width, height, rate = _geometry(inputs[0])
    plan = OutputPlan(OutputKind.VIDEO, width, height, rate, 0, 1, preset="ultrafast" if fast else "veryfast")
    log = [f"PROGRESS: Join: {len(inputs)} input(s) at {width}x{height}, {float(rate):g} fps"]
    frames = 0
    with VideoWriter(output, plan) as writer:
        for number, path in enumerate(inputs, start=1):
            count = _append(writer, path, number, width, height, fast=fast)
            log.append(f"PROGRESS: Input {number}: {count} frame(s)")
            frames += count
            progress(100.0 * number / len(inputs))
    return frames, log


def _geometry(path: Path) -> tuple[int, int, Fraction]:
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise RenderError("Join input 1 has no video stream")
            stream = container.streams.video[0]
            rate = Fraction(stream.average_rate or 25).limit_denominator(1001)
            return _even(stream.codec_context.width), _even(stream.codec_context.height), rate
    except av.FFmpegError as exc:
        raise RenderError(f"Join input 1 cannot be read: {exc}") from None


def _append(writer: VideoWriter, path: Path, number: int, width: int, height: int, *, fast: bool) -> int:
    import av

    count = 0
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise RenderError(f"Join input {number} has no video stream")
            for frame in container.decode(video=0):
                pixels = frame.to_ndarray(format="rgb24", width=width, height=height)
                writer.write(pixels, "rgb24")  # type: ignore[arg-type]
                count += 1
                if fast:
                    break
    except av.FFmpegError as exc:
        raise RenderError(f"Join input {number} cannot be read: {exc}") from None
    return count


def _even(size: int) -> int:
    return max(2, size - size % 2)
