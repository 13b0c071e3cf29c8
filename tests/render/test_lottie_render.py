"""The Lottie renderer, end to end: real ThorVG renders at 320x180, read back with PyAV."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from render_media import (
    FPS,
    FRAMES,
    HEIGHT,
    SAMPLES,
    WIDTH,
    Make,
    lottie_document,
    probe,
    rgba,
    write_png,
    write_video,
    write_wav,
)

from nexspec.errors import RenderError
from nexspec.render import OutputSettings, RenderAsset, RenderRequest, RenderResult
from nexspec.render.base import SANS_BOLD
from nexspec.render.lottie import LottieRenderer
from nexspec.templateinfo import Composition, Layer, LayerKind, TemplateInfo, TemplateKind

TITLE_BAND = (slice(70, 112), slice(60, 260))  # rows, columns around the title
LOGO_CENTRE = (40, 40)
STILL = OutputSettings(type="image", frames=10)


def render(request: RenderRequest) -> RenderResult:
    return LottieRenderer().render(request, lambda percent: None)


def title(value: str) -> RenderAsset:
    return RenderAsset("text", layer_name="title", value=value)


def test_video_is_h264_at_the_composition_size_rate_and_length(make_request: Make) -> None:
    seen: list[float] = []
    result = LottieRenderer().render(make_request(title("Launch")), seen.append)

    video = probe(result.output)
    assert (video.codec, video.width, video.height, video.pix_fmt) == ("h264", WIDTH, HEIGHT, "yuv420p")
    assert (len(video.frames), result.frames, video.rate) == (FRAMES, FRAMES, 25.0)
    assert video.duration == pytest.approx(2.0, abs=0.05)
    assert video.audio is None
    assert seen[0] == 0.0 and seen[-1] == 100.0 and seen == sorted(seen)


def test_the_output_starts_with_its_index_for_fast_start(make_request: Make) -> None:
    data = render(make_request()).output.read_bytes()

    assert data.index(b"moov") < data.index(b"mdat")


def test_log_reads_like_an_aerender_log(make_request: Make) -> None:
    log = render(make_request(title("Launch"))).log

    assert "PROGRESS: Composition: main (320x180, 25 fps, 50 frames, 2.00 s)" in log
    assert "PROGRESS: Asset text -> layer 'title': \"Launch\"" in log
    assert any(line.startswith("PROGRESS: Rendered 50 frame(s) in ") for line in log)
    assert log[-1].startswith("PROGRESS: Total Time Elapsed: ")


def test_a_replaced_title_changes_the_title_band_only(make_request: Make) -> None:
    default = rgba(render(make_request(settings=STILL)).output)
    replaced = rgba(render(make_request(title("WWWWWWWW"), settings=STILL)).output)

    assert not np.array_equal(default[TITLE_BAND], replaced[TITLE_BAND])
    assert np.array_equal(default[:60], replaced[:60])
    assert np.array_equal(default[120:], replaced[120:])


def test_same_input_gives_the_same_bytes(make_request: Make) -> None:
    first = render(make_request(title("Same"))).output
    second = render(make_request(title("Same"))).output

    assert first.read_bytes() == second.read_bytes()
    assert probe(first).hashes() == probe(second).hashes()


def test_an_image_asset_replaces_the_logo(make_request: Make, tmp_path: Path) -> None:
    blue = write_png(tmp_path / "blue.png", (80, 80), (0, 0, 255, 255))
    still = rgba(
        render(make_request(RenderAsset("image", layer_name="logo", src=blue), settings=STILL)).output
    )
    default = rgba(render(make_request(settings=STILL)).output)

    assert tuple(default[LOGO_CENTRE][:3]) == (255, 0, 0)
    assert tuple(still[LOGO_CENTRE][:3]) == (0, 0, 255)


def test_an_image_of_another_shape_is_centred_in_the_layer(make_request: Make, tmp_path: Path) -> None:
    wide = write_png(tmp_path / "wide.png", (80, 40), (0, 0, 255, 255))
    result = render(make_request(RenderAsset("image", layer_name="logo", src=wide), settings=STILL))
    still = rgba(result.output)

    assert tuple(still[LOGO_CENTRE][:3]) == (0, 0, 255)
    assert tuple(still[22, 40][:3]) != (0, 0, 255)  # above the letterboxed image: background
    assert any("centred in the layer's 40x40 box" in line for line in result.log)


def test_a_video_asset_shows_its_first_frame(make_request: Make, tmp_path: Path) -> None:
    clip = write_video(tmp_path / "clip.mp4", (0, 255, 0))
    result = render(make_request(RenderAsset("video", layer_name="logo", src=clip), settings=STILL))

    red, green, blue = rgba(result.output)[LOGO_CENTRE][:3]
    assert green > 200 and red < 60 and blue < 60
    assert any("first frame is used" in line for line in result.log)


def test_an_audio_asset_is_muxed_as_aac_cut_to_the_video(make_request: Make, tmp_path: Path) -> None:
    tone = write_wav(tmp_path / "tone.wav", seconds=3.0)
    result = render(make_request(RenderAsset("audio", layer_name="music", src=tone)))

    video = probe(result.output)
    assert video.audio == ("aac", 48_000, 2)
    assert video.audio_duration == pytest.approx(2.0, abs=0.05)
    assert len(video.frames) == FRAMES
    assert any("no layer 'music' in the Lottie export" in line for line in result.log)


@pytest.mark.parametrize(
    ("asset", "composition", "message"),
    [
        (None, "nope", "Composition 'nope' not found"),
        (
            RenderAsset("text", layer_name="subtitel", value="x"),
            "main",
            "Layer 'subtitel' not found in composition 'main'",
        ),
        (
            RenderAsset("text", layer_name="title", value="x", composition="outro"),
            "main",
            "Composition 'outro' not found",
        ),
        (
            RenderAsset("text", layer_name="title", value="x", composition="intro"),
            "main",
            "Layer 'title' not found in composition 'intro'",
        ),
        (RenderAsset("text", layer_name="logo", value="x"), "main", "Layer 'logo' is not a text layer"),
        (
            RenderAsset("image", layer_name="title", src=Path("x.png")),
            "main",
            "Layer 'title' is not an image layer",
        ),
    ],
)
def test_errors_are_worded_like_nexrender_cloud_job_errors(
    make_request: Make, asset: RenderAsset | None, composition: str, message: str
) -> None:
    request = make_request(*([asset] if asset else []), composition=composition)

    with pytest.raises(RenderError) as raised:
        render(request)
    assert str(raised.value) == message


def test_a_precomposition_renders_as_the_job_composition(make_request: Make) -> None:
    caption = RenderAsset("text", layer_name="caption", value="Chapter one")
    result = render(make_request(caption, composition="intro", settings=STILL))

    still = rgba(result.output)
    assert still.shape == (HEIGHT, WIDTH, 4)
    assert still[150:180].any() and not still[:140].any()  # the caption alone, no background


def test_an_asset_can_target_a_precomposition(make_request: Make) -> None:
    default = rgba(render(make_request(settings=STILL)).output)
    caption = RenderAsset("text", layer_name="caption", value="WWWWWWWW", composition="main->intro")
    changed = rgba(render(make_request(caption, settings=STILL)).output)

    assert not np.array_equal(default[150:], changed[150:])


def test_data_assets_set_source_text_and_transforms(make_request: Make) -> None:
    default = rgba(render(make_request(settings=STILL)).output)
    text = RenderAsset("data", layer_name="title", property="Source Text", value="WWWWWWWW")
    hidden = RenderAsset("data", layer_name="subtitle", property="Transform.Opacity", value=0)
    effect = RenderAsset("data", layer_name="subtitle", property="Effects.Glow.Radius", value=3)
    result = render(make_request(text, hidden, effect, settings=STILL))
    changed = rgba(result.output)

    assert not np.array_equal(default[TITLE_BAND], changed[TITLE_BAND])
    assert len(np.unique(changed[125:150].reshape(-1, 4), axis=0)) == 1  # subtitle gone
    assert any("'Effects.Glow.Radius' is not applied" in line for line in result.log)


def test_assets_without_a_lottie_meaning_are_logged_not_failed(make_request: Make, tmp_path: Path) -> None:
    assets = (
        RenderAsset("static", src=tmp_path / "data.csv", name="data.csv"),
        RenderAsset("script", src=tmp_path / "run.jsx"),
        RenderAsset("function", name="nx:fit"),
        RenderAsset("essential", layer_name="Colour", value="#ff0000"),
    )
    log = render(make_request(*assets, settings=STILL)).log

    assert "WARNING: static asset 'data.csv': not applicable to a Lottie render" in log
    assert "WARNING: essential asset 'Colour': not applicable to a Lottie render" in log
    assert sum("not applicable to a Lottie render" in line for line in log) == 4


@pytest.mark.parametrize(
    ("settings", "size", "count"),
    [
        (OutputSettings(preview=True), (160, 90), FRAMES),
        (OutputSettings(frames=(5, 14)), (WIDTH, HEIGHT), 10),
        (OutputSettings(frames=7), (WIDTH, HEIGHT), 1),
        (OutputSettings(fast=True), (WIDTH, HEIGHT), 1),
    ],
)
def test_settings_choose_size_and_frames(
    make_request: Make, settings: OutputSettings, size: tuple[int, int], count: int
) -> None:
    result = render(make_request(settings=settings))

    video = probe(result.output)
    assert ((video.width, video.height), len(video.frames), result.frames) == (size, count, count)


def test_a_frame_range_picks_those_frames(make_request: Make) -> None:
    whole = probe(render(make_request()).output).frames
    part = probe(render(make_request(settings=OutputSettings(frames=(20, 29)))).output).frames

    def distance(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a[:20].astype(int) - b[:20].astype(int)).mean())  # the marker's band

    assert distance(part[0], whole[20]) < 1.0 < distance(part[0], whole[0])
    assert distance(part[-1], whole[29]) < 1.0


def test_image_output_is_a_png_of_the_frame(make_request: Make) -> None:
    result = render(make_request(settings=OutputSettings(type="image", frames=3)))

    assert result.output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert rgba(result.output).shape == (HEIGHT, WIDTH, 4)
    assert result.frames == 1


def test_image_jpeg_codec_writes_a_jpeg(make_request: Make) -> None:
    settings = OutputSettings(type="image", frames=3, codec="image_jpeg")
    assert render(make_request(settings=settings)).output.read_bytes()[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (OutputSettings(frames=(40, 80)), "Frame [40, 80] is outside the composition, which has frames 0-49"),
        (
            OutputSettings(type="image", frames=50),
            "Frame 50 is outside the composition, which has frames 0-49",
        ),
        (OutputSettings(type="aep"), "Output type 'aep' is not supported by the local renderer"),
    ],
)
def test_impossible_settings_fail(make_request: Make, settings: OutputSettings, message: str) -> None:
    with pytest.raises(RenderError, match=re.escape(message)):
        render(make_request(settings=settings))


def test_a_folder_template_finds_its_export_images_and_fonts(make_request: Make, tmp_path: Path) -> None:
    folder = tmp_path / "bundle"
    (folder / "anim" / "images").mkdir(parents=True)
    write_png(folder / "anim" / "images" / "img_0.png", (40, 40), (0, 0, 255, 255))
    shutil.copy(SANS_BOLD, folder / "Brand-Bold.ttf")
    document = lottie_document()
    document["assets"][0].update({"u": "images/", "p": "img_0.png", "e": 0})
    heading = next(layer for layer in document["layers"] if layer["nm"] == "title")
    heading["t"]["d"]["k"][0]["s"]["f"] = "Brand-Bold"
    (folder / "anim" / "data.json").write_text(json.dumps(document), encoding="utf-8")
    info = TemplateInfo(TemplateKind.LOTTIE, lottie="anim/data.json")

    result = render(make_request(template_root=folder, info=info, settings=STILL))

    still = rgba(result.output)
    bold = rgba(render(make_request(settings=STILL)).output)  # the same title in DejaVu Bold
    assert tuple(still[LOGO_CENTRE][:3]) == (0, 0, 255)
    assert np.array_equal(still[TITLE_BAND], bold[TITLE_BAND])
    assert "PROGRESS: Font: Brand-Bold.ttf" in result.log


def test_a_zip_is_checked_against_its_after_effects_project(make_request: Make) -> None:
    project = Composition(
        "main",
        WIDTH,
        HEIGHT,
        FPS,
        2.0,
        (Layer("title", LayerKind.TEXT, 1), Layer("flare", LayerKind.SHAPE, 2)),
    )
    info = TemplateInfo(TemplateKind.ZIP, (project,), project="promo.aep", lottie="promo.json")
    only_in_project = RenderAsset("text", layer_name="flare", value="x")

    result = render(make_request(only_in_project, info=info, settings=STILL))
    assert any("layer 'flare' is not in the Lottie export; skipped" in line for line in result.log)
    with pytest.raises(RenderError, match="Layer 'subtitle' not found in composition 'main'"):
        render(make_request(RenderAsset("text", layer_name="subtitle", value="x"), info=info))


def test_a_template_without_a_lottie_export_fails(make_request: Make, tmp_path: Path) -> None:
    info = TemplateInfo(TemplateKind.ZIP, project="promo.aep")
    with pytest.raises(RenderError, match="has no Lottie"):
        render(make_request(template_root=tmp_path, info=info))


needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason="the shared Lottie samples (../shared/samples) are not on this machine"
)


@needs_samples
def test_glyph_text_falls_back_to_fonts_for_missing_characters(tmp_path: Path, make_request: Make) -> None:
    sample = SAMPLES / "lottie-web-text-glyphs-animation-1.json"
    info = TemplateInfo(TemplateKind.LOTTIE, lottie=sample.name)
    asset = RenderAsset("text", layer_name="Foo Bar Baz", value="Foo Bar Baz QXW")
    settings = OutputSettings(type="image", frames=100)

    kept = render(
        make_request(
            RenderAsset("text", layer_name="Foo Bar Baz", value="Baz Bar"),
            template_root=sample,
            info=info,
            composition="range selectors",
            settings=settings,
        )
    )
    dropped = render(
        make_request(asset, template_root=sample, info=info, composition="range selectors", settings=settings)
    )

    assert not any("not embedded" in line for line in kept.log)
    assert any("glyphs for 'QWX' are not embedded" in line for line in dropped.log)
    assert rgba(dropped.output)[..., 3].any()


@needs_samples
def test_font_text_without_its_font_uses_the_bundled_one(make_request: Make) -> None:
    sample = SAMPLES / "lottie-web-text-basic.json"
    document = json.loads(sample.read_text(encoding="utf-8"))
    layer = document["layers"][0]["nm"]
    info = TemplateInfo(TemplateKind.LOTTIE, lottie=sample.name)
    settings = OutputSettings(type="image", frames=0)

    result = render(
        make_request(
            RenderAsset("text", layer_name=layer, value="Ünïcödé ✓ 123"),
            template_root=sample,
            info=info,
            composition="Lottie Shaper",
            settings=settings,
        )
    )

    still = rgba(result.output)
    assert len(np.unique(still.reshape(-1, 4), axis=0)) > 10  # text drawn, not just solids


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "Lottie file 'promo.json' cannot be read"),
        ('{"v": "5.7.4"}', "Lottie file 'promo.json' is not a Bodymovin animation"),
        (
            '{"nm": "main", "layers": [], "w": 320}',
            "Lottie file 'promo.json' lacks its size, frame rate or length",
        ),
        ('{"nm": "main", "layers": [], "w": 0, "h": 9, "fr": 25, "op": 9}', "has an empty size or length"),
    ],
)
def test_unreadable_templates_fail_clearly(
    make_request: Make, lottie_template: Path, content: str, message: str
) -> None:
    lottie_template.write_text(content, encoding="utf-8")
    with pytest.raises(RenderError, match=re.escape(message)):
        render(make_request())


@pytest.mark.parametrize(
    ("asset", "message"),
    [
        (
            RenderAsset("image", layer_name="logo", src=Path("missing.png")),
            "Image 'missing.png' cannot be read",
        ),
        (
            RenderAsset("video", layer_name="logo", src=Path("missing.mp4")),
            "Video 'missing.mp4' cannot be read",
        ),
        (
            RenderAsset("audio", layer_name="music", src=Path("missing.wav")),
            "Audio file 'missing.wav' could not be decoded",
        ),
        (RenderAsset("audio", layer_name="music"), "Audio asset for layer 'music' has no source file"),
        (RenderAsset("image", layer_name="logo"), "Image asset for layer 'logo' has no source file"),
        (RenderAsset("text", value="x"), "Text asset has no layerName"),
        (
            RenderAsset("data", layer_name="title", property="Position", value="left"),
            "is not a number or a list",
        ),
    ],
)
def test_unusable_assets_fail_clearly(make_request: Make, asset: RenderAsset, message: str) -> None:
    with pytest.raises(RenderError, match=re.escape(message)):
        render(make_request(asset))


def test_an_audio_file_without_sound_fails(make_request: Make, tmp_path: Path) -> None:
    silent = write_video(tmp_path / "silent.mp4", (0, 0, 0))
    with pytest.raises(RenderError, match=r"Audio file 'silent\.mp4' has no audio stream"):
        render(make_request(RenderAsset("audio", layer_name="music", src=silent)))


def test_an_image_still_ignores_audio(make_request: Make, tmp_path: Path) -> None:
    tone = write_wav(tmp_path / "tone.wav", seconds=1.0)
    log = render(make_request(RenderAsset("audio", layer_name="music", src=tone), settings=STILL)).log
    assert "WARNING: audio: an image has no soundtrack; skipped" in log


def test_an_export_image_missing_from_the_folder_is_reported(make_request: Make, tmp_path: Path) -> None:
    document = lottie_document()
    document["assets"][0].update({"u": "images/", "p": "gone.png", "e": 0})
    (tmp_path / "promo.json").write_text(json.dumps(document), encoding="utf-8")
    log = render(make_request(settings=STILL)).log
    assert "WARNING: image 'images/gone.png' is not beside the Lottie file; it will be missing" in log


def test_position_and_scale_take_points(make_request: Make) -> None:
    moved = RenderAsset("data", layer_name="logo", property="Position", value=[280, 140])
    grown = RenderAsset("data", layer_name="logo", property="Scale", value=50)
    still = rgba(render(make_request(moved, grown, settings=STILL)).output)
    assert tuple(still[140, 280][:3]) == (255, 0, 0) and tuple(still[LOGO_CENTRE][:3]) != (255, 0, 0)
    assert tuple(still[140, 293][:3]) != (255, 0, 0)  # half of the 40 px logo is 20 px wide


def test_renders_in_parallel_threads_take_turns_and_agree(make_request: Make) -> None:
    from concurrent.futures import ThreadPoolExecutor

    requests = [make_request(title("Parallel")) for _ in range(3)]
    with ThreadPoolExecutor(3) as pool:
        outputs = [result.output.read_bytes() for result in pool.map(render, requests)]
    assert outputs[0] == outputs[1] == outputs[2]


def test_a_malformed_text_layer_fails_as_a_render_error(make_request: Make, lottie_template: Path) -> None:
    document = lottie_document()
    next(layer for layer in document["layers"] if layer["nm"] == "title")["t"] = {}
    lottie_template.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(RenderError, match=r"Lottie file 'promo\.json' is malformed: KeyError"):
        render(make_request(title("x")))


@pytest.mark.parametrize("settings", [OutputSettings(), STILL])
def test_an_unwritable_output_fails_as_a_render_error(
    make_request: Make, tmp_path: Path, settings: OutputSettings
) -> None:
    with pytest.raises(RenderError, match="Cannot write 'out"):
        render(make_request(settings=settings, output=tmp_path / "missing" / "out.mp4"))
