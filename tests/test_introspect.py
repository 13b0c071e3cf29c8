"""Introspection of real After Effects projects, archives, .mogrt files and Lottie exports."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from nexspec.errors import TemplateError
from nexspec.introspect import introspect, introspect_cached
from nexspec.templateinfo import (
    Composition,
    Control,
    ControlKind,
    Layer,
    LayerKind,
    TemplateInfo,
    TemplateKind,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "samples"


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"../shared/samples is absent: {name} is needed (see SOURCES.md there)")
    return path


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def aep_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real .aep written by py-aep: a main comp with one layer of every kind, and a precomp."""
    import py_aep
    from PIL import Image

    folder = tmp_path_factory.mktemp("aep")
    Image.new("RGB", (64, 32), (200, 30, 30)).save(folder / "logo.png")
    write(folder / "beep.wav", _wav())
    app = py_aep.new()
    root = app.project.root_folder
    intro = root.add_comp("intro", 640, 360, 1.0, 3.0, 25.0)
    intro.add_text("Inner")
    comp = root.add_comp("main", 1920, 1080, 1.0, 10.0, 30.0)
    comp.add_solid([0.1, 0.2, 0.5], "background", 1920, 1080, 1.0)
    title = comp.add_text("Hello")
    title.name = "title"
    title.out_point = 14.0  # past the end of the comp, as After Effects allows
    control = comp.add_null()
    control.name = "ctrl"
    title.parent = control
    comp.add_shape()
    comp.add_camera("Cam")
    comp.add_light("Sun")
    comp.add(intro)
    comp.add(app.project.import_placeholder("slot", 100, 100, 30.0, 5.0))
    comp.add(app.project.import_file(py_aep.ImportOptions(str(folder / "logo.png"))))
    comp.add(app.project.import_file(py_aep.ImportOptions(str(folder / "beep.wav"))))
    app.project.save(str(folder / "promo.aep"))
    return folder / "promo.aep"


def _wav() -> bytes:
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 8000)
    return out.getvalue()


# --- .aep ----------------------------------------------------------------------------------------


def test_aep_compositions(aep_file: Path) -> None:
    info = introspect(aep_file, TemplateKind.AEP)
    assert info.kind is TemplateKind.AEP
    assert info.project == "promo.aep"
    assert [(c.name, c.width, c.height, c.fps, c.duration) for c in info.compositions] == [
        ("main", 1920, 1080, 30.0, 10.0),
        ("intro", 640, 360, 25.0, 3.0),
    ]
    assert all(c.aeid.isdigit() for c in info.compositions)


def test_aep_layers(aep_file: Path) -> None:
    main = introspect(aep_file, TemplateKind.AEP).composition("main")
    assert main is not None
    rows = [
        (layer.index, layer.name, layer.kind, layer.text, layer.source_comp, layer.source_name)
        for layer in main.layers
    ]
    assert rows == [
        (1, "beep.wav", LayerKind.AUDIO, None, None, "beep.wav"),
        (2, "logo.png", LayerKind.FOOTAGE, None, None, "logo.png"),
        (3, "slot", LayerKind.FOOTAGE, None, None, None),
        (4, "intro", LayerKind.PRECOMP, None, "intro", None),
        (5, "Sun", LayerKind.LIGHT, None, None, None),
        (6, "Cam", LayerKind.CAMERA, None, None, None),
        (7, "Shape Layer 1", LayerKind.SHAPE, None, None, None),
        (8, "ctrl", LayerKind.NULL, None, None, None),
        (9, "title", LayerKind.TEXT, "Hello", None, None),
        (10, "background", LayerKind.SOLID, None, None, None),
    ]


def test_aep_parent_and_timing(aep_file: Path) -> None:
    main = introspect(aep_file, TemplateKind.AEP).composition("main")
    assert main is not None
    (title,) = main.layers_named("title")
    (ctrl,) = main.layers_named("ctrl")
    assert title.parent_id == ctrl.aeid != 0
    assert (title.in_point, title.out_point, title.start_time) == (0.0, 10.0, 0.0)
    assert main.layers_named("intro")[0].out_point == 3.0


def test_sample_aep_from_after_effects() -> None:
    info = introspect(sample("nexrender-mogrt-test.aep"), TemplateKind.AEP)
    assert info.compositions == (
        Composition(
            "Comp 1",
            1080,
            1080,
            25.0,
            20.0,
            aeid="1",
            layers=(
                Layer(
                    "square.jpg",
                    LayerKind.FOOTAGE,
                    1,
                    276,
                    None,
                    None,
                    0.0,
                    20.0,
                    0.0,
                    None,
                    "square.jpg",
                ),
                Layer("Null 1", LayerKind.NULL, 2, 29, None, None, 0.0, 20.0, 0.0),
                Layer("foo!", LayerKind.TEXT, 3, 13, None, None, 0.0, 20.0, 0.0, "foo!"),
            ),
        ),
    )


def test_sample_aep_with_two_compositions() -> None:
    info = introspect(sample("boltframe-Item-01.aep"), TemplateKind.AEP)
    assert [(c.name, c.width, c.height, round(c.fps, 2)) for c in info.compositions] == [
        ("Comp 01", 351, 856, 21.0),
        ("Comp 02", 452, 639, 29.97),
    ]
    comp = info.compositions[0]
    assert [(layer.name, layer.kind) for layer in comp.layers] == [
        ("Null 1", LayerKind.NULL),
        ("Shape Layer 1", LayerKind.SHAPE),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello world", "Expected RIFX, got 'hell'"),
        (b"", "Short read: expected 4 bytes, got 0"),
        (b"RIFX\x00\x00\x00\x04Egg!", "Missing LIST/Fold chunk"),
    ],
    ids=["not an aep", "empty", "no folder chunk"],
)
def test_unreadable_aep(tmp_path: Path, content: bytes, message: str) -> None:
    path = write(tmp_path / "bad.aep", content)
    with pytest.raises(TemplateError) as caught:
        introspect(path, TemplateKind.AEP)
    assert str(caught.value) == f"cannot read After Effects project 'bad.aep': {message}"


def test_truncated_aep(tmp_path: Path, aep_file: Path) -> None:
    path = write(tmp_path / "bad.aep", aep_file.read_bytes()[:12])
    with pytest.raises(TemplateError) as caught:
        introspect(path, TemplateKind.AEP)
    assert str(caught.value) == (
        "cannot read After Effects project 'bad.aep': Short read on chunk header: expected 8 bytes, got 0"
    )


def test_missing_aep(tmp_path: Path) -> None:
    with pytest.raises(TemplateError) as caught:
        introspect(tmp_path / "gone.aep", TemplateKind.AEP)
    assert str(caught.value) == (
        "cannot read After Effects project 'gone.aep': "
        f"[Errno 2] No such file or directory: '{tmp_path / 'gone.aep'}'"
    )


# --- .zip and folders ----------------------------------------------------------------------------

BODYMOVIN = {
    "v": "5.7.4",
    "nm": "lottie main",
    "fr": 25,
    "ip": 0,
    "op": 50,
    "w": 800,
    "h": 600,
    "assets": [
        {"id": "image_0", "w": 64, "h": 32, "u": "images/", "p": "img_0.png", "e": 0},
        {"id": "image_1", "w": 1, "h": 1, "p": "data:image/png;base64,iVBOR", "e": 1},
        {
            "id": "comp_0",
            "nm": "lower third",
            "layers": [{"ty": 5, "nm": "name", "ind": 1, "ip": 0, "op": 50, "st": 0}],
        },
        {"id": "comp_1", "layers": []},
    ],
    "layers": [
        {
            "ty": 5,
            "nm": "title",
            "ind": 1,
            "parent": 3,
            "ip": 0,
            "op": 75,
            "st": 0,
            "t": {"d": {"k": [{"s": {"t": "Hello", "s": 40}, "t": 0}]}},
        },
        {"ty": 2, "nm": "logo", "ind": 2, "refId": "image_0", "ip": 5, "op": 50, "st": 5},
        {"ty": 3, "nm": "ctrl", "ind": 3, "ip": 0, "op": 50, "st": 0},
        {"ty": 0, "nm": "lt", "ind": 4, "refId": "comp_0", "ip": 0, "op": 50, "st": 0},
        {"ty": 0, "nm": "empty", "ind": 5, "refId": "comp_1", "ip": 0, "op": 50, "st": 0},
        {"ty": 2, "nm": "inline", "ind": 6, "refId": "image_1", "ip": 0, "op": 50, "st": 0},
        {"ty": 1, "nm": "bg", "ind": 7, "ip": 0, "op": 50, "st": 0},
        {"ty": 4, "nm": "shape", "ind": 8, "ip": 0, "op": 50, "st": 0},
        {"ty": 6, "nm": "music", "ind": 9, "ip": 0, "op": 50, "st": 0},
        {"ty": 13, "nm": "camera", "ind": 10, "ip": 0, "op": 50, "st": 0},
        {"ty": 99, "nm": "future", "ind": 11, "ip": 0, "op": 50, "st": 0},
    ],
}
LOTTIE = json.dumps(BODYMOVIN).encode()


def test_zip_with_one_top_folder(tmp_path: Path, aep_file: Path) -> None:
    data = zip_bytes({"promo/promo.aep": aep_file.read_bytes(), "promo/data.json": LOTTIE})
    info = introspect(write(tmp_path / "promo.zip", data), TemplateKind.ZIP)
    assert info.kind is TemplateKind.ZIP
    assert info.project == "promo.aep"
    assert info.lottie == "data.json"
    assert [c.name for c in info.compositions] == ["main", "intro"]


def test_zip_without_lottie(tmp_path: Path, aep_file: Path) -> None:
    data = zip_bytes({"promo.aep": aep_file.read_bytes(), "footage/a.json": b'{"a": 1}'})
    info = introspect(write(tmp_path / "blob", data), TemplateKind.ZIP)
    assert (info.project, info.lottie) == ("promo.aep", None)


def test_zip_with_only_lottie(tmp_path: Path) -> None:
    data = zip_bytes({"anim/data.json": LOTTIE, "anim/images/img_0.png": b"png"})
    info = introspect(write(tmp_path / "anim.zip", data), TemplateKind.ZIP)
    assert info.kind is TemplateKind.LOTTIE
    assert info.lottie == "data.json"
    assert [c.name for c in info.compositions] == ["lottie main", "lower third", "comp_1"]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            {"a.aep": b"RIFX", "b/b.aep": b"RIFX"},
            "'t.zip' holds 2 .aep files (a.aep, b/b.aep); the cloud opens exactly one",
        ),
        (
            {"footage/a.png": b"png"},
            "'t.zip' holds no .aep file and no Bodymovin (Lottie) export",
        ),
        (
            {"promo/promo.aep": b"hello"},
            "cannot read After Effects project 'promo/promo.aep' in 't.zip': Expected RIFX, got 'hell'",
        ),
    ],
)
def test_unreadable_zip_templates(tmp_path: Path, entries: dict[str, bytes], message: str) -> None:
    path = write(tmp_path / "t.zip", zip_bytes(entries))
    with pytest.raises(TemplateError) as caught:
        introspect(path, TemplateKind.ZIP)
    assert str(caught.value) == message


def test_broken_zip(tmp_path: Path) -> None:
    path = write(tmp_path / "t.zip", b"PK\x03\x04 broken")
    with pytest.raises(TemplateError) as caught:
        introspect(path, TemplateKind.ZIP)
    assert str(caught.value) == "cannot read archive 't.zip': File is not a zip file"


def test_folder(tmp_path: Path, aep_file: Path) -> None:
    folder = tmp_path / "tpl"
    write(folder / "promo.aep", aep_file.read_bytes())
    write(folder / "export" / "data.json", LOTTIE)
    write(folder / ".DS_Store", b"")
    info = introspect(folder, TemplateKind.ZIP)
    assert (info.kind, info.project, info.lottie) == (
        TemplateKind.ZIP,
        "promo.aep",
        "export/data.json",
    )
    assert [c.name for c in info.compositions] == ["main", "intro"]


def test_lottie_folder(tmp_path: Path) -> None:
    folder = tmp_path / "tpl"
    write(folder / "data.json", LOTTIE)
    info = introspect(folder, TemplateKind.LOTTIE)
    assert (info.kind, info.project, info.lottie) == (TemplateKind.LOTTIE, "", "data.json")


# --- .mogrt --------------------------------------------------------------------------------------


def test_mogrt_sample() -> None:
    info = introspect(sample("nexrender-ae.mogrt"), TemplateKind.MOGRT)
    assert info.kind is TemplateKind.MOGRT
    assert info.project == "project.aegraphic/test.aep"
    assert info.controls == (
        Control("Text", ControlKind.TEXT),
        Control("Dropdown", ControlKind.DROPDOWN),
        Control("Group Test", ControlKind.GROUP),
        Control("Image", ControlKind.MEDIA),
        Control("Image Position", ControlKind.POINT),
        Control("Checkbox Control", ControlKind.CHECKBOX),
        Control("Point Control", ControlKind.POINT),
        Control("Angle Control", ControlKind.ANGLE),
        Control("Color Control", ControlKind.COLOR),
        Control("Slider Control", ControlKind.SLIDER),
        Control("Null 1 Scale", ControlKind.SCALE),
        Control("Null 1 Opacity", ControlKind.SLIDER),
    )
    assert [(c.name, c.width, c.height, c.fps) for c in info.compositions] == [("Comp 1", 1080, 1080, 25.0)]


def definition(*controls: tuple[object, int]) -> bytes:
    items = [{"type": code, "uiName": {"strDB": [{"str": name}]}} for name, code in controls]
    return json.dumps({"authorApp": "aefx", "clientControls": [*items, {"type": 6}]}).encode()


def test_mogrt_controls_and_project(tmp_path: Path, aep_file: Path) -> None:
    graphic = zip_bytes({"(Footage)/logo.png": b"png", "promo.aep": aep_file.read_bytes()})
    data = zip_bytes(
        {
            "definition.json": definition(("Headline", 6), ("Speed", 2), ("Mystery", 42)),
            "project.aegraphic": graphic,
        }
    )
    info = introspect(write(tmp_path / "blob", data), TemplateKind.MOGRT)
    assert info.controls == (
        Control("Headline", ControlKind.TEXT),
        Control("Speed", ControlKind.SLIDER),
        Control("Mystery", ControlKind.OTHER),
    )
    assert info.project == "project.aegraphic/promo.aep"
    assert [c.name for c in info.compositions] == ["main", "intro"]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            {"definition.json": definition(), "project.prgraphic": b"x"},
            "'t.mogrt' is a Premiere Pro Motion Graphics template; After Effects cannot render it",
        ),
        (
            {"project.aegraphic": zip_bytes({"a.aep": b"RIFX"})},
            "'t.mogrt' holds no definition.json; it is not an After Effects .mogrt",
        ),
        (
            {"definition.json": definition()},
            "'t.mogrt' holds no project.aegraphic; it is not an After Effects .mogrt",
        ),
        (
            {"definition.json": b"[]", "project.aegraphic": zip_bytes({"a.aep": b"RIFX"})},
            "definition.json in 't.mogrt' cannot be read: "
            "TypeError('list indices must be integers or slices, not str')",
        ),
        (
            {"definition.json": definition(), "project.aegraphic": b"nope"},
            "cannot read archive project.aegraphic in 't.mogrt': File is not a zip file",
        ),
        (
            {"definition.json": definition(), "project.aegraphic": zip_bytes({"x.png": b""})},
            "project.aegraphic in 't.mogrt' holds no .aep file",
        ),
        (
            {"definition.json": definition(), "project.aegraphic": zip_bytes({"a.aep": b"hi!!"})},
            "cannot read After Effects project 'a.aep' in project.aegraphic in 't.mogrt': "
            "Expected RIFX, got 'hi!!'",
        ),
    ],
    ids=[
        "premiere",
        "no definition",
        "no aegraphic",
        "bad definition",
        "bad aegraphic",
        "no aep",
        "bad aep",
    ],
)
def test_unreadable_mogrt(tmp_path: Path, entries: dict[str, bytes], message: str) -> None:
    path = write(tmp_path / "t.mogrt", zip_bytes(entries))
    with pytest.raises(TemplateError) as caught:
        introspect(path, TemplateKind.MOGRT)
    assert str(caught.value) == message


# --- Lottie --------------------------------------------------------------------------------------


def test_lottie_compositions(tmp_path: Path) -> None:
    info = introspect(write(tmp_path / "anim.json", LOTTIE), TemplateKind.LOTTIE)
    assert (info.kind, info.lottie) == (TemplateKind.LOTTIE, "anim.json")
    assert [(c.name, c.width, c.height, c.fps, c.duration, c.aeid) for c in info.compositions] == [
        ("lottie main", 800, 600, 25.0, 2.0, ""),
        ("lower third", 800, 600, 25.0, 2.0, "comp_0"),
        ("comp_1", 800, 600, 25.0, 2.0, "comp_1"),
    ]
    assert info.compositions[1].layers == (
        Layer("name", LayerKind.TEXT, 1, 1, None, None, 0.0, 2.0, 0.0, None),
    )


def test_lottie_layers(tmp_path: Path) -> None:
    info = introspect(write(tmp_path / "anim.json", LOTTIE), TemplateKind.LOTTIE)
    layers = info.compositions[0].layers
    assert [(la.index, la.name, la.kind) for la in layers] == [
        (1, "title", LayerKind.TEXT),
        (2, "logo", LayerKind.FOOTAGE),
        (3, "ctrl", LayerKind.NULL),
        (4, "lt", LayerKind.PRECOMP),
        (5, "empty", LayerKind.PRECOMP),
        (6, "inline", LayerKind.FOOTAGE),
        (7, "bg", LayerKind.SOLID),
        (8, "shape", LayerKind.SHAPE),
        (9, "music", LayerKind.AUDIO),
        (10, "camera", LayerKind.CAMERA),
        (11, "future", LayerKind.OTHER),
    ]
    title, logo, _, lower_third, empty, inline = layers[:6]
    assert (title.text, title.parent_id, title.aeid, title.out_point) == ("Hello", 3, 1, 2.0)
    assert (logo.source_name, logo.in_point, logo.start_time) == ("img_0.png", 0.2, 0.2)
    assert (lower_third.source_comp, empty.source_comp) == ("lower third", "comp_1")
    assert inline.source_name is None


def test_lottie_sample() -> None:
    info = introspect(sample("lottie-web-text-basic.json"), TemplateKind.LOTTIE)
    (comp,) = info.compositions
    assert (comp.name, comp.width, comp.height, comp.fps, comp.duration) == (
        "Lottie Shaper",
        500,
        500,
        30.0,
        5.0,
    )
    assert [layer.kind for layer in comp.layers] == [
        LayerKind.TEXT,
        LayerKind.SOLID,
        LayerKind.TEXT,
        LayerKind.SOLID,
        LayerKind.SOLID,
    ]
    assert comp.layers[0].text == "Lorem ipsum dolor sit amet, consectetur adipiscing elit."


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"{",
            "cannot read Lottie file 'a.json': "
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (b'{"v": "5"}', "'a.json' is not a Bodymovin (Lottie) export"),
        (
            json.dumps({**BODYMOVIN, "fr": 0}).encode(),
            "'a.json' is a malformed Bodymovin export: ZeroDivisionError('float division by zero')",
        ),
    ],
)
def test_unreadable_lottie(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        introspect(write(tmp_path / "a.json", content), TemplateKind.LOTTIE)
    assert str(caught.value) == message


# --- cache ---------------------------------------------------------------------------------------


def digest_of(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_cache_round_trip(tmp_path: Path, aep_file: Path) -> None:
    digest = digest_of(aep_file)
    cache_dir = tmp_path / "cache"
    first = introspect_cached(aep_file, TemplateKind.AEP, digest=digest, cache_dir=cache_dir)
    assert [p.name for p in cache_dir.iterdir()] == [f"{digest[7:]}.json"]
    again = introspect_cached(aep_file, TemplateKind.AEP, digest=digest, cache_dir=cache_dir)
    assert again == first == introspect(aep_file, TemplateKind.AEP)


def test_cache_hit_does_not_read_the_template(tmp_path: Path, aep_file: Path) -> None:
    digest = digest_of(aep_file)
    cache_dir = tmp_path / "cache"
    first = introspect_cached(aep_file, TemplateKind.AEP, digest=digest, cache_dir=cache_dir)
    gone = tmp_path / "gone.aep"
    assert introspect_cached(gone, TemplateKind.AEP, digest=digest, cache_dir=cache_dir) == first


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"[]",
        b'{"format": 1}',
        b'{"format": 1, "info": {"kind": "nope"}}',
        b'{"format": 0, "info": {}}',
    ],
)
def test_corrupt_cache_entry_is_recomputed(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path / "anim.json", LOTTIE)
    digest = digest_of(path)
    entry = write(tmp_path / "cache" / f"{digest[7:]}.json", content)
    info = introspect_cached(path, TemplateKind.LOTTIE, digest=digest, cache_dir=entry.parent)
    assert info == introspect(path, TemplateKind.LOTTIE)
    assert json.loads(entry.read_bytes())["info"] == info.to_json()


def test_unwritable_cache_is_ignored(tmp_path: Path) -> None:
    path = write(tmp_path / "anim.json", LOTTIE)
    blocker = write(tmp_path / "cache", b"a file where the folder should be")
    info = introspect_cached(path, TemplateKind.LOTTIE, digest=digest_of(path), cache_dir=blocker)
    assert info.kind is TemplateKind.LOTTIE


@pytest.mark.parametrize("digest", ["sha256:abc", "md5:" + "0" * 64, "sha256:../../" + "0" * 58])
def test_malformed_digest(tmp_path: Path, digest: str) -> None:
    with pytest.raises(TemplateError) as caught:
        introspect_cached(tmp_path, TemplateKind.ZIP, digest=digest, cache_dir=tmp_path)
    assert str(caught.value) == f"'{digest}' is not a sha256 digest"


def run_python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_cached_validation_does_not_import_py_aep(tmp_path: Path, aep_file: Path) -> None:
    digest = digest_of(aep_file)
    cache_dir = tmp_path / "cache"
    expected = introspect_cached(aep_file, TemplateKind.AEP, digest=digest, cache_dir=cache_dir)
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from nexspec.introspect import introspect_cached\n"
        "from nexspec.templateinfo import TemplateKind\n"
        f"info = introspect_cached(Path({str(aep_file)!r}), TemplateKind.AEP, "
        f"digest={digest!r}, cache_dir=Path({str(cache_dir)!r}))\n"
        "print(len(info.compositions), 'py_aep' in sys.modules)\n"
    )
    assert run_python(code) == f"{len(expected.compositions)} False"


def test_importing_introspect_does_not_import_py_aep() -> None:
    assert run_python("import sys, nexspec.introspect; print('py_aep' in sys.modules)") == "False"


def test_info_survives_json(aep_file: Path) -> None:
    info = introspect(aep_file, TemplateKind.AEP)
    assert TemplateInfo.from_json(json.loads(json.dumps(info.to_json()))) == info
