"""Jobs against their templates: compositions, layers, layer kinds and Essential Graphics controls."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from nexspec.check import MAX_PROBLEMS_PER_JOB, Checker, JobToCheck
from nexspec.diagnostics import Diagnostic, Location
from nexspec.introspect import introspect
from nexspec.payload import FieldPath, JsonObject, format_path
from nexspec.templateinfo import Composition, Layer, LayerKind, TemplateInfo, TemplateKind

Sample = Callable[[str], Path]
Found = list[tuple[str, str, str, str]]

TEXT_WHY = "text assets replace a text layer's Source Text"
IMAGE_WHY = "image assets replace the source of a footage layer"
AUDIO_WHY = "audio assets replace the source of an audio or footage layer"


def _layers(*pairs: tuple[str, LayerKind]) -> tuple[Layer, ...]:
    return tuple(Layer(name, kind, index) for index, (name, kind) in enumerate(pairs, start=1))


MAIN = Composition(
    "main", 1920, 1080, 30.0, 10.0,
    _layers(("title", LayerKind.TEXT), ("background", LayerKind.SOLID), ("lower third", LayerKind.PRECOMP),
            ("photo", LayerKind.FOOTAGE), ("music", LayerKind.AUDIO), ("ctrl", LayerKind.NULL),
            ("dup", LayerKind.FOOTAGE), ("dup", LayerKind.TEXT)),
)  # fmt: skip
LOWER_THIRD = Composition("lower third", 1920, 200, 30.0, 5.0, _layers(("name", LayerKind.TEXT)))
AEP = TemplateInfo(TemplateKind.AEP, (MAIN, LOWER_THIRD), project="promo.aep")


def locate(path: FieldPath) -> Location:
    """Each field at its own line, so that tests see which field a problem is at."""
    return Location("nexspec.yaml", 10 + len(path), len(format_path(path)))


def job(
    payload: JsonObject,
    *,
    composition: str | None = "main",
    template: str = "promo",
    key: str = "teaser",
    name: str | None = None,
) -> JobToCheck:
    return JobToCheck(key, name or key, template, composition, payload, locate, "nexspec.yaml:4:3")


def check(infos: dict[str, TemplateInfo | None], *jobs: JobToCheck) -> list[Diagnostic]:
    return Checker(infos).check(jobs)


def found(infos: dict[str, TemplateInfo | None], *jobs: JobToCheck) -> Found:
    return [(d.severity, d.summary, d.field, d.hint) for d in check(infos, *jobs)]


def one_asset(asset: JsonObject, composition: str | None = "main", info: TemplateInfo = AEP) -> Found:
    return found({"promo": info}, job({"assets": [asset]}, composition=composition))


# --- compositions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("composition", "problems"),
    [
        ("main", []),
        (None, []),
        ("*", []),
        ("main->lower third", []),
        ("mian", [("error", "composition 'mian' not found in the template", "jobs.teaser.composition",
                   "did you mean 'main'?")]),
        ("zzz", [("error", "composition 'zzz' not found in the template", "jobs.teaser.composition",
                  "compositions here: 'main', 'lower third'")]),
        ("main->lower thrid", [("error", "composition 'lower thrid' not found in the template",
                                "jobs.teaser.composition", "did you mean 'lower third'?")]),
        ("Main", [("error", "composition 'Main' not found in the template", "jobs.teaser.composition",
                   "did you mean 'main'?")]),
    ],
    ids=["exists", "none", "any", "nested", "typo", "unknown", "nested-typo", "case"],
)  # fmt: skip
def test_compositions(composition: str | None, problems: Found) -> None:
    assert found({"promo": AEP}, job({}, composition=composition)) == problems


def test_unreadable_templates_and_templates_without_compositions_are_not_checked() -> None:
    empty = TemplateInfo(TemplateKind.MOGRT)
    payload: JsonObject = {"assets": [{"type": "text", "layerName": "nope", "value": "x"}]}
    assert found({"promo": None, "card": empty}, job(payload), job(payload, template="card", key="b")) == []


# --- layers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asset", "composition", "problems"),
    [
        ({"type": "text", "layerName": "title", "value": "x"}, "main", []),
        ({"type": "text", "layerName": "titel", "value": "x"}, "main",
         [("error", "layer 'titel' not found in composition 'main'", "jobs.teaser.assets[0].layerName",
           "did you mean 'title'?")]),
        ({"type": "text", "layerName": "Title", "value": "x"}, "main",
         [("error", "layer 'Title' not found in composition 'main'", "jobs.teaser.assets[0].layerName",
           "did you mean 'title'?")]),
        ({"type": "text", "layerName": "zzzz", "value": "x"}, "main",
         [("error", "layer 'zzzz' not found in composition 'main'", "jobs.teaser.assets[0].layerName",
           "layers here: 'background', 'ctrl', 'dup', 'lower third', 'music', 'photo', 'title'")]),
        ({"type": "text", "layerName": "background", "value": "x"}, "main",
         [("error", "layer 'background' in composition 'main' is a solid layer, not a text layer",
           "jobs.teaser.assets[0].layerName", TEXT_WHY)]),
        ({"type": "text", "layerName": "photo", "value": "x"}, "main",
         [("error", "layer 'photo' in composition 'main' is a footage layer, not a text layer",
           "jobs.teaser.assets[0].layerName", TEXT_WHY)]),
        ({"type": "image", "layerName": "title", "src": "https://x/a.png"}, "main",
         [("error", "layer 'title' in composition 'main' is a text layer, not a footage layer",
           "jobs.teaser.assets[0].layerName", IMAGE_WHY)]),
        ({"type": "video", "layerName": "lower third", "src": "https://x/a.mp4"}, "main",
         [("error", "layer 'lower third' in composition 'main' is a precomp layer, not a footage layer",
           "jobs.teaser.assets[0].layerName", "video assets replace the source of a footage layer")]),
        ({"type": "image", "layerName": "photo", "src": "https://x/a.png"}, "main", []),
        ({"type": "audio", "layerName": "music", "src": "https://x/a.wav"}, "main", []),
        ({"type": "audio", "layerName": "photo", "src": "https://x/a.wav"}, "main", []),
        ({"type": "audio", "layerName": "title", "src": "https://x/a.wav"}, "main",
         [("warning", "layer 'title' in composition 'main' is a text layer, not an audio or footage layer",
           "jobs.teaser.assets[0].layerName", AUDIO_WHY)]),
        ({"type": "data", "layerName": "background", "property": "Source Text.fontSize", "value": 9}, "main",
         [("error", "layer 'background' in composition 'main' is a solid layer, not a text layer",
           "jobs.teaser.assets[0].layerName", "Source Text lives on text layers")]),
        ({"type": "data", "layerName": "background", "property": "Transform.Opacity", "value": 50}, "main",
         []),
        ({"type": "data", "layerName": "bg", "property": "Transform.Opacity", "value": 50}, "main",
         [("error", "layer 'bg' not found in composition 'main'", "jobs.teaser.assets[0].layerName",
           "layers here: 'background', 'ctrl', 'dup', 'lower third', 'music', 'photo', 'title'")]),
        ({"type": "text", "layerName": "dup", "value": "x"}, "main", []),
        ({"type": "image", "layerName": "dup", "src": "https://x/a.png"}, "main", []),
    ],
    ids=["text", "typo", "case", "unknown", "text-on-solid", "text-on-footage", "image-on-text",
         "video-on-precomp", "image", "audio", "audio-on-footage", "audio-on-text", "source-text-on-solid",
         "data", "data-unknown-layer", "duplicate-names-text", "duplicate-names-image"],
)  # fmt: skip
def test_layers_and_their_kinds(asset: JsonObject, composition: str | None, problems: Found) -> None:
    assert one_asset(asset, composition) == problems


@pytest.mark.parametrize(
    ("asset", "composition", "problems"),
    [
        ({"type": "text", "layerName": "name", "value": "x", "composition": "main->lower third"}, "main", []),
        ({"type": "text", "layerName": "name", "value": "x", "composition": "lower third"}, "main", []),
        ({"type": "text", "layerName": "name", "value": "x"}, "main->lower third", []),
        ({"type": "text", "layerName": "title", "value": "x"}, "main->lower third",
         [("error", "layer 'title' not found in composition 'lower third'", "jobs.teaser.assets[0].layerName",
           "layers here: 'name'")]),
        ({"type": "text", "layerName": "name", "value": "x", "composition": "lower thrid"}, "main",
         [("error", "composition 'lower thrid' not found in the template",
           "jobs.teaser.assets[0].composition", "did you mean 'lower third'?")]),
        ({"type": "text", "layerName": "name", "value": "x", "composition": "*"}, "main", []),
        ({"type": "text", "layerName": "names", "value": "x", "composition": "*"}, "main",
         [("error", "layer 'names' not found in any composition", "jobs.teaser.assets[0].layerName",
           "did you mean 'name'?")]),
        ({"type": "text", "layerName": "title", "value": "x"}, None, []),
        ({"type": "image", "layerName": "title", "src": "https://x/a.png"}, None,
         [("error", "layer 'title' in composition 'main' is a text layer, not a footage layer",
           "jobs.teaser.assets[0].layerName", IMAGE_WHY)]),
        # With no composition named, the first one renders: a layer only in a precomp is missing.
        ({"type": "text", "layerName": "name", "value": "x"}, None,
         [("error", "layer 'name' not found in composition 'main'", "jobs.teaser.assets[0].layerName",
           "layers here: 'background', 'ctrl', 'dup', 'lower third', 'music', 'photo', 'title'")]),
        ({"type": "text", "layerName": "name", "value": "x"}, "mian",
         [("error", "composition 'mian' not found in the template", "jobs.teaser.composition",
           "did you mean 'main'?")]),
    ],
    ids=["asset-nested-path", "asset-composition", "job-nested-path", "job-nested-path-wrong-layer",
         "asset-composition-typo", "asset-any", "asset-any-unknown", "no-composition",
         "no-composition-kind", "no-composition-precomp-layer", "unknown-job-composition"],
)  # fmt: skip
def test_compositions_of_assets(asset: JsonObject, composition: str | None, problems: Found) -> None:
    assert one_asset(asset, composition) == problems


@pytest.mark.parametrize(
    "asset",
    [
        {"type": "static", "src": "https://x/a.json", "name": "data.json"},
        {"type": "script", "src": "https://x/a.js"},
        {"type": "function", "name": "f", "layerName": "nope"},
        {"type": "essential", "layerName": "nope", "value": "x"},
        {"type": "text", "value": "x"},
    ],
    ids=["static", "script", "function", "essential-on-aep", "no-layer-name"],
)
def test_assets_without_layers_are_not_checked(asset: JsonObject) -> None:
    assert one_asset(asset) == []


def test_nested_jobs_are_checked_against_their_own_template() -> None:
    intro = TemplateInfo(
        TemplateKind.AEP, (Composition("intro", 640, 360, 25.0, 3.0, _layers(("cta", LayerKind.TEXT))),)
    )
    payload: JsonObject = {
        "assets": [
            {"type": "job", "layerName": "photo", "template": {"id": "intro", "composition": "intro"},
             "assets": [{"type": "text", "layerName": "cta", "value": "Book now"},
                        {"type": "text", "layerName": "ctaa", "value": "x"}]},
            {"type": "job", "layerName": "title", "template": {"id": "intro", "composition": "outro"}},
        ]
    }  # fmt: skip
    assert found({"promo": AEP, "intro": intro}, job(payload)) == [
        ("error", "layer 'ctaa' not found in composition 'intro'",
         "jobs.teaser.assets[0].assets[1].layerName", "did you mean 'cta'?"),
        ("error", "layer 'title' in composition 'main' is a text layer, not a footage layer",
         "jobs.teaser.assets[1].layerName", IMAGE_WHY),
        ("error", "composition 'outro' not found in the template", "jobs.teaser.assets[1].composition",
         "did you mean 'intro'?"),
    ]  # fmt: skip


def test_long_listings_are_cut() -> None:
    many = Composition(
        "main", 10, 10, 25.0, 1.0, _layers(*((f"layer {i:02}", LayerKind.TEXT) for i in range(15)))
    )
    info = TemplateInfo(TemplateKind.LOTTIE, (many,))
    listed = ", ".join(f"'layer {i:02}'" for i in range(12))
    assert one_asset({"type": "text", "layerName": "zzz", "value": "x"}, info=info) == [
        (
            "error",
            "layer 'zzz' not found in composition 'main'",
            "jobs.teaser.assets[0].layerName",
            f"layers here: {listed} and 3 more",
        ),
    ]


def test_a_template_without_layers_says_so() -> None:
    info = TemplateInfo(TemplateKind.LOTTIE, (Composition("main", 10, 10, 25.0, 1.0),))
    assert one_asset({"type": "text", "layerName": "title", "value": "x"}, info=info) == [
        (
            "error",
            "layer 'title' not found in composition 'main'",
            "jobs.teaser.assets[0].layerName",
            "the template has no layers",
        ),
    ]


# --- where problems are reported --------------------------------------------------------------


def test_problems_are_located_at_the_field_and_name_the_row() -> None:
    payload: JsonObject = {"assets": [{"type": "text", "layerName": "titel", "value": "x"}]}
    (diagnostic,) = check({"promo": AEP}, job(payload, key="city-{{ row.slug }}", name="city-oslo"))
    assert diagnostic == Diagnostic(
        "error",
        "layer 'titel' not found in composition 'main'",
        Location("nexspec.yaml", 13, 19),
        field="jobs.city-{{ row.slug }}.assets[0].layerName",
        hint="did you mean 'title'?",
        detail="in job 'city-oslo' (nexspec.yaml:4:3)",
    )


def test_problems_per_job_spec_are_capped_across_its_rows() -> None:
    payload: JsonObject = {"assets": [{"type": "text", "layerName": "titel", "value": "x"}]}
    rows = [job(payload, key="city-{{ row.n }}", name=f"city-{n}") for n in range(12)]
    other = job(payload, key="other")
    diagnostics = check({"promo": AEP}, *rows, other)
    assert len(diagnostics) == MAX_PROBLEMS_PER_JOB + 2
    assert [d.detail for d in diagnostics[:3]] == [f"in job 'city-{n}' (nexspec.yaml:4:3)" for n in range(3)]
    assert (diagnostics[-2].field, diagnostics[-2].detail) == ("jobs.other.assets[0].layerName", "")
    assert diagnostics[-1] == Diagnostic(
        "error", "2 more problem(s) in job 'city-{{ row.n }}' not shown", Location("nexspec.yaml", 10, 0)
    )


# --- real template files ----------------------------------------------------------------------


def test_a_real_after_effects_project(tmp_path: Path, aep_bytes: bytes) -> None:
    path = tmp_path / "promo.aep"
    path.write_bytes(aep_bytes)
    info = introspect(path, TemplateKind.AEP)
    payload: JsonObject = {
        "assets": [
            {"type": "text", "layerName": "title", "value": "x"},
            {"type": "image", "layerName": "photo", "src": "https://x/a.png"},
            {"type": "text", "layerName": "name", "value": "x", "composition": "main->lower third"},
            {"type": "text", "layerName": "titel", "value": "x"},
            {"type": "text", "layerName": "background", "value": "x"},
            {"type": "image", "layerName": "title", "src": "https://x/a.png"},
        ]
    }
    assert found({"promo": info}, job(payload)) == [
        ("error", "layer 'titel' not found in composition 'main'", "jobs.teaser.assets[3].layerName",
         "did you mean 'title'?"),
        ("error", "layer 'background' in composition 'main' is a solid layer, not a text layer",
         "jobs.teaser.assets[4].layerName", TEXT_WHY),
        ("error", "layer 'title' in composition 'main' is a text layer, not a footage layer",
         "jobs.teaser.assets[5].layerName", IMAGE_WHY),
    ]  # fmt: skip
    assert found({"promo": info}, job({}, composition="main->lower thrid")) == [
        ("error", "composition 'lower thrid' not found in the template", "jobs.teaser.composition",
         "did you mean 'lower third'?"),
    ]  # fmt: skip


def test_a_lottie_export(tmp_path: Path) -> None:
    document = {
        "v": "5.7.4", "fr": 25, "ip": 0, "op": 50, "w": 320, "h": 180, "nm": "card",
        "assets": [{"id": "img", "w": 10, "h": 10, "u": "", "p": "logo.png", "e": 0}],
        "layers": [{"ty": 5, "nm": "title"}, {"ty": 2, "nm": "logo", "refId": "img"},
                   {"ty": 4, "nm": "shape"}],
    }  # fmt: skip
    path = tmp_path / "card.json"
    path.write_text(json.dumps(document))
    info = introspect(path, TemplateKind.LOTTIE)
    payload: JsonObject = {
        "assets": [
            {"type": "text", "layerName": "shape", "value": "x"},
            {"type": "image", "layerName": "logo", "src": "https://x/a.png"},
            {"type": "text", "layerName": "ttle", "value": "x"},
        ]
    }
    assert found({"promo": info}, job(payload, composition=None)) == [
        ("error", "layer 'shape' in composition 'card' is a shape layer, not a text layer",
         "jobs.teaser.assets[0].layerName", TEXT_WHY),
        ("error", "layer 'ttle' not found in composition 'card'", "jobs.teaser.assets[2].layerName",
         "did you mean 'title'?"),
    ]  # fmt: skip


def test_the_sample_lottie_export(sample: Sample) -> None:
    info = introspect(sample("lottie-web-text-basic.json"), TemplateKind.LOTTIE)
    payload: JsonObject = {"assets": [{"type": "text", "layerName": "White Solid 1", "value": "x"}]}
    assert found({"promo": info}, job(payload, composition="Lottie Shaper")) == [
        ("error", "layer 'White Solid 1' in composition 'Lottie Shaper' is a solid layer, not a text layer",
         "jobs.teaser.assets[0].layerName", TEXT_WHY),
    ]  # fmt: skip


def test_the_sample_after_effects_project(sample: Sample) -> None:
    info = introspect(sample("nexrender-mogrt-test.aep"), TemplateKind.AEP)
    payload: JsonObject = {
        "assets": [
            {"type": "text", "layerName": "foo!", "value": "x"},
            {"type": "image", "layerName": "square.jpg", "src": "https://x/a.jpg"},
            {"type": "text", "layerName": "square.jpg", "value": "x"},
            {"type": "image", "layerName": "Null 1", "src": "https://x/a.jpg"},
        ]
    }
    assert found({"promo": info}, job(payload, composition="Comp 1")) == [
        ("error", "layer 'square.jpg' in composition 'Comp 1' is a footage layer, not a text layer",
         "jobs.teaser.assets[2].layerName", TEXT_WHY),
        ("error", "layer 'Null 1' in composition 'Comp 1' is a null layer, not a footage layer",
         "jobs.teaser.assets[3].layerName", IMAGE_WHY),
    ]  # fmt: skip
    assert found({"promo": info}, job({}, composition="Comp1")) == [
        ("error", "composition 'Comp1' not found in the template", "jobs.teaser.composition",
         "did you mean 'Comp 1'?"),
    ]  # fmt: skip


CONTROLS = (
    "'Text', 'Dropdown', 'Group Test', 'Image', 'Image Position', 'Checkbox Control', 'Point Control', "
    "'Angle Control', 'Color Control', 'Slider Control', 'Null 1 Scale', 'Null 1 Opacity'"
)


@pytest.mark.parametrize(
    ("control", "problems"),
    [
        ("Text", []),
        ("Slider Control", []),
        ("Group Test.Field", []),
        ("Group Test->Field.with.dots", []),
        ("Txet", [("error", "Essential Graphics control 'Txet' not found in the .mogrt",
                   "jobs.teaser.assets[0].layerName", "did you mean 'Text'?")]),
        ("slider control", [("error", "Essential Graphics control 'slider control' not found in the .mogrt",
                             "jobs.teaser.assets[0].layerName", "did you mean 'Slider Control'?")]),
        ("Nothing", [("error", "Essential Graphics control 'Nothing' not found in the .mogrt",
                      "jobs.teaser.assets[0].layerName", f"controls here: {CONTROLS}")]),
    ],
    ids=["text", "slider", "group-dot", "group-arrow", "typo", "case", "unknown"],
)  # fmt: skip
def test_essential_controls_of_a_real_mogrt(sample: Sample, control: str, problems: Found) -> None:
    info = introspect(sample("nexrender-ae.mogrt"), TemplateKind.MOGRT)
    asset: JsonObject = {"type": "essential", "layerName": control, "value": "x"}
    assert one_asset(asset, composition=None, info=info) == problems


def test_a_real_mogrt_checks_its_layers_too(sample: Sample) -> None:
    info = introspect(sample("nexrender-ae.mogrt"), TemplateKind.MOGRT)
    asset: JsonObject = {"type": "text", "layerName": "foo", "value": "x"}
    assert one_asset(asset, composition=None, info=info) == [
        ("error", "layer 'foo' not found in composition 'Comp 1'", "jobs.teaser.assets[0].layerName",
         "did you mean 'foo!'?"),
    ]  # fmt: skip
