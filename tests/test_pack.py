"""Template kinds, deterministic packing, digests and the digest cache."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from nexspec.errors import TemplateError
from nexspec.pack import (
    MAX_TEMPLATE_BYTES,
    Digest,
    DigestCache,
    digest_template,
    iter_template_files,
    pack_template,
    packed_size,
    template_kind,
    write_zip,
)
from nexspec.templateinfo import TemplateKind

BODYMOVIN = json.dumps(
    {"v": "5.7.4", "fr": 30, "ip": 0, "op": 60, "w": 320, "h": 240, "nm": "main", "layers": []}
)
AEP_BYTES = b"RIFX\x00\x00\x00\x04Egg!"

FILES = {
    "promo.aep": AEP_BYTES,
    "footage/logo.png": b"\x89PNG fake",
    "footage/clips/intro.mov": b"x" * 5000,
    "fonts/Caf\u00e9 Sans.ttf": b"font bytes",
    "z-last.txt": b"last",
}


def write_files(root: Path, files: dict[str, bytes], order: list[str] | None = None) -> Path:
    for rel in order or list(files):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[rel])
    return root


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write_files(root / "templates" / "promo", FILES)
    return root


# --- kinds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "kind"),
    [
        ({"promo.aep": AEP_BYTES}, TemplateKind.ZIP),
        ({"data.json": BODYMOVIN.encode(), "images/img_0.png": b"png"}, TemplateKind.LOTTIE),
        ({"export/data.json": BODYMOVIN.encode()}, TemplateKind.LOTTIE),
        ({"promo.aep": AEP_BYTES, "data.json": BODYMOVIN.encode()}, TemplateKind.ZIP),
        ({"package.json": b'{"name": "x"}'}, TemplateKind.ZIP),
        ({"broken.json": b"{"}, TemplateKind.ZIP),
        ({}, TemplateKind.ZIP),
        ({".hidden/data.json": BODYMOVIN.encode()}, TemplateKind.ZIP),
    ],
)
def test_folder_kind(tmp_path: Path, files: dict[str, bytes], kind: TemplateKind) -> None:
    folder = write_files(tmp_path / "tpl", files)
    folder.mkdir(exist_ok=True)
    assert template_kind(folder) is kind


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("promo.aep", TemplateKind.AEP),
        ("PROMO.AEP", TemplateKind.AEP),
        ("promo.zip", TemplateKind.ZIP),
        ("lower-third.mogrt", TemplateKind.MOGRT),
        ("anim.json", TemplateKind.LOTTIE),
    ],
)
def test_file_kind(tmp_path: Path, name: str, kind: TemplateKind) -> None:
    path = tmp_path / name
    path.write_bytes(b"content")
    assert template_kind(path) is kind


def test_unknown_suffix_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "clip.mov"
    path.write_bytes(b"content")
    with pytest.raises(TemplateError) as caught:
        template_kind(path)
    assert str(caught.value) == (
        f"template '{path}' is not a folder, .aep, .zip, .mogrt or Lottie .json file"
    )


def test_missing_template_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError) as caught:
        template_kind(tmp_path / "gone.aep")
    assert str(caught.value) == f"template '{tmp_path / 'gone.aep'}' does not exist"


# --- the packed zip ------------------------------------------------------------------------------


def test_packed_zip_layout(project: Path, tmp_path: Path) -> None:
    folder = project / "templates" / "promo"
    write_files(folder, {".DS_Store": b"x", "__MACOSX/._promo.aep": b"x", ".git/HEAD": b"x"})
    packed = pack_template(folder, project_root=project, work_dir=tmp_path / "work")
    with zipfile.ZipFile(packed.upload_file) as archive:
        infos = archive.infolist()
        assert archive.testzip() is None
        assert {i.filename: archive.read(i) for i in infos} == FILES
    assert [i.filename for i in infos] == sorted(FILES)
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
        assert info.create_system == 3
        assert info.compress_type == zipfile.ZIP_STORED
        assert not info.is_dir()
        # Sizes in data descriptors: written in one forward pass, as a hash-only stream is.
        assert info.flag_bits & 0x08


def test_packing_ignores_mtimes_permissions_and_creation_order(tmp_path: Path) -> None:
    first = write_files(tmp_path / "a" / "tpl", FILES)
    second = write_files(tmp_path / "b" / "tpl", FILES, order=sorted(FILES, reverse=True))
    for i, path in enumerate(p for p in second.rglob("*") if p.is_file()):
        os.utime(path, ns=(1_000_000_000 * i, 1_700_000_000_000_000_000 + i))
        path.chmod(0o600 if i % 2 else 0o755)
    (second / ".DS_Store").write_bytes(b"finder state")
    packed = [
        pack_template(folder, project_root=folder.parent, work_dir=tmp_path / f"work-{i}")
        for i, folder in enumerate((first, second))
    ]
    assert packed[0].digest == packed[1].digest
    assert packed[0].upload_file.read_bytes() == packed[1].upload_file.read_bytes()


def test_packing_twice_gives_the_same_bytes(project: Path, tmp_path: Path) -> None:
    folder = project / "templates" / "promo"
    one = io.BytesIO()
    two = io.BytesIO()
    entries = iter_template_files(folder, project)
    assert write_zip(entries, one) == write_zip(entries, two)
    assert one.getvalue() == two.getvalue()


def test_hashed_stream_equals_written_bytes(project: Path) -> None:
    """The digest computed with no output at all is the digest of the bytes written."""
    entries = iter_template_files(project / "templates" / "promo", project)
    hashed_only = write_zip(entries)
    written = io.BytesIO()
    assert write_zip(entries, written) == hashed_only
    assert hashed_only == Digest(sha256(written.getvalue()), len(written.getvalue()))


def test_packed_size_is_exact(project: Path) -> None:
    entries = iter_template_files(project / "templates" / "promo", project)
    out = io.BytesIO()
    write_zip(entries, out)
    assert packed_size(entries) == len(out.getvalue())


def test_empty_folder_packs_to_an_empty_archive(tmp_path: Path) -> None:
    (tmp_path / "tpl").mkdir()
    digest = digest_template(tmp_path / "tpl", project_root=tmp_path)
    assert digest == Digest(sha256(b"PK\x05\x06" + b"\x00" * 18), 22)


# --- digests -------------------------------------------------------------------------------------


def test_folder_digest_is_the_sha256_of_the_upload_file(project: Path, tmp_path: Path) -> None:
    folder = project / "templates" / "promo"
    packed = pack_template(folder, project_root=project, work_dir=tmp_path / "work")
    data = packed.upload_file.read_bytes()
    assert packed.kind is TemplateKind.ZIP
    assert packed.digest == Digest(sha256(data), len(data))
    assert packed.upload_file == tmp_path / "work" / f"{hashlib.sha256(data).hexdigest()}.zip"
    assert digest_template(folder, project_root=project) == packed.digest
    assert [p.name for p in (tmp_path / "work").iterdir()] == [packed.upload_file.name]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("promo.aep", TemplateKind.AEP),
        ("promo.zip", TemplateKind.ZIP),
        ("promo.mogrt", TemplateKind.MOGRT),
        ("anim.json", TemplateKind.LOTTIE),
    ],
)
def test_file_digest_is_the_sha256_of_the_file(tmp_path: Path, name: str, kind: TemplateKind) -> None:
    path = tmp_path / name
    data = os.urandom(3 * 1024 * 1024 + 17)  # spans several read chunks
    path.write_bytes(data)
    packed = pack_template(path, project_root=tmp_path, work_dir=tmp_path / "work")
    assert packed.kind is kind
    assert packed.upload_file == path
    assert packed.digest == Digest(sha256(data), len(data))
    assert not (tmp_path / "work").exists()


@pytest.mark.parametrize("cached", [True, False])
def test_existing_packed_zip_is_reused(project: Path, tmp_path: Path, cached: bool) -> None:
    folder = project / "templates" / "promo"
    cache = DigestCache(tmp_path / "cache" / "digests.json") if cached else None
    first = pack_template(folder, project_root=project, work_dir=tmp_path / "work", cache=cache)
    inode = first.upload_file.stat().st_ino
    second = pack_template(folder, project_root=project, work_dir=tmp_path / "work", cache=cache)
    assert second == first
    assert second.upload_file.stat().st_ino == inode  # not rewritten


def test_truncated_packed_zip_is_rewritten(project: Path, tmp_path: Path) -> None:
    folder = project / "templates" / "promo"
    cache = DigestCache(tmp_path / "cache" / "digests.json")
    first = pack_template(folder, project_root=project, work_dir=tmp_path / "work", cache=cache)
    good = first.upload_file.read_bytes()
    first.upload_file.write_bytes(good[:100])
    again = pack_template(folder, project_root=project, work_dir=tmp_path / "work", cache=cache)
    assert again == first
    assert again.upload_file.read_bytes() == good


@pytest.mark.parametrize("suffix", [".aep", ""])
def test_templates_over_2_gib_are_refused(tmp_path: Path, suffix: str) -> None:
    big = tmp_path / "tpl" / "huge.aep"
    big.parent.mkdir()
    with big.open("wb") as f:
        f.truncate(MAX_TEMPLATE_BYTES + 1)  # sparse: takes no disk space, and is never read
    target = big if suffix else big.parent
    size = MAX_TEMPLATE_BYTES + 1 if suffix else MAX_TEMPLATE_BYTES + 1 + 30 + 16 + 46 + 2 * 8 + 22
    with pytest.raises(TemplateError) as caught:
        digest_template(target, project_root=tmp_path)
    assert str(caught.value) == (
        f"template '{target}' is {size:,} bytes to upload; "
        "Nexrender Cloud accepts at most 2,147,483,648 bytes (2 GiB)"
    )


# --- the digest cache ----------------------------------------------------------------------------


def rewrite_in_place(path: Path, data: bytes) -> None:
    """Change a file's bytes while keeping its size, mtime and inode: a cache must not notice."""
    before = path.stat()
    assert len(data) == before.st_size
    with path.open("r+b") as f:
        f.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )


def test_cache_hit_does_not_read_the_file(tmp_path: Path) -> None:
    path = tmp_path / "promo.aep"
    path.write_bytes(b"RIFX original")
    cache_file = tmp_path / ".nexspec" / "cache" / "digests.json"
    original = digest_template(path, project_root=tmp_path, cache=DigestCache(cache_file))
    rewrite_in_place(path, b"RIFX replaced")
    assert digest_template(path, project_root=tmp_path, cache=DigestCache(cache_file)) == original
    assert digest_template(path, project_root=tmp_path) == Digest(sha256(b"RIFX replaced"), 13)


def test_folder_cache_hit_does_not_read_the_files(project: Path, tmp_path: Path) -> None:
    folder = project / "templates" / "promo"
    cache_file = tmp_path / "digests.json"
    original = digest_template(folder, project_root=project, cache=DigestCache(cache_file))
    rewrite_in_place(folder / "z-last.txt", b"LAST")
    assert digest_template(folder, project_root=project, cache=DigestCache(cache_file)) == original
    assert digest_template(folder, project_root=project) != original


def bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def grow(path: Path) -> None:
    path.write_bytes(path.read_bytes() + b"!")


def new_inode(path: Path) -> None:
    st = path.stat()
    data = path.read_bytes()
    os.link(path, path.with_name("old-inode"))  # keeps the old inode from being reused
    path.unlink()
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize("change", [bump_mtime, grow, new_inode])
def test_cache_misses_when_the_signature_changes(tmp_path: Path, change: Callable[[Path], None]) -> None:
    path = tmp_path / "promo.aep"
    path.write_bytes(b"RIFX original")
    cache = DigestCache(tmp_path / "digests.json")
    original = digest_template(path, project_root=tmp_path, cache=cache)
    rewrite_in_place(path, b"RIFX replaced")
    change(path)
    current = path.read_bytes()
    assert digest_template(path, project_root=tmp_path, cache=cache) == Digest(sha256(current), len(current))
    assert original != Digest(sha256(current), len(current))


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"format": 1}',
        b'{"format": 1, "entries": []}',
        b'{"format": 1, "entries": {"x": 5}}',
        b'{"format": 1, "entries": {"x": {"signature": "s"}}}',
        b'{"format": 999, "entries": {}}',
    ],
)
def test_corrupt_cache_is_an_empty_cache(tmp_path: Path, content: bytes) -> None:
    cache_file = tmp_path / "digests.json"
    cache_file.write_bytes(content)
    path = tmp_path / "promo.aep"
    path.write_bytes(AEP_BYTES)
    digest = digest_template(path, project_root=tmp_path, cache=DigestCache(cache_file))
    assert digest == Digest(sha256(AEP_BYTES), len(AEP_BYTES))
    saved = json.loads(cache_file.read_bytes())
    assert saved["entries"][str(path.resolve())]["digest"] == digest.value


def test_cache_that_cannot_be_saved_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_bytes(b"")
    cache = DigestCache(tmp_path / "not-a-dir" / "digests.json")
    path = tmp_path / "promo.aep"
    path.write_bytes(AEP_BYTES)
    assert digest_template(path, project_root=tmp_path, cache=cache).size == len(AEP_BYTES)


def test_cache_is_saved_atomically(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    path = tmp_path / "promo.aep"
    path.write_bytes(AEP_BYTES)
    digest_template(path, project_root=tmp_path, cache=DigestCache(cache_dir / "digests.json"))
    assert [p.name for p in cache_dir.iterdir()] == ["digests.json"]


# --- walking folders and symlinks ----------------------------------------------------------------


def test_iter_template_files_is_sorted_and_skips_hidden(project: Path) -> None:
    folder = project / "templates" / "promo"
    write_files(folder, {".DS_Store": b"", "footage/.cache/x": b"", "__MACOSX/a": b""})
    entries = iter_template_files(folder, project)
    assert entries == [(rel, folder / rel) for rel in sorted(FILES)]


def test_symlinks_inside_the_project_are_followed(project: Path, tmp_path: Path) -> None:
    folder = project / "templates" / "promo"
    shared = write_files(project / "shared", {"music.wav": b"RIFF wav", "lut/look.cube": b"lut"})
    (folder / "music.wav").symlink_to(shared / "music.wav")
    (folder / "lut").symlink_to(shared / "lut", target_is_directory=True)
    entries = dict(iter_template_files(folder, project))
    assert entries["music.wav"] == (shared / "music.wav").resolve()
    assert entries["lut/look.cube"] == (shared / "lut" / "look.cube").resolve()
    packed = pack_template(folder, project_root=project, work_dir=tmp_path / "work")
    with zipfile.ZipFile(packed.upload_file) as archive:
        assert archive.read("music.wav") == b"RIFF wav"


def test_symlink_leaving_the_project_is_an_error(project: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "id_rsa"
    write_files(secret.parent, {"id_rsa": b"key"})
    folder = project / "templates" / "promo"
    (folder / "footage" / "key.png").symlink_to(secret)
    with pytest.raises(TemplateError) as caught:
        digest_template(folder, project_root=project)
    assert str(caught.value) == (
        f"symlink 'footage/key.png' points to '{secret.resolve()}', outside the project "
        f"'{project.resolve()}'; copy the file into the project instead"
    )


def test_symlinked_folder_leaving_the_project_is_an_error(project: Path, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    folder = project / "templates" / "promo"
    (folder / "escape").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(TemplateError) as caught:
        iter_template_files(folder, project)
    assert str(caught.value) == (
        f"symlink 'escape' points to '{(tmp_path / 'outside').resolve()}', outside the project "
        f"'{project.resolve()}'; copy the file into the project instead"
    )


def test_symlink_loop_is_an_error(project: Path) -> None:
    folder = project / "templates" / "promo"
    (folder / "footage" / "again").symlink_to(folder, target_is_directory=True)
    with pytest.raises(TemplateError) as caught:
        iter_template_files(folder, project)
    assert str(caught.value) == ("symlink 'footage/again' loops back to a folder that contains it")


def test_broken_symlink_is_an_error(project: Path) -> None:
    folder = project / "templates" / "promo"
    (folder / "gone.png").symlink_to(folder / "never-there.png")
    with pytest.raises(TemplateError) as caught:
        iter_template_files(folder, project)
    assert str(caught.value) == (
        f"symlink 'gone.png' is broken: '{(folder / 'never-there.png').resolve()}' does not exist"
    )


def test_special_files_are_an_error(project: Path) -> None:
    folder = project / "templates" / "promo"
    os.mkfifo(folder / "pipe")
    with pytest.raises(TemplateError) as caught:
        iter_template_files(folder, project)
    assert str(caught.value) == "'pipe' is not a regular file or folder; templates hold only files"
