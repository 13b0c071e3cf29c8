"""Archive lint: would Nexrender Cloud accept and open this template file or folder?

The rules mirror how the cloud gets at a project. It extracts a ``.zip`` as nexrender's
``action-decompress`` does: when every entry sits under one top folder, that folder is
stripped; then it opens the one ``.aep``. A ``.mogrt`` is a zip holding
``definition.json`` and ``project.aegraphic``, itself a zip holding the ``.aep``. A folder
is checked as the zip ``nexspec.pack`` would make of it.

Every problem is a ``Diagnostic`` located at the ``display`` name the caller gives, so
the same lint serves ``nexspec validate`` (project paths) and the local server (uploaded
blobs without a file extension, whose kind comes from the upload request).
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from nexspec.diagnostics import Diagnostic, Location, error, warning
from nexspec.errors import TemplateError
from nexspec.pack import (
    BODYMOVIN_KEYS,
    MAX_LOTTIE_BYTES,
    MAX_TEMPLATE_BYTES,
    find_bodymovin,
    iter_template_files,
    lottie_candidates,
    packed_size,
    parse_bodymovin,
)
from nexspec.templateinfo import TemplateKind

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
AEP_MAGIC = b"RIFX"
MOGRT_DEFINITION = "definition.json"
MOGRT_AE_PROJECT = "project.aegraphic"
MOGRT_PREMIERE_PROJECT = "project.prgraphic"
ZIP_READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    OSError,
    EOFError,
    ValueError,
    RuntimeError,  # an encrypted entry
    NotImplementedError,  # an unsupported compression method
)
"""What reading a damaged or unusual zip can raise."""

# The cloud's extractor (adm-zip in nexrender) handles only these compression methods.
_EXTRACTABLE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_ENCRYPTED_FLAG = 0x1
_DRIVE = re.compile(r"^[A-Za-z]:")
_DEBRIS_FILES = {
    ".DS_Store": "macOS",
    "Thumbs.db": "Windows",
    "desktop.ini": "Windows",
}
_DEBRIS_HINT = "let nexspec pack the template folder, or zip it with `zip -r -X`"
_REPACK_HINT = "re-create the archive from inside the template folder"


@dataclass(frozen=True, slots=True)
class ArchiveLayout:
    """Where the project sits in an archive, as the cloud's extractor sees it.

    ``root`` is the top folder stripped on extraction ('' when none); ``projects`` the
    ``.aep`` entries (debris left out), by their names in the archive.
    """

    root: str
    projects: tuple[str, ...]

    def extracted(self, name: str) -> str:
        """An entry's path after extraction, with the common top folder stripped."""
        return name[len(self.root) + 1 :] if self.root else name


def archive_layout(names: Iterable[str]) -> ArchiveLayout:
    """The layout of an archive holding these entry names (folders end with '/')."""
    names = list(names)
    projects = sorted(n for n in names if n.lower().endswith(".aep") and not debris_kind(n))
    return ArchiveLayout(common_root(names), tuple(projects))


def common_root(names: list[str]) -> str:
    """The one top folder every entry sits under, or ''; as nexrender's extractor decides."""
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) != 1:
        return ""
    top = tops.pop()
    return top if all(name.startswith(top + "/") for name in names) else ""


def debris_kind(name: str) -> str:
    """'macOS' or 'Windows' when an entry is operating-system clutter, else ''."""
    parts = name.rstrip("/").split("/")
    if "__MACOSX" in parts or parts[-1].startswith("._"):
        return "macOS"
    return _DEBRIS_FILES.get(parts[-1], "")


# --- entry point -------------------------------------------------------------------------------


def lint_template(
    path: Path,
    kind: TemplateKind,
    *,
    display: str,
    max_bytes: int = MAX_TEMPLATE_BYTES,
    project_root: Path | None = None,
) -> tuple[Diagnostic, ...]:
    """Every problem that would stop the cloud from accepting or opening this template.

    ``path`` is a file or a folder; ``kind`` decides the rules, never the file name.
    ``project_root`` bounds where a folder's symlinks may lead (default: the folder).
    """
    lint = _Lint(Location(display), display)
    if path.is_dir():
        _lint_folder(lint, path, kind, max_bytes, project_root or path)
    else:
        _lint_file(lint, path, kind, max_bytes)
    return tuple(lint.found)


@dataclass(frozen=True, slots=True)
class _Lint:
    """Where the diagnostics of one template go."""

    location: Location
    display: str
    found: list[Diagnostic] = field(default_factory=list)

    def error(self, summary: str, hint: str = "") -> None:
        self.found.append(error(summary, self.location, hint=hint))

    def warning(self, summary: str, hint: str = "") -> None:
        self.found.append(warning(summary, self.location, hint=hint))


def _lint_file(lint: _Lint, path: Path, kind: TemplateKind, max_bytes: int) -> None:
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as exc:
        lint.error(f"cannot read '{lint.display}': {exc.strerror or exc}")
        return
    if size > max_bytes:
        lint.error(
            f"'{lint.display}' is {size:,} bytes; Nexrender Cloud accepts templates "
            f"up to {max_bytes:,} bytes",
            hint="move large footage out of the template and inject it as assets",
        )
    _FILE_RULES[kind](lint, path, head)


# --- .aep --------------------------------------------------------------------------------------


def sniff(head: bytes) -> str:
    """What a file looks like from its first bytes, for messages."""
    if not head:
        return "an empty file"
    if head.startswith(ZIP_MAGICS):
        return "a zip archive"
    if head.startswith(AEP_MAGIC):
        return "an After Effects project"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return "an XML file"
    if stripped.startswith((b"{", b"[")):
        return "a JSON file"
    return f"a file starting with {head[:4]!r}"


def _lint_aep(lint: _Lint, path: Path, head: bytes) -> None:
    if head.startswith(AEP_MAGIC):
        return
    what = sniff(head)
    hint = "save the project from After Effects as a binary .aep"
    if what == "an XML file":
        hint = "an .aepx (XML) project is not accepted; save it as a binary .aep"
    elif what == "a zip archive":
        hint = "declare the template as type zip"
    lint.error(f"'{lint.display}' is not an After Effects project: it is {what}", hint=hint)


# --- .zip --------------------------------------------------------------------------------------


def _lint_zip(lint: _Lint, path: Path, head: bytes) -> None:
    if not _is_zip(lint, head, "a zip archive"):
        return
    with _open_zip(lint, path) as archive:
        if archive is None:
            return
        names = _lint_entries(lint, archive.infolist())
        _lint_projects(lint, archive_layout(names), lambda: zip_bodymovin(archive, names))


def _is_zip(lint: _Lint, head: bytes, wanted: str) -> bool:
    if head.startswith(ZIP_MAGICS):
        return True
    what = sniff(head)
    hint = "declare the template as type aep" if what == "an After Effects project" else ""
    lint.error(f"'{lint.display}' is not {wanted}: it is {what}", hint=hint)
    return False


@contextmanager
def _open_zip(lint: _Lint, source: Path | IO[bytes], inner: str = "") -> Iterator[zipfile.ZipFile | None]:
    """A zip opened for reading, or ``None`` (with an error recorded) when it is damaged."""
    try:
        archive = zipfile.ZipFile(source)
    except ZIP_READ_ERRORS as exc:
        what = f"{inner} in '{lint.display}'" if inner else f"'{lint.display}'"
        lint.error(f"{what} is a damaged zip archive: {exc}")
        yield None
        return
    with archive:
        yield archive


def _lint_entries(lint: _Lint, infos: list[zipfile.ZipInfo], prefix: str = "") -> list[str]:
    """Check each entry; the entry names, for the rules about the archive as a whole."""
    names = [info.filename for info in infos]
    for info in infos:
        _lint_entry(lint, info, prefix)
    _lint_debris(lint, [prefix + n for n in names])
    _lint_case_clashes(lint, [prefix + n for n in names if not n.endswith("/")])
    return names


def _lint_entry(lint: _Lint, info: zipfile.ZipInfo, prefix: str) -> None:
    name, shown = info.filename, prefix + info.filename
    problem = entry_path_problem(name)
    if problem:
        lint.error(f"archive entry '{shown}' {problem}", hint=_REPACK_HINT)
    if info.flag_bits & _ENCRYPTED_FLAG:
        lint.error(
            f"archive entry '{shown}' is encrypted; the cloud cannot extract it",
            hint="create the archive without a password",
        )
    elif info.compress_type not in _EXTRACTABLE_METHODS:
        lint.error(
            f"archive entry '{shown}' uses compression method {info.compress_type}; "
            "the cloud extracts only stored and deflated entries",
            hint="re-create the archive with standard (deflate) compression",
        )


def entry_path_problem(name: str) -> str:
    """Why an entry name is unsafe or unportable to extract, or ''."""
    parts = re.split(r"[\\/]", name)
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "is an absolute path"
    if ".." in parts:
        return "escapes the archive root"
    if "\\" in name:
        return "uses backslashes; zip paths use '/'"
    return ""


def _lint_debris(lint: _Lint, names: list[str]) -> None:
    reported: set[str] = set()
    for name in names:
        kind = debris_kind(name)
        shown = _debris_shown(name)
        if kind and shown not in reported:
            reported.add(shown)
            lint.warning(f"'{shown}' is {kind} debris; remove it from the archive", hint=_DEBRIS_HINT)


def _debris_shown(name: str) -> str:
    parts = name.split("/")
    if "__MACOSX" in parts:
        return "/".join(parts[: parts.index("__MACOSX") + 1]) + "/"
    return name


def _lint_case_clashes(lint: _Lint, names: list[str]) -> None:
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name.casefold(), []).append(name)
    for group in groups.values():
        if len(set(group)) > 1:
            shown = " and ".join(f"'{n}'" for n in sorted(set(group)))
            lint.warning(
                f"archive entries {shown} differ only in case; "
                "extracted on Windows, one overwrites the other",
                hint="rename one of them",
            )


def _lint_projects(
    lint: _Lint, layout: ArchiveLayout, find_lottie: Callable[[], str | None], where: str = ""
) -> None:
    holder = where or "archive"
    count = len(layout.projects)
    if count == 0 and find_lottie() is None:
        lint.error(
            f"{holder} holds no .aep file; the cloud opens exactly one",
            hint="collect the project with File > Dependencies > Collect Files, "
            "or add a Bodymovin (Lottie) export",
        )
    elif count > 1:
        lint.error(
            f"{holder} holds {count} .aep files ({', '.join(layout.projects)}); the cloud opens exactly one",
            hint="keep one project in the archive; remove auto-saves and older versions",
        )
    elif count == 1 and "/" in layout.extracted(layout.projects[0]):
        _lint_nested_project(lint, layout, holder)


def _lint_nested_project(lint: _Lint, layout: ArchiveLayout, holder: str) -> None:
    lint.warning(
        f"the project '{layout.projects[0]}' is not at the top of the {holder}",
        hint="put the .aep at the top of the archive, or everything in one top folder "
        "(which the cloud strips when extracting)",
    )


def zip_bodymovin(archive: zipfile.ZipFile, names: list[str]) -> str | None:
    """The entry name of the first Bodymovin export in an archive, or ``None``."""
    for name in lottie_candidates([n for n in names if not debris_kind(n)]):
        if read_bodymovin_entry(archive, name) is not None:
            return name
    return None


def read_bodymovin_entry(archive: zipfile.ZipFile, name: str) -> dict[str, object] | None:
    """The parsed Bodymovin export at ``name``, or ``None`` when it is not one."""
    if archive.getinfo(name).file_size > MAX_LOTTIE_BYTES:
        return None
    try:
        return parse_bodymovin(archive.read(name))
    except ZIP_READ_ERRORS:
        return None


# --- .mogrt ------------------------------------------------------------------------------------


def _lint_mogrt(lint: _Lint, path: Path, head: bytes) -> None:
    if not _is_zip(lint, head, "a Motion Graphics template (a zip archive)"):
        return
    with _open_zip(lint, path) as archive:
        if archive is None:
            return
        names = set(_lint_entries(lint, archive.infolist()))
        if MOGRT_PREMIERE_PROJECT in names:
            lint.error(
                f"'{lint.display}' is a Premiere Pro Motion Graphics template "
                f"(it holds {MOGRT_PREMIERE_PROJECT}); After Effects cannot render it",
                hint="export the template from After Effects' Essential Graphics panel",
            )
            return
        _lint_definition(lint, archive, names)
        _lint_aegraphic(lint, archive, names)


def _lint_definition(lint: _Lint, archive: zipfile.ZipFile, names: set[str]) -> None:
    if MOGRT_DEFINITION not in names:
        lint.error(f"'{lint.display}' holds no {MOGRT_DEFINITION}; it is not a Motion Graphics template")
        return
    try:
        json.loads(archive.read(MOGRT_DEFINITION))
    except (*ZIP_READ_ERRORS, RecursionError) as exc:
        lint.error(f"{MOGRT_DEFINITION} in '{lint.display}' cannot be read: {exc}")


def _lint_aegraphic(lint: _Lint, archive: zipfile.ZipFile, names: set[str]) -> None:
    if MOGRT_AE_PROJECT not in names:
        lint.error(
            f"'{lint.display}' holds no {MOGRT_AE_PROJECT}; "
            "it is not an After Effects Motion Graphics template"
        )
        return
    try:
        with (
            archive.open(MOGRT_AE_PROJECT) as stream,
            _open_zip(lint, stream, MOGRT_AE_PROJECT) as inner,
        ):
            if inner is not None:
                names_inside = _lint_entries(lint, inner.infolist(), MOGRT_AE_PROJECT + "/")
                layout = archive_layout(names_inside)
                _lint_projects(lint, layout, lambda: None, MOGRT_AE_PROJECT)
    except ZIP_READ_ERRORS as exc:
        lint.error(f"{MOGRT_AE_PROJECT} in '{lint.display}' cannot be read: {exc}")


# --- Lottie ------------------------------------------------------------------------------------


def _lint_lottie(lint: _Lint, path: Path, head: bytes) -> None:
    what = sniff(head)
    if what != "a JSON file":
        lint.error(
            f"'{lint.display}' is not a Bodymovin (Lottie) export: it is {what}",
            hint="export the composition as Lottie JSON (dotLottie files are not accepted)",
        )
        return
    try:
        doc = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:
        lint.error(f"'{lint.display}' is not valid JSON: {exc}")
        return
    missing = [k for k in BODYMOVIN_KEYS if not isinstance(doc, dict) or k not in doc]
    if missing:
        lint.error(
            f"'{lint.display}' is not a Bodymovin (Lottie) export: it lacks {', '.join(missing)}",
            hint="export the composition with the Bodymovin extension",
        )


_FILE_RULES: dict[TemplateKind, Callable[[_Lint, Path, bytes], None]] = {
    TemplateKind.AEP: _lint_aep,
    TemplateKind.ZIP: _lint_zip,
    TemplateKind.MOGRT: _lint_mogrt,
    TemplateKind.LOTTIE: _lint_lottie,
}


# --- folders -----------------------------------------------------------------------------------


def _lint_folder(lint: _Lint, folder: Path, kind: TemplateKind, max_bytes: int, project_root: Path) -> None:
    if kind not in (TemplateKind.ZIP, TemplateKind.LOTTIE):
        lint.error(f"'{lint.display}' is a folder, not a .{kind.value} file")
        return
    try:
        entries = iter_template_files(folder, project_root)
    except TemplateError as exc:
        lint.error(str(exc))
        return
    size = packed_size(entries)
    if size > max_bytes:
        lint.error(
            f"'{lint.display}' packs into {size:,} bytes; Nexrender Cloud accepts templates "
            f"up to {max_bytes:,} bytes",
            hint="move large footage out of the template and inject it as assets",
        )
    _lint_case_clashes(lint, [rel for rel, _ in entries])
    _lint_folder_content(lint, entries, kind)


def _lint_folder_content(lint: _Lint, entries: list[tuple[str, Path]], kind: TemplateKind) -> None:
    if kind is TemplateKind.LOTTIE:
        if find_bodymovin(entries) is None:
            lint.error(f"'{lint.display}' holds no Bodymovin (Lottie) export")
        return
    layout = archive_layout(rel for rel, _ in entries)
    _lint_projects(lint, layout, lambda: find_bodymovin(entries), "folder")
