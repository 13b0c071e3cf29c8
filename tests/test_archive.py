"""Archive lint: the rules the cloud applies when it extracts and opens a template."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from nexspec.archive import archive_layout, common_root, lint_template
from nexspec.diagnostics import Diagnostic, Location
from nexspec.templateinfo import TemplateKind

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples"

AEP = b"RIFX\x00\x00\x00\x04Egg!"
BODYMOVIN = json.dumps({"v": "5.7.4", "fr": 30, "ip": 0, "op": 60, "w": 320, "h": 240, "layers": []}).encode()
DEFINITION = json.dumps({"authorApp": "aefx", "clientControls": []}).encode()

Found = tuple[tuple[str, str], ...]


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"../shared/samples is absent: {name} is needed (see SOURCES.md there)")
    return path


def zip_bytes(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def summaries(diagnostics: tuple[Diagnostic, ...]) -> Found:
    return tuple((d.severity, d.summary) for d in diagnostics)


def lint(path: Path, kind: TemplateKind, **options: object) -> Found:
    found = lint_template(path, kind, display=path.name, **options)  # type: ignore[arg-type]
    assert all(d.location == Location(path.name) for d in found)
    return summaries(found)


def project_error(count: int, names: str, holder: str = "archive") -> tuple[str, str]:
    return ("error", f"{holder} holds {count} .aep files ({names}); the cloud opens exactly one")


# --- .zip ----------------------------------------------------------------------------------------

ZIP_CASES: list[tuple[str, dict[str, bytes], Found]] = [
    ("one project at the root", {"promo.aep": AEP, "footage/logo.png": b"png"}, ()),
    ("one project in a stripped top folder", {"promo/": b"", "promo/promo.aep": AEP}, ()),
    ("empty directory entries", {"promo.aep": AEP, "empty/": b""}, ()),
    (
        "zip slip with '..'",
        {"promo.aep": AEP, "../evil.aep": AEP},
        (
            ("error", "archive entry '../evil.aep' escapes the archive root"),
            project_error(2, "../evil.aep, promo.aep"),
        ),
    ),
    (
        "zip slip with backslashes",
        {"promo.aep": AEP, "footage\\..\\..\\evil.png": b"x"},
        (("error", "archive entry 'footage\\..\\..\\evil.png' escapes the archive root"),),
    ),
    (
        "absolute path",
        {"promo.aep": AEP, "/etc/cron.d/evil": b"x"},
        (("error", "archive entry '/etc/cron.d/evil' is an absolute path"),),
    ),
    (
        "drive letter",
        {"promo.aep": AEP, "C:\\Windows\\evil.dll": b"x"},
        (("error", "archive entry 'C:\\Windows\\evil.dll' is an absolute path"),),
    ),
    (
        "backslash separators",
        {"promo.aep": AEP, "footage\\logo.png": b"x"},
        (("error", "archive entry 'footage\\logo.png' uses backslashes; zip paths use '/'"),),
    ),
    (
        "two projects",
        {"a.aep": AEP, "b/b.aep": AEP},
        (project_error(2, "a.aep, b/b.aep"),),
    ),
    (
        "an auto-save next to the project",
        {
            "promo/promo.aep": AEP,
            "promo/Adobe After Effects Auto-Save/promo auto-save 1.aep": AEP,
        },
        (project_error(2, "promo/Adobe After Effects Auto-Save/promo auto-save 1.aep, promo/promo.aep"),),
    ),
    (
        "no project",
        {"footage/logo.png": b"png"},
        (("error", "archive holds no .aep file; the cloud opens exactly one"),),
    ),
    ("no project but a Bodymovin export", {"anim/data.json": BODYMOVIN}, ()),
    (
        "no project and a JSON that is not Bodymovin",
        {"data.json": b'{"v": 1}'},
        (("error", "archive holds no .aep file; the cloud opens exactly one"),),
    ),
    (
        "Finder debris",
        {"promo.aep": AEP, ".DS_Store": b"x", "footage/.DS_Store": b"x"},
        (
            ("warning", "'.DS_Store' is macOS debris; remove it from the archive"),
            ("warning", "'footage/.DS_Store' is macOS debris; remove it from the archive"),
        ),
    ),
    (
        "__MACOSX stops the top folder from being stripped",
        {
            "promo/promo.aep": AEP,
            "__MACOSX/promo/._promo.aep": b"x",
            "__MACOSX/promo/._logo.png": b"x",
        },
        (
            ("warning", "'__MACOSX/' is macOS debris; remove it from the archive"),
            ("warning", "the project 'promo/promo.aep' is not at the top of the archive"),
        ),
    ),
    (
        "AppleDouble files",
        {"promo.aep": AEP, "._promo.aep": b"x"},
        (("warning", "'._promo.aep' is macOS debris; remove it from the archive"),),
    ),
    (
        "Windows debris",
        {"promo.aep": AEP, "footage/Thumbs.db": b"x"},
        (("warning", "'footage/Thumbs.db' is Windows debris; remove it from the archive"),),
    ),
    (
        "project in a sub-folder",
        {"ae/promo.aep": AEP, "footage/logo.png": b"png"},
        (("warning", "the project 'ae/promo.aep' is not at the top of the archive"),),
    ),
    (
        "names that differ only in case",
        {"promo.aep": AEP, "footage/Logo.png": b"1", "footage/logo.png": b"2"},
        (
            (
                "warning",
                "archive entries 'footage/Logo.png' and 'footage/logo.png' differ only in case; "
                "extracted on Windows, one overwrites the other",
            ),
        ),
    ),
]


@pytest.mark.parametrize(("entries", "expected"), [c[1:] for c in ZIP_CASES], ids=[c[0] for c in ZIP_CASES])
def test_zip_rules(tmp_path: Path, entries: dict[str, bytes], expected: Found) -> None:
    path = write(tmp_path / "promo.zip", zip_bytes(entries))
    assert lint(path, TemplateKind.ZIP) == expected


def test_messages_carry_hints(tmp_path: Path) -> None:
    path = write(tmp_path / "promo.zip", zip_bytes({"a.aep": AEP, "b.aep": AEP}))
    (found,) = lint_template(path, TemplateKind.ZIP, display="templates/promo.zip")
    assert found.location == Location("templates/promo.zip")
    assert found.hint == "keep one project in the archive; remove auto-saves and older versions"


def test_blob_without_suffix_is_linted_by_kind(tmp_path: Path) -> None:
    blob = write(tmp_path / "01JD3Q6M0V7Z", zip_bytes({"promo.aep": AEP}))
    assert lint(blob, TemplateKind.ZIP) == ()
    assert lint(blob, TemplateKind.AEP) == (
        ("error", "'01JD3Q6M0V7Z' is not an After Effects project: it is a zip archive"),
    )


def test_empty_archive(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.zip", zip_bytes({}))
    assert path.read_bytes().startswith(b"PK\x05\x06")
    assert lint(path, TemplateKind.ZIP) == (
        ("error", "archive holds no .aep file; the cloud opens exactly one"),
    )


def test_damaged_zip(tmp_path: Path) -> None:
    path = write(tmp_path / "promo.zip", b"PK\x03\x04" + b"\x00" * 40)
    assert lint(path, TemplateKind.ZIP) == (
        ("error", "'promo.zip' is a damaged zip archive: File is not a zip file"),
    )


def test_encrypted_entry(tmp_path: Path) -> None:
    data = bytearray(zip_bytes({"promo.aep": AEP}, zipfile.ZIP_STORED))
    # Set the "encrypted" flag in the local and central headers, as a password-protected zip has.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        data[data.index(signature) + offset] |= 0x1
    path = write(tmp_path / "promo.zip", bytes(data))
    assert lint(path, TemplateKind.ZIP) == (
        ("error", "archive entry 'promo.aep' is encrypted; the cloud cannot extract it"),
    )


def test_unsupported_compression(tmp_path: Path) -> None:
    path = write(tmp_path / "promo.zip", zip_bytes({"promo.aep": AEP}, zipfile.ZIP_LZMA))
    assert lint(path, TemplateKind.ZIP) == (
        (
            "error",
            "archive entry 'promo.aep' uses compression method 14; "
            "the cloud extracts only stored and deflated entries",
        ),
    )


def test_size_limit(tmp_path: Path) -> None:
    data = zip_bytes({"promo.aep": AEP})
    path = write(tmp_path / "promo.zip", data)
    assert lint(path, TemplateKind.ZIP, max_bytes=100) == (
        (
            "error",
            f"'promo.zip' is {len(data):,} bytes; Nexrender Cloud accepts templates up to 100 bytes",
        ),
    )


@pytest.mark.parametrize(
    ("names", "root"),
    [
        (["promo/", "promo/a.aep"], "promo"),
        (["promo/a.aep", "promo/f/x.png"], "promo"),
        (["promo/a.aep", "__MACOSX/promo/._a.aep"], ""),
        (["a.aep"], ""),
        (["promo"], ""),
        ([], ""),
        (["a/x", "b/y"], ""),
    ],
)
def test_common_root_matches_the_cloud_extractor(names: list[str], root: str) -> None:
    assert common_root(names) == root


def test_layout_names_the_extracted_project() -> None:
    layout = archive_layout(["promo/promo.aep", "promo/footage/logo.png"])
    assert layout.projects == ("promo/promo.aep",)
    assert layout.extracted("promo/promo.aep") == "promo.aep"


# --- wrong content for the kind ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        (TemplateKind.AEP, AEP, ()),
        (
            TemplateKind.AEP,
            b"hello world",
            "'t' is not an After Effects project: it is a file starting with b'hell'",
        ),
        (TemplateKind.AEP, b"", "'t' is not an After Effects project: it is an empty file"),
        (
            TemplateKind.AEP,
            b'<?xml version="1.0"?><AfterEffectsProject/>',
            "'t' is not an After Effects project: it is an XML file",
        ),
        (TemplateKind.ZIP, AEP, "'t' is not a zip archive: it is an After Effects project"),
        (
            TemplateKind.MOGRT,
            b"hello",
            "'t' is not a Motion Graphics template (a zip archive): it is a file starting with b'hell'",
        ),
        (
            TemplateKind.LOTTIE,
            zip_bytes({"manifest.json": b"{}"}),
            "'t' is not a Bodymovin (Lottie) export: it is a zip archive",
        ),
        (TemplateKind.LOTTIE, BODYMOVIN, ()),
        (
            TemplateKind.LOTTIE,
            b'{"v": "5.7.4", "layers": [}',
            "'t' is not valid JSON: Expecting value: line 1 column 27 (char 26)",
        ),
        (
            TemplateKind.LOTTIE,
            b'{"v": "5.7.4", "layers": []}',
            "'t' is not a Bodymovin (Lottie) export: it lacks fr, ip, op, w, h",
        ),
        (
            TemplateKind.LOTTIE,
            b"[1, 2]",
            "'t' is not a Bodymovin (Lottie) export: it lacks v, fr, ip, op, w, h, layers",
        ),
    ],
)
def test_content_must_match_the_kind(
    tmp_path: Path, kind: TemplateKind, data: bytes, expected: str | tuple[()]
) -> None:
    path = write(tmp_path / "t", data)
    assert lint(path, kind) == ((("error", expected),) if expected else ())


def test_xml_project_hint(tmp_path: Path) -> None:
    path = write(tmp_path / "promo.aep", b"<?xml version='1.0'?>")
    (found,) = lint_template(path, TemplateKind.AEP, display="promo.aep")
    assert found.hint == "an .aepx (XML) project is not accepted; save it as a binary .aep"


def test_missing_file(tmp_path: Path) -> None:
    assert lint(tmp_path / "gone.aep", TemplateKind.AEP) == (
        ("error", "cannot read 'gone.aep': No such file or directory"),
    )


# --- .mogrt --------------------------------------------------------------------------------------


def test_after_effects_mogrt_sample_is_clean() -> None:
    path = sample("nexrender-ae.mogrt")
    assert lint(path, TemplateKind.MOGRT) == ()


def mogrt(entries: dict[str, bytes]) -> bytes:
    return zip_bytes({"definition.json": DEFINITION, "thumb.png": b"png", **entries})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (mogrt({"project.aegraphic": zip_bytes({"test.aep": AEP})}), ()),
        (
            mogrt({"project.prgraphic": zip_bytes({"test.prproj": b"x"})}),
            (
                (
                    "error",
                    "'t.mogrt' is a Premiere Pro Motion Graphics template "
                    "(it holds project.prgraphic); After Effects cannot render it",
                ),
            ),
        ),
        (
            zip_bytes({"project.aegraphic": zip_bytes({"test.aep": AEP})}),
            (
                (
                    "error",
                    "'t.mogrt' holds no definition.json; it is not a Motion Graphics template",
                ),
            ),
        ),
        (
            mogrt({}),
            (
                (
                    "error",
                    "'t.mogrt' holds no project.aegraphic; "
                    "it is not an After Effects Motion Graphics template",
                ),
            ),
        ),
        (
            mogrt({"project.aegraphic": zip_bytes({"(Footage)/square.jpg": b"jpg"})}),
            (("error", "project.aegraphic holds no .aep file; the cloud opens exactly one"),),
        ),
        (
            mogrt({"project.aegraphic": b"not a zip"}),
            (
                (
                    "error",
                    "project.aegraphic in 't.mogrt' is a damaged zip archive: File is not a zip file",
                ),
            ),
        ),
        (
            mogrt({"project.aegraphic": zip_bytes({"test.aep": AEP, "../x.png": b"x"})}),
            (("error", "archive entry 'project.aegraphic/../x.png' escapes the archive root"),),
        ),
    ],
    ids=["clean", "premiere", "no definition", "no aegraphic", "no aep", "bad aegraphic", "slip"],
)
def test_mogrt_rules(tmp_path: Path, data: bytes, expected: Found) -> None:
    path = write(tmp_path / "t.mogrt", data)
    assert lint(path, TemplateKind.MOGRT) == expected


def test_mogrt_with_unreadable_definition(tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.mogrt",
        zip_bytes({"definition.json": b"{", "project.aegraphic": zip_bytes({"t.aep": AEP})}),
    )
    assert lint(path, TemplateKind.MOGRT) == (
        (
            "error",
            "definition.json in 't.mogrt' cannot be read: "
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
    )


# --- folders -------------------------------------------------------------------------------------


def folder_with(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "project" / "tpl"
    root.mkdir(parents=True)
    for rel, data in files.items():
        write(root / rel, data)
    return root


@pytest.mark.parametrize(
    ("files", "kind", "expected"),
    [
        ({"promo.aep": AEP, "footage/a.png": b"png"}, TemplateKind.ZIP, ()),
        ({"promo.aep": AEP, ".DS_Store": b"", "__MACOSX/._a": b""}, TemplateKind.ZIP, ()),
        (
            {"a.aep": AEP, "b/b.aep": AEP},
            TemplateKind.ZIP,
            (project_error(2, "a.aep, b/b.aep", "folder"),),
        ),
        (
            {"footage/a.png": b"png"},
            TemplateKind.ZIP,
            (("error", "folder holds no .aep file; the cloud opens exactly one"),),
        ),
        ({"data.json": BODYMOVIN, "images/img_0.png": b"png"}, TemplateKind.LOTTIE, ()),
        ({"data.json": BODYMOVIN}, TemplateKind.ZIP, ()),
        (
            {"data.json": b"{}"},
            TemplateKind.LOTTIE,
            (("error", "'tpl' holds no Bodymovin (Lottie) export"),),
        ),
        ({"promo.aep": AEP}, TemplateKind.AEP, (("error", "'tpl' is a folder, not a .aep file"),)),
        (
            {"only/promo.aep": AEP, "only/footage/a.png": b"png"},
            TemplateKind.ZIP,
            (),
        ),
        (
            {"ae/promo.aep": AEP, "footage/a.png": b"png"},
            TemplateKind.ZIP,
            (("warning", "the project 'ae/promo.aep' is not at the top of the folder"),),
        ),
    ],
)
def test_folder_rules(tmp_path: Path, files: dict[str, bytes], kind: TemplateKind, expected: Found) -> None:
    folder = folder_with(tmp_path, files)
    assert lint(folder, kind, project_root=folder.parent) == expected


def test_folder_size_is_the_packed_size(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, {"promo.aep": AEP})
    packed = 30 + 16 + 46 + 2 * len("promo.aep") + len(AEP) + 22
    assert lint(folder, TemplateKind.ZIP, max_bytes=packed) == ()
    assert lint(folder, TemplateKind.ZIP, max_bytes=packed - 1) == (
        (
            "error",
            f"'tpl' packs into {packed:,} bytes; Nexrender Cloud accepts templates "
            f"up to {packed - 1:,} bytes",
        ),
    )


def test_folder_symlink_leaving_the_project(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, {"promo.aep": AEP})
    outside = write(tmp_path / "elsewhere" / "logo.png", b"png")
    (folder / "logo.png").symlink_to(outside)
    project = folder.parent
    assert lint(folder, TemplateKind.ZIP, project_root=project) == (
        (
            "error",
            f"symlink 'logo.png' points to '{outside.resolve()}', outside the project "
            f"'{project.resolve()}'; copy the file into the project instead",
        ),
    )


def test_folder_symlink_within_the_project(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, {"promo.aep": AEP})
    shared = write(folder.parent / "shared" / "logo.png", b"png")
    (folder / "logo.png").symlink_to(shared)
    assert lint(folder, TemplateKind.ZIP, project_root=folder.parent) == ()
    # Without a project root, the folder itself is the boundary.
    assert lint(folder, TemplateKind.ZIP)[0][1].startswith("symlink 'logo.png' points to")
