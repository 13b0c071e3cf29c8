"""Template kinds, deterministic packing of template folders, and template digests.

The **digest** of a template is ``sha256:<hex>`` of exactly the bytes that would be
uploaded to Nexrender Cloud: the file itself for an ``.aep``, ``.zip``, ``.mogrt`` or
Lottie ``.json`` template, and the packed ``.zip`` for a folder. Its ``size`` is the
length of those bytes. Two machines holding the same folder contents compute the same
digest, whatever the files' timestamps, permissions or directory listing order.

A folder is packed as a zip of its files (hidden files and ``__MACOSX`` left out),
sorted by POSIX relative path, stored uncompressed with fixed timestamps, permissions
and creator system, and without directory entries. Symlinks are followed, but one that
leads out of the project is an error.

Reading a multi-gigabyte template on every run would be slow, so ``DigestCache``
remembers digests by file signature (size, modification time, inode).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nexspec.atomicfile import write_atomic
from nexspec.errors import TemplateError
from nexspec.templateinfo import TemplateKind

MAX_TEMPLATE_BYTES = 2 * 1024**3
"""Nexrender Cloud refuses template files larger than 2 GiB."""

MAX_LOTTIE_BYTES = 256 * 1024**2
"""JSON files larger than this are not read when looking for a Bodymovin export."""

BODYMOVIN_KEYS = ("v", "fr", "ip", "op", "w", "h", "layers")
"""Top-level keys every Bodymovin (Lottie) export has."""

CHUNK_BYTES = 1024 * 1024

# Bumped whenever the packed bytes change, so cached digests of the old format are dropped.
PACK_FORMAT = 1

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_ZIP_UNIX = 3
_ZIP_FILE_MODE = (stat.S_IFREG | 0o644) << 16
# Fixed sizes of the records zipfile writes for a stored entry with a data descriptor.
_LOCAL_HEADER, _DATA_DESCRIPTOR, _CENTRAL_HEADER, _END_RECORD = 30, 16, 46, 22
_ZIP64_END_RECORDS = 56 + 20
_SUFFIX_KINDS = {
    ".aep": TemplateKind.AEP,
    ".zip": TemplateKind.ZIP,
    ".mogrt": TemplateKind.MOGRT,
    ".json": TemplateKind.LOTTIE,
}


@dataclass(frozen=True, slots=True)
class Digest:
    """``sha256:<hex>`` of the bytes that would be uploaded, and their length."""

    value: str
    size: int

    @property
    def hex(self) -> str:
        return self.value.removeprefix("sha256:")


@dataclass(frozen=True, slots=True)
class PackedTemplate:
    """A template ready for upload: ``upload_file`` holds exactly the digested bytes."""

    source: Path
    kind: TemplateKind
    digest: Digest
    upload_file: Path


# --- kinds -------------------------------------------------------------------------------


def template_kind(path: Path) -> TemplateKind:
    """The kind of template at ``path``, from its suffix, or from its contents for a folder."""
    if path.is_dir():
        return _folder_kind(path)
    if not path.exists():
        raise TemplateError(f"template '{path}' does not exist")
    kind = _SUFFIX_KINDS.get(path.suffix.lower())
    if kind is None:
        raise TemplateError(f"template '{path}' is not a folder, .aep, .zip, .mogrt or Lottie .json file")
    return kind


def _folder_kind(folder: Path) -> TemplateKind:
    # Which symlinks are allowed is decided when packing; the kind only needs the names.
    entries = iter_template_files(folder, Path(folder.resolve().anchor))
    if any(rel.lower().endswith(".aep") for rel, _ in entries):
        return TemplateKind.ZIP
    return TemplateKind.LOTTIE if find_bodymovin(entries) else TemplateKind.ZIP


def is_bodymovin(doc: object) -> bool:
    """Whether a parsed JSON document looks like a Bodymovin (Lottie) export."""
    return (
        isinstance(doc, dict)
        and all(key in doc for key in BODYMOVIN_KEYS)
        and isinstance(doc["layers"], list)
    )


def parse_bodymovin(data: bytes) -> dict[str, object] | None:
    """The parsed document if ``data`` is a Bodymovin export, else ``None``."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return doc if is_bodymovin(doc) else None


def lottie_candidates(names: list[str]) -> list[str]:
    """The ``.json`` names worth reading, shallowest first (an export sits near the top)."""
    jsons = [n for n in names if n.lower().endswith(".json")]
    return sorted(jsons, key=lambda n: (n.count("/"), n))


def find_bodymovin(entries: list[tuple[str, Path]]) -> str | None:
    """The relative path of the first Bodymovin export among a folder's files."""
    paths = dict(entries)
    return next((rel for rel in lottie_candidates(list(paths)) if read_bodymovin(paths[rel])), None)


def read_bodymovin(path: Path) -> dict[str, object] | None:
    """The parsed Bodymovin export in a file, or ``None`` when it is not one."""
    try:
        if path.stat().st_size > MAX_LOTTIE_BYTES:
            return None
        return parse_bodymovin(path.read_bytes())
    except OSError:
        return None  # an unreadable file is reported by the packer, which must read it


# --- walking a folder ----------------------------------------------------------------------


def is_packed_name(name: str) -> bool:
    """Whether a file or folder name is packed: hidden names and ``__MACOSX`` are not."""
    return not name.startswith(".") and name != "__MACOSX"


def iter_template_files(folder: Path, project_root: Path) -> list[tuple[str, Path]]:
    """Every file the packer includes, as (POSIX relative path, real path), sorted by path.

    Symlinks are followed; one whose target lies outside ``project_root``, a broken
    one, or one that loops back to a folder above it is a ``TemplateError``.
    """
    if not folder.is_dir():
        raise TemplateError(f"template folder '{folder}' does not exist")
    found: list[tuple[str, Path]] = []
    _walk(folder, "", project_root.resolve(), (folder.resolve(),), found)
    return sorted(found)


def _walk(
    directory: Path, prefix: str, root: Path, above: tuple[Path, ...], found: list[tuple[str, Path]]
) -> None:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        raise TemplateError(f"cannot list '{directory}': {exc.strerror or exc}") from exc
    for entry in entries:
        if is_packed_name(entry.name):
            _visit(Path(entry.path), prefix + entry.name, root, above, found)


def _visit(path: Path, rel: str, root: Path, above: tuple[Path, ...], found: list[tuple[str, Path]]) -> None:
    real = _follow(path, rel, root) if path.is_symlink() else path
    if real.is_dir():
        resolved = real.resolve()
        if resolved in above:
            raise TemplateError(f"symlink '{rel}' loops back to a folder that contains it")
        _walk(real, rel + "/", root, (*above, resolved), found)
    elif real.is_file():
        found.append((rel, real))
    else:
        raise TemplateError(f"'{rel}' is not a regular file or folder; templates hold only files")


def _follow(link: Path, rel: str, root: Path) -> Path:
    target = link.resolve()
    if not target.is_relative_to(root):
        raise TemplateError(
            f"symlink '{rel}' points to '{target}', outside the project '{root}'; "
            "copy the file into the project instead"
        )
    if not target.exists():
        raise TemplateError(f"symlink '{rel}' is broken: '{target}' does not exist")
    return target


# --- packing ---------------------------------------------------------------------------------


class _Sink:
    """A write-only stream that hashes what passes through and may copy it to a file.

    It has no ``tell``/``seek`` on purpose: zipfile then writes every entry in one
    forward pass (sizes in data descriptors) instead of seeking back to patch headers,
    so the bytes are the same whether they go to a file or only to the hash.
    """

    def __init__(self, out: BinaryIO | None = None) -> None:
        self._hash = hashlib.sha256()
        self._out = out
        self.size = 0

    def write(self, data: bytes | memoryview, /) -> int:
        self._hash.update(data)
        if self._out is not None:
            self._out.write(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        if self._out is not None:
            self._out.flush()

    def close(self) -> None:
        """The caller owns the underlying file."""

    def digest(self) -> Digest:
        return Digest(f"sha256:{self._hash.hexdigest()}", self.size)


def packed_size(entries: list[tuple[str, Path]]) -> int:
    """The exact size of the zip ``write_zip`` produces for these files, without reading them."""
    total = _END_RECORD + (_ZIP64_END_RECORDS if len(entries) > 0xFFFF else 0)
    for rel, real in entries:
        name = len(rel.encode("utf-8"))
        total += _LOCAL_HEADER + _DATA_DESCRIPTOR + _CENTRAL_HEADER + 2 * name
        total += real.stat().st_size
    return total


def write_zip(entries: list[tuple[str, Path]], out: BinaryIO | None = None) -> Digest:
    """Stream the deterministic zip of ``entries`` to ``out`` (or only hash it); its digest."""
    sink = _Sink(out)
    # ZIP_STORED: deflate output differs between zlib builds (zlib, zlib-ng, hardware
    # offload), so only stored entries give the same digest on every machine.
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for rel, real in entries:
            _write_entry(archive, rel, real)
    return sink.digest()


def _write_entry(archive: zipfile.ZipFile, rel: str, real: Path) -> None:
    info = zipfile.ZipInfo(rel, date_time=_ZIP_EPOCH)
    info.create_system = _ZIP_UNIX
    info.external_attr = _ZIP_FILE_MODE
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = real.stat().st_size
    # Decided from the size alone, so the same files always get the same records.
    zip64 = info.file_size * 1.05 > zipfile.ZIP64_LIMIT
    with archive.open(info, "w", force_zip64=zip64) as dest:
        for chunk in read_chunks(real):
            dest.write(chunk)


def read_chunks(path: Path) -> Iterator[memoryview]:
    """A file's bytes in 1 MiB chunks, in constant memory: each chunk is valid until the next."""
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    try:
        with path.open("rb") as src:
            while count := src.readinto(buffer):
                yield view[:count]
    except OSError as exc:
        raise TemplateError(f"cannot read '{path}': {exc.strerror or exc}") from exc


# --- digests -----------------------------------------------------------------------------------


class DigestCache:
    """Digests remembered by template path and file signature, in one JSON file.

    A missing or corrupt cache file is an empty cache, and a cache that cannot be
    saved is silently not saved: it only saves time.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries = _load_cache(path)

    def get(self, key: str, signature: str) -> Digest | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != signature:
            return None
        return entry[1]

    def put(self, key: str, signature: str, digest: Digest) -> None:
        self._entries[key] = (signature, digest)

    def save(self) -> None:
        data = {
            "format": PACK_FORMAT,
            "entries": {
                key: {"signature": sig, "digest": d.value, "size": d.size}
                for key, (sig, d) in sorted(self._entries.items())
            },
        }
        # A cache that cannot be written only costs time on the next run.
        with suppress(OSError):
            write_atomic(self.path, json.dumps(data, indent=1).encode())


def _load_cache(path: Path) -> dict[str, tuple[str, Digest]]:
    try:
        data = json.loads(path.read_bytes())
        if data["format"] != PACK_FORMAT:
            return {}
        return {
            str(key): (str(e["signature"]), Digest(str(e["digest"]), int(e["size"])))
            for key, e in data["entries"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def file_signature(path: Path) -> str:
    """What identifies an unchanged file without reading it: size, mtime and inode."""
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


def folder_signature(entries: list[tuple[str, Path]]) -> str:
    """A hash of the sorted (path, size, mtime, inode) listing of a folder's packed files."""
    listing = hashlib.sha256()
    for rel, real in entries:
        listing.update(f"{rel}\0{file_signature(real)}\n".encode())
    return f"folder:{listing.hexdigest()}"


def hash_file(path: Path) -> Digest:
    """The digest of a file's bytes, read in 1 MiB chunks."""
    sink = _Sink()
    for chunk in read_chunks(path):
        sink.write(chunk)
    return sink.digest()


def digest_template(path: Path, *, project_root: Path, cache: DigestCache | None = None) -> Digest:
    """The digest of what would be uploaded for the template at ``path``."""
    if path.is_dir():
        entries = _folder_entries(path, project_root)
        return _cached(path, folder_signature(entries), cache, lambda: write_zip(entries))
    _check_size(path, _file_size(path))
    return _cached(path, file_signature(path), cache, lambda: hash_file(path))


def _cached(path: Path, signature: str, cache: DigestCache | None, compute: Callable[[], Digest]) -> Digest:
    key = str(path.resolve())
    hit = cache.get(key, signature) if cache is not None else None
    if hit is not None:
        return hit
    digest = compute()
    if cache is not None:
        cache.put(key, signature, digest)
        cache.save()
    return digest


def _folder_entries(folder: Path, project_root: Path) -> list[tuple[str, Path]]:
    entries = iter_template_files(folder, project_root)
    _check_size(folder, packed_size(entries))
    return entries


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise TemplateError(f"cannot read template '{path}': {exc.strerror or exc}") from exc


def _check_size(path: Path, size: int) -> None:
    if size > MAX_TEMPLATE_BYTES:
        raise TemplateError(
            f"template '{path}' is {size:,} bytes to upload; "
            f"Nexrender Cloud accepts at most {MAX_TEMPLATE_BYTES:,} bytes (2 GiB)"
        )


# --- packing for upload ---------------------------------------------------------------------


def pack_template(
    path: Path, *, project_root: Path, work_dir: Path, cache: DigestCache | None = None
) -> PackedTemplate:
    """The file to upload for a template: the file itself, or a folder's zip in ``work_dir``.

    The zip is named ``<hex>.zip`` after its digest and reused when already there.
    """
    kind = template_kind(path)
    if not path.is_dir():
        digest = digest_template(path, project_root=project_root, cache=cache)
        return PackedTemplate(path, kind, digest, path)
    entries = _folder_entries(path, project_root)
    signature = folder_signature(entries)
    # Without a cache, hashing first is the only way to find an earlier zip to reuse; on a
    # cache miss the folder has changed, so its zip is written straight away.
    known = cache.get(str(path.resolve()), signature) if cache is not None else write_zip(entries)
    if known is not None and _has_size(work_dir / f"{known.hex}.zip", known.size):
        return PackedTemplate(path, kind, known, work_dir / f"{known.hex}.zip")
    digest, upload = _write_packed(entries, work_dir)
    if cache is not None:
        cache.put(str(path.resolve()), signature, digest)
        cache.save()
    return PackedTemplate(path, kind, digest, upload)


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False


def _write_packed(entries: list[tuple[str, Path]], work_dir: Path) -> tuple[Digest, Path]:
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=work_dir, prefix=".pack-", suffix=".tmp")
    except OSError as exc:
        raise TemplateError(f"cannot write to '{work_dir}': {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            digest = write_zip(entries, out)
        target = work_dir / f"{digest.hex}.zip"
        os.replace(temp, target)
    except OSError as exc:
        raise TemplateError(f"cannot write to '{work_dir}': {exc.strerror or exc}") from exc
    finally:
        Path(temp).unlink(missing_ok=True)
    return digest, target
