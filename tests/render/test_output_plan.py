"""Output settings to a concrete output: sizes, frame ranges, presets, and what is refused."""

from __future__ import annotations

from fractions import Fraction

import pytest

from nexspec.errors import RenderError
from nexspec.render import OutputSettings
from nexspec.render.output import OutputKind, OutputPlan, codec_note, plan_output


def plan(settings: OutputSettings, width: int = 1920, height: int = 1080, fps: float = 25) -> OutputPlan:
    return plan_output(settings, width=width, height=height, fps=fps, total_frames=125)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (OutputSettings(), (OutputKind.VIDEO, 1920, 1080, 0, 125, "veryfast")),
        (OutputSettings(preview=True), (OutputKind.VIDEO, 960, 540, 0, 125, "ultrafast")),
        (OutputSettings(quality="draft"), (OutputKind.VIDEO, 1920, 1080, 0, 125, "ultrafast")),
        (OutputSettings(fast=True), (OutputKind.VIDEO, 1920, 1080, 0, 1, "ultrafast")),
        (OutputSettings(frames=(10, 19)), (OutputKind.VIDEO, 1920, 1080, 10, 10, "veryfast")),
        (OutputSettings(frames=124), (OutputKind.VIDEO, 1920, 1080, 124, 1, "veryfast")),
        (OutputSettings(type="image"), (OutputKind.IMAGE, 1920, 1080, 0, 1, "veryfast")),
        (OutputSettings(type="image", frames=(30, 40)), (OutputKind.IMAGE, 1920, 1080, 30, 1, "veryfast")),
    ],
)
def test_settings_become_a_plan(settings: OutputSettings, expected: tuple[object, ...]) -> None:
    made = plan(settings)
    assert (made.kind, made.width, made.height, made.first, made.count, made.preset) == expected


def test_video_sizes_are_even_and_images_keep_theirs() -> None:
    assert (plan(OutputSettings(), 1281, 721).width, plan(OutputSettings(), 1281, 721).height) == (1280, 720)
    assert plan(OutputSettings(preview=True), 1281, 721).width == 640
    assert plan(OutputSettings(type="image"), 1281, 721).width == 1281


def test_frame_rates_become_exact_fractions() -> None:
    made = plan(OutputSettings(frames=(0, 29)), fps=29.97)
    assert made.fps == Fraction(30000, 1001)
    assert made.duration == pytest.approx(1.001)


def test_image_codecs_choose_the_format() -> None:
    assert plan(OutputSettings(type="image", codec="image_jpeg")).image_format == "jpeg"
    assert plan(OutputSettings(type="image", codec="image_png")).image_format == "png"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (OutputSettings(type="aep"), "Output type 'aep' is not supported by the local renderer"),
        (OutputSettings(frames=(100, 200)), "Frame [100, 200] is outside the composition"),
        (OutputSettings(frames=(-1, 5)), "Frame [-1, 5] is outside the composition"),
        (OutputSettings(frames=(9, 3)), "Frame [9, 3] is outside the composition"),
        (OutputSettings(type="image", frames=125), "Frame 125 is outside the composition"),
    ],
)
def test_impossible_outputs_are_refused(settings: OutputSettings, message: str) -> None:
    with pytest.raises(RenderError) as raised:
        plan(settings)
    assert str(raised.value).startswith(message)


def test_descriptions_name_codec_size_and_frames() -> None:
    assert plan(OutputSettings()).describe() == (
        "H.264 MP4 1920x1080 at 25 fps, frames 0-124, preset veryfast, crf 23"
    )
    assert plan(OutputSettings(type="image", frames=3)).describe() == "PNG image 1920x1080, frame 3"


@pytest.mark.parametrize(
    ("settings", "note"),
    [
        (OutputSettings(), None),
        (
            OutputSettings(codec="video_h264_vbr_15mbps"),
            "codec 'video_h264_vbr_15mbps' is written locally as H.264",
        ),
        (OutputSettings(codec="video_prores_4444"), "codec 'video_prores_4444' is written locally as H.264"),
        (OutputSettings(type="image", codec="image_jpeg"), None),
    ],
)
def test_codecs_the_local_output_stands_in_for_are_noted(settings: OutputSettings, note: str | None) -> None:
    assert codec_note(settings, plan(settings)) == note
