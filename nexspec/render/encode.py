"""Media in and out with PyAV and Pillow: MP4 (H.264, AAC) and PNG/JPEG out; audio, stills in.

Renderers hand over frames as numpy views of their own buffers; nothing here keeps a
reference to a frame after ``write`` returns, so a renderer may reuse its buffer at once.
"""

from __future__ import annotations

import os
import queue
import threading
from contextlib import suppress
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from nexspec.errors import RenderError
from nexspec.render.output import CRF, OutputPlan

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from av.audio.frame import AudioFrame
    from av.audio.stream import AudioStream
    from av.container import OutputContainer
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream
    from PIL import Image

    Pixels = npt.NDArray[np.uint8]
    Samples = npt.NDArray[np.float32]

AUDIO_RATE = 48_000
AAC_FRAME = 1024  # samples per AAC frame
QUEUED_FRAMES = 4  # enough to keep x264 busy, few enough to bound memory at 4K
BT709 = 1  # ISO/IEC 23001-8 code for primaries, transfer and matrix alike


def decode_audio(paths: list[Path], seconds: float) -> Samples:
    """The mix of ``paths`` as 48 kHz stereo float samples, shape (2, n), cut to ``seconds``."""
    import numpy as np

    limit = max(1, round(seconds * AUDIO_RATE))
    tracks = [_decode_track(path, limit) for path in paths]
    mix = np.zeros((2, max(track.shape[1] for track in tracks)), np.float32)
    for track in tracks:
        mix[:, : track.shape[1]] += track
    return np.clip(mix, -1.0, 1.0)


def _decode_track(path: Path, limit: int) -> Samples:
    import av
    import numpy as np

    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
    chunks: list[Samples] = []
    decoded = 0
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise RenderError(f"Audio file '{path.name}' has no audio stream")
            for frame in container.decode(container.streams.audio[0]):
                for out in resampler.resample(frame):
                    chunks.append(_samples(out))
                    decoded += out.samples
                if decoded >= limit:
                    break
    except av.FFmpegError as error:
        raise RenderError(f"Audio file '{path.name}' could not be decoded: {error}") from None
    if not chunks:
        return np.zeros((2, 0), np.float32)
    return np.concatenate(chunks, axis=1)[:, :limit].astype(np.float32, copy=False)


def _samples(frame: AudioFrame) -> Samples:
    import numpy as np

    return np.asarray(frame.to_ndarray(), dtype=np.float32)


def first_video_frame(path: Path) -> Image.Image:
    """The first picture of a video file, or ``RenderError`` when there is none."""
    import av
    from PIL import Image

    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            return Image.fromarray(frame.to_ndarray(format="rgb24"))
    except (av.FFmpegError, StopIteration, IndexError) as error:
        raise RenderError(f"Video '{path.name}' cannot be read: {error or 'no frames'}") from None


class VideoWriter:
    """An H.264 MP4 being written, with the soundtrack (if any) interleaved as frames arrive.

    Frames are converted to YUV in ``write`` and encoded on a worker thread, so a renderer
    draws the next frame while x264 compresses the last one (both release the GIL).
    """

    def __init__(self, path: Path, plan: OutputPlan, audio: Samples | None = None) -> None:
        import av

        self._plan = plan
        self._audio = audio
        self._audio_sent = 0
        self._failure: BaseException | None = None
        self._queue: queue.Queue[VideoFrame | None] = queue.Queue(maxsize=QUEUED_FRAMES)
        self._container: OutputContainer = av.open(
            str(path), "w", format="mp4", options={"movflags": "+faststart"}
        )
        self._video = self._add_video(plan)
        self._sound = self._add_audio() if audio is not None and audio.shape[1] else None
        try:
            self._container.start_encoding()  # opens the file: fail here, not on a worker
        except (av.FFmpegError, OSError) as error:
            raise RenderError(f"Cannot write '{path.name}': {error}") from None
        self._frames = 0
        self._worker = threading.Thread(target=self._encode_all, name="nexspec-x264", daemon=True)
        self._worker.start()

    def _add_video(self, plan: OutputPlan) -> VideoStream:
        stream = self._container.add_stream(
            "libx264", rate=plan.fps, options={"preset": plan.preset, "crf": str(CRF)}
        )
        stream.width, stream.height, stream.pix_fmt = plan.width, plan.height, "yuv420p"
        context = stream.codec_context
        context.color_primaries = context.color_trc = context.colorspace = BT709
        context.color_range = 1  # limited ("tv") range, what players expect from H.264
        return stream

    def _add_audio(self) -> AudioStream:
        stream = self._container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        stream.format = "fltp"
        return stream

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:  # the renderer failed: its error is the one to report
            self._stop()
            with suppress(Exception):
                self._container.close()

    def write(self, pixels: Pixels, pixel_format: str) -> None:
        """Queue one frame: ``pixels`` is (height, width, channels) in ``pixel_format``."""
        import av

        self._raise_failure()
        frame = av.VideoFrame.from_numpy_buffer(pixels, format=pixel_format).reformat(
            width=self._plan.width,
            height=self._plan.height,
            format="yuv420p",
            dst_colorspace="ITU709",
            dst_color_range="MPEG",
            threads=os.cpu_count() or 1,
        )
        frame.pts, frame.time_base = self._frames, 1 / self._plan.fps
        self._frames += 1
        self._queue.put(frame)

    def close(self) -> None:
        self._stop()
        try:
            self._raise_failure()
        finally:
            self._container.close()

    def _stop(self) -> None:
        self._queue.put(None)
        self._worker.join()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise RenderError(f"Encoding failed: {self._failure}") from self._failure

    def _encode_all(self) -> None:
        try:
            while (frame := self._queue.get()) is not None:
                self._container.mux(self._video.encode(frame))
                self._send_audio(until=float(((frame.pts or 0) + 1) / self._plan.fps * AUDIO_RATE))
            self._send_audio(until=self._audio.shape[1] if self._audio is not None else 0)
            self._container.mux(self._video.encode(None))
            if self._sound is not None:
                self._container.mux(self._sound.encode(None))
        except Exception as error:  # reported to the renderer's thread by write/close
            self._failure = error
            while self._queue.get() is not None:
                pass

    def _send_audio(self, until: float) -> None:
        import av

        if self._sound is None or self._audio is None:
            return
        while self._audio_sent < min(until, self._audio.shape[1]):
            chunk = self._audio[:, self._audio_sent : self._audio_sent + AAC_FRAME]
            frame = av.AudioFrame.from_ndarray(chunk.copy(order="C"), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = AUDIO_RATE, self._audio_sent
            frame.time_base = Fraction(1, AUDIO_RATE)
            self._container.mux(self._sound.encode(frame))
            self._audio_sent += chunk.shape[1]


def write_image(path: Path, pixels: Pixels, pixel_format: str, image_format: str) -> None:
    """Save one frame as PNG (keeping alpha) or JPEG."""
    from PIL import Image

    mode = {"rgba": "RGBA", "rgb24": "RGB"}[pixel_format]
    image = Image.frombuffer(mode, (pixels.shape[1], pixels.shape[0]), pixels.tobytes())
    try:
        if image_format == "jpeg":
            image.convert("RGB").save(path, "JPEG", quality=92)
        else:
            image.save(path, "PNG")
    except OSError as error:
        raise RenderError(f"Cannot write '{path.name}': {error}") from None
