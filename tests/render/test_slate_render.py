"""The slate renderer: checks against the template's introspection, then a real H.264 slate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from render_media import probe, rgba, write_png, write_video, write_wav

from nexspec.errors import RenderError
from nexspec.render import OutputSettings, RenderAsset, RenderRequest, RenderResult
from nexspec.render.slate import SlateRenderer
from nexspec.render.slatecard import timecode
from nexspec.templateinfo import (
    Composition,
    Control,
    ControlKind,
    Layer,
    LayerKind,
    TemplateInfo,
    TemplateKind,
)

STILL = OutputSettings(type="image", frames=12)


def project(*controls: str) -> TemplateInfo:
    main = Composition(
        "main",
        320,
        180,
        25.0,
        1.2,
        (
            Layer("title", LayerKind.TEXT, 1),
            Layer("logo", LayerKind.FOOTAGE, 2),
            Layer("music", LayerKind.AUDIO, 3),
            Layer("intro", LayerKind.PRECOMP, 4, source_comp="intro"),
        ),
    )
    intro = Composition("intro", 320, 180, 25.0, 1.2, (Layer("caption", LayerKind.TEXT, 1),))
    return TemplateInfo(
        TemplateKind.AEP,
        (main, intro),
        tuple(Control(name, ControlKind.TEXT) for name in controls),
        project="promo.aep",
    )


def slate(
    tmp_path: Path,
    *assets: RenderAsset,
    info: TemplateInfo | None = None,
    composition: str = "main",
    settings: OutputSettings | None = None,
    name: str = "slate",
) -> RenderResult:
    settings = settings or OutputSettings()
    suffix = ".png" if settings.type == "image" else ".mp4"
    request = RenderRequest(
        template_root=tmp_path / "promo.aep",
        info=info or project(),
        template_name="promo",
        composition=composition,
        assets=assets,
        settings=settings,
        output=tmp_path / f"{name}{suffix}",
    )
    return SlateRenderer().render(request, lambda percent: None)


def test_slate_is_an_h264_video_of_the_composition(tmp_path: Path) -> None:
    tone = write_wav(tmp_path / "tone.wav", seconds=2.0)
    result = slate(
        tmp_path,
        RenderAsset("text", layer_name="title", value="Hello"),
        RenderAsset("audio", layer_name="music", src=tone),
    )

    video = probe(result.output)
    assert (video.codec, video.width, video.height, video.rate) == ("h264", 320, 180, 25.0)
    assert len(video.frames) == result.frames == 30
    assert video.duration == pytest.approx(1.2, abs=0.05)
    assert video.audio == ("aac", 48_000, 2)
    assert result.log[1].startswith("WARNING: After Effects cannot run on this machine")


def test_the_slate_shows_the_values_and_runs_a_timecode(tmp_path: Path) -> None:
    plain = rgba(slate(tmp_path, settings=STILL, name="plain").output)
    texted = rgba(
        slate(tmp_path, RenderAsset("text", layer_name="title", value="Hello"), settings=STILL).output
    )
    later = rgba(slate(tmp_path, settings=OutputSettings(type="image", frames=25), name="later").output)

    assert not np.array_equal(plain[60:120], texted[60:120])  # the body lists the value
    assert np.array_equal(plain[:100], later[:100]) and not np.array_equal(plain, later)


def test_images_appear_as_thumbnails(tmp_path: Path) -> None:
    blue = write_png(tmp_path / "blue.png", (64, 64), (0, 0, 255, 255))
    clip = write_video(tmp_path / "clip.mp4", (0, 255, 0))
    result = slate(
        tmp_path,
        RenderAsset("image", layer_name="logo", src=blue),
        RenderAsset("video", layer_name="logo", src=clip),
        settings=STILL,
    )

    pixels = rgba(result.output)[..., :3].reshape(-1, 3).astype(int)
    assert ((pixels[:, 2] > 200) & (pixels[:, 0] < 40)).any()
    assert ((pixels[:, 1] > 200) & (pixels[:, 0] < 60)).any()


def test_same_request_gives_the_same_bytes(tmp_path: Path) -> None:
    asset = RenderAsset("text", layer_name="title", value="Twice")
    first = slate(tmp_path, asset, name="first").output.read_bytes()
    assert first == slate(tmp_path, asset, name="second").output.read_bytes()


@pytest.mark.parametrize(
    ("asset", "composition", "message"),
    [
        (None, "nope", "Composition 'nope' not found"),
        (
            RenderAsset("text", layer_name="subtitle", value="x"),
            "main",
            "Layer 'subtitle' not found in composition 'main'",
        ),
        (
            RenderAsset("image", layer_name="logo", src=Path("x.png"), composition="outro"),
            "main",
            "Composition 'outro' not found",
        ),
        (
            RenderAsset("text", layer_name="title", value="x", composition="main->intro"),
            "main",
            "Layer 'title' not found in composition 'intro'",
        ),
        (
            RenderAsset("audio", layer_name="voice", src=Path("v.wav")),
            "main",
            "Layer 'voice' not found in composition 'main'",
        ),
        (None, "main->outro", "Composition 'outro' not found"),
    ],
)
def test_errors_are_worded_like_nexrender_cloud_job_errors(
    tmp_path: Path, asset: RenderAsset | None, composition: str, message: str
) -> None:
    with pytest.raises(RenderError) as raised:
        slate(tmp_path, *([asset] if asset else []), composition=composition)
    assert str(raised.value) == message


def test_a_nested_composition_path_renders_the_inner_composition(tmp_path: Path) -> None:
    caption = RenderAsset("text", layer_name="caption", value="Inner")
    result = slate(tmp_path, caption, composition="main->intro", settings=STILL)
    assert "PROGRESS: Composition: main->intro (320x180, 25 fps, 1.20 s)" in result.log


def test_essential_assets_must_name_a_control_when_there_are_controls(tmp_path: Path) -> None:
    colour = RenderAsset("essential", layer_name="Colour", value="#ff0000")
    with pytest.raises(RenderError, match="Essential Graphics control 'Colour' not found"):
        slate(tmp_path, colour, info=project("Title", "Color"), settings=STILL)
    slate(tmp_path, colour, info=project("Colour"), settings=STILL)
    slate(tmp_path, colour, info=project(), settings=STILL)


def test_a_template_never_introspected_gets_a_full_hd_slate(tmp_path: Path) -> None:
    info = TemplateInfo(TemplateKind.MOGRT, project="card.mogrt")
    result = slate(tmp_path, info=info, composition="anything", settings=OutputSettings(fast=True))

    video = probe(result.output)
    assert (video.width, video.height, len(video.frames)) == (1920, 1080, 1)
    assert any("was not introspected" in line for line in result.log)


def test_image_output_is_a_png_at_preview_sizes_too(tmp_path: Path) -> None:
    still = slate(tmp_path, settings=STILL).output
    preview = probe(slate(tmp_path, settings=OutputSettings(preview=True)).output)

    assert still.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and rgba(still).shape == (180, 320, 4)
    assert (preview.width, preview.height) == (160, 90)


@pytest.mark.parametrize(
    ("frame", "fps", "shown"),
    [
        (0, 25, "00:00:00:00"),
        (37, 25, "00:00:01:12"),
        (90_000, 25, "01:00:00:00"),
        (59, 29.97, "00:00:01:29"),
    ],
)
def test_timecode(frame: int, fps: float, shown: str) -> None:
    assert timecode(frame, fps) == shown


def test_many_values_and_unreadable_images_still_make_a_slate(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    texts = [RenderAsset("text", layer_name="title", value=f"Value number {n}") for n in range(30)]
    result = slate(tmp_path, *texts, RenderAsset("image", layer_name="logo", src=broken), settings=STILL)

    assert rgba(result.output).shape == (180, 320, 4)
    assert sum(line.startswith("PROGRESS: Asset ") for line in result.log) == 31
