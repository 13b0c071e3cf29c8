"""Introspection: the compositions, layers and Essential Graphics controls of a template.

Reads ``.aep`` projects with py-aep (alone, inside a ``.zip`` or folder, or inside a
``.mogrt``'s ``project.aegraphic``), a ``.mogrt``'s controls from its ``definition.json``,
and Bodymovin (Lottie) exports. A file that cannot be read is a ``TemplateError``; callers
report it as a warning, since a template nexspec cannot read may still render.

Paths inside archives and folders (``TemplateInfo.project`` and ``.lottie``) are given as
the cloud sees them after extraction, with one common top folder stripped.

``introspect_cached`` keeps results by template digest, so that validating an unchanged
project does not even import py-aep (which alone takes about a quarter of a second).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexspec.archive import (
    MOGRT_AE_PROJECT,
    MOGRT_DEFINITION,
    MOGRT_PREMIERE_PROJECT,
    ZIP_READ_ERRORS,
    ArchiveLayout,
    archive_layout,
    read_bodymovin_entry,
    zip_bodymovin,
)
from nexspec.atomicfile import write_atomic
from nexspec.errors import TemplateError
from nexspec.pack import (
    CHUNK_BYTES,
    find_bodymovin,
    is_bodymovin,
    iter_template_files,
)
from nexspec.templateinfo import (
    Composition,
    Control,
    ControlKind,
    Layer,
    LayerKind,
    TemplateInfo,
    TemplateKind,
)

if TYPE_CHECKING:
    from py_aep import AVLayer, CompItem
    from py_aep import Layer as AepLayer

INFO_FORMAT = 1
"""Bumped whenever introspection learns more, so older cached results are dropped."""

_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
_CONTROL_KINDS = {
    1: ControlKind.CHECKBOX,
    2: ControlKind.SLIDER,
    3: ControlKind.ANGLE,
    4: ControlKind.COLOR,
    5: ControlKind.POINT,
    6: ControlKind.TEXT,
    9: ControlKind.SCALE,
    10: ControlKind.GROUP,
    13: ControlKind.DROPDOWN,
    14: ControlKind.MEDIA,
}
_LOTTIE_LAYER_KINDS = {
    0: LayerKind.PRECOMP,
    1: LayerKind.SOLID,
    2: LayerKind.FOOTAGE,
    3: LayerKind.NULL,
    4: LayerKind.SHAPE,
    5: LayerKind.TEXT,
    6: LayerKind.AUDIO,
    13: LayerKind.CAMERA,
}
_AEP_CLASS_KINDS = {
    "TextLayer": LayerKind.TEXT,
    "ShapeLayer": LayerKind.SHAPE,
    "CameraLayer": LayerKind.CAMERA,
    "LightLayer": LayerKind.LIGHT,
}


def introspect(path: Path, kind: TemplateKind) -> TemplateInfo:
    """What the template at ``path`` (a file or a folder) holds; ``kind`` picks the reader."""
    if path.is_dir():
        return _introspect_folder(path)
    return _READERS[kind](path)


# --- .aep ----------------------------------------------------------------------------------------


def _introspect_aep(path: Path) -> TemplateInfo:
    return TemplateInfo(TemplateKind.AEP, read_aep(path, f"'{path.name}'"), project=path.name)


def read_aep(path: Path, shown: str) -> tuple[Composition, ...]:
    """Every composition of the ``.aep`` at ``path``; ``shown`` names it in errors."""
    import py_aep  # imported here: it takes about 250 ms, which `validate` avoids when cached

    try:
        project = py_aep.parse(str(path)).project
        return tuple(_composition(comp) for comp in project.compositions)
    # py-aep is a reverse-engineered parser: a damaged file can fail in any way, and a
    # template nexspec cannot read must become a warning, never a crash.
    except Exception as exc:
        raise TemplateError(f"cannot read After Effects project {shown}: {exc}") from exc


def _composition(comp: CompItem) -> Composition:
    duration = float(comp.duration)
    return Composition(
        name=comp.name,
        width=int(comp.width),
        height=int(comp.height),
        fps=float(comp.frame_rate),
        duration=duration,
        layers=tuple(_layer(layer, duration) for layer in comp.layers),
        aeid=str(comp.id),
    )


def _layer(layer: AepLayer, duration: float) -> Layer:
    kind = _layer_kind(layer)
    parent = layer.parent
    return Layer(
        name=layer.name,
        kind=kind,
        index=layer.index + 1,  # py-aep counts from 0, ExtendScript and nexrender from 1
        aeid=int(layer.id),
        parent_id=int(parent.id) if parent is not None else None,
        source_comp=_source_comp(layer) if kind is LayerKind.PRECOMP else None,
        in_point=float(layer.in_point),
        # After Effects keeps out points past the end of the composition (text layers often).
        out_point=min(float(layer.out_point), duration),
        start_time=float(layer.start_time),
        text=_source_text(layer) if kind is LayerKind.TEXT else None,
        source_name=_source_file_name(layer),
    )


def _layer_kind(layer: AepLayer) -> LayerKind:
    import py_aep

    kind = _AEP_CLASS_KINDS.get(type(layer).__name__)
    if kind is not None:
        return kind
    if not isinstance(layer, py_aep.AVLayer):
        return LayerKind.OTHER
    return _av_layer_kind(layer)


def _av_layer_kind(layer: AVLayer) -> LayerKind:
    import py_aep

    source = layer.source
    if layer.null_layer:
        return LayerKind.NULL
    if isinstance(source, py_aep.CompItem):
        return LayerKind.PRECOMP
    if not isinstance(source, py_aep.FootageItem):
        return LayerKind.OTHER
    if isinstance(source.main_source, py_aep.SolidSource):
        return LayerKind.SOLID
    if source.has_audio and not source.has_video:
        return LayerKind.AUDIO
    return LayerKind.FOOTAGE


def _source_comp(layer: AepLayer) -> str | None:
    source = getattr(layer, "source", None)
    return str(source.name) if source is not None else None


def _source_text(layer: AepLayer) -> str | None:
    # Typed Any: py-aep resolves `source_text` by name, only on a text layer's group.
    group: Any = layer.text
    # The text is a nicety for reports; a layer whose text py-aep cannot decode still counts.
    try:
        return str(group.source_text.value.text)
    except Exception:
        return None


def _source_file_name(layer: AepLayer) -> str | None:
    main = getattr(getattr(layer, "source", None), "main_source", None)
    file = getattr(main, "file", None)
    if not file:
        return None
    # Projects saved on Windows keep Windows paths, whatever system reads them.
    return re.split(r"[\\/]", str(file))[-1]


# --- .zip and folders ----------------------------------------------------------------------------


def _introspect_zip(path: Path) -> TemplateInfo:
    with _read_zip(path) as archive:
        names = archive.namelist()
        layout = archive_layout(names)
        lottie = zip_bodymovin(archive, names)
        if not layout.projects:
            doc = read_bodymovin_entry(archive, lottie) if lottie else None
            return _lottie_only(path, layout, lottie, doc)
        project = _single_project(path, layout)
        with tempfile.TemporaryDirectory(prefix="nexspec-") as temp:
            aep = _extract(archive, project, Path(temp))
            comps = read_aep(aep, f"'{project}' in '{path.name}'")
    return TemplateInfo(
        TemplateKind.ZIP,
        comps,
        project=layout.extracted(project),
        lottie=layout.extracted(lottie) if lottie else None,
    )


def _introspect_folder(folder: Path) -> TemplateInfo:
    # Introspection only reads; where symlinks may lead is checked when packing.
    entries = iter_template_files(folder, Path(folder.resolve().anchor))
    files = dict(entries)
    layout = archive_layout(files)
    lottie = find_bodymovin(entries)
    if not layout.projects:
        doc = _load_json(files[lottie], f"'{lottie}'") if lottie else None
        return _lottie_only(folder, layout, lottie, doc)
    project = _single_project(folder, layout)
    return TemplateInfo(
        TemplateKind.ZIP,
        read_aep(files[project], f"'{project}' in '{folder.name}'"),
        project=layout.extracted(project),
        lottie=layout.extracted(lottie) if lottie else None,
    )


def _lottie_only(
    path: Path, layout: ArchiveLayout, lottie: str | None, doc: Mapping[str, Any] | None
) -> TemplateInfo:
    if lottie is None or doc is None:
        raise TemplateError(f"'{path.name}' holds no .aep file and no Bodymovin (Lottie) export")
    comps = lottie_compositions(doc, f"'{lottie}' in '{path.name}'")
    return TemplateInfo(TemplateKind.LOTTIE, comps, lottie=layout.extracted(lottie))


def _single_project(path: Path, layout: ArchiveLayout) -> str:
    if len(layout.projects) > 1:
        raise TemplateError(
            f"'{path.name}' holds {len(layout.projects)} .aep files "
            f"({', '.join(layout.projects)}); the cloud opens exactly one"
        )
    return layout.projects[0]


@contextmanager
def _read_zip(path: Path, shown: str = "") -> Iterator[zipfile.ZipFile]:
    """An archive open for reading; any failure to read it becomes a ``TemplateError``."""
    shown = shown or f"'{path.name}'"
    try:
        with zipfile.ZipFile(path) as archive:
            yield archive
    except ZIP_READ_ERRORS as exc:
        raise TemplateError(f"cannot read archive {shown}: {exc}") from exc


def _extract(archive: zipfile.ZipFile, name: str, into: Path) -> Path:
    # py-aep parses only files on disk; a fixed name avoids trusting the entry's path.
    target = into / Path(name).name.replace("\\", "_")
    with archive.open(name) as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst, CHUNK_BYTES)
    return target


# --- .mogrt --------------------------------------------------------------------------------------


def _introspect_mogrt(path: Path) -> TemplateInfo:
    with _read_zip(path) as archive:
        _check_mogrt(path, set(archive.namelist()))
        controls = _controls(archive.read(MOGRT_DEFINITION), path)
        with tempfile.TemporaryDirectory(prefix="nexspec-") as temp:
            graphic = _extract(archive, MOGRT_AE_PROJECT, Path(temp))
            comps, project = _introspect_aegraphic(graphic, path, Path(temp))
    return TemplateInfo(TemplateKind.MOGRT, comps, controls, project=project)


def _check_mogrt(path: Path, names: set[str]) -> None:
    if MOGRT_PREMIERE_PROJECT in names:
        raise TemplateError(
            f"'{path.name}' is a Premiere Pro Motion Graphics template; After Effects cannot render it"
        )
    for required in (MOGRT_DEFINITION, MOGRT_AE_PROJECT):
        if required not in names:
            raise TemplateError(f"'{path.name}' holds no {required}; it is not an After Effects .mogrt")


def _introspect_aegraphic(graphic: Path, mogrt: Path, temp: Path) -> tuple[tuple[Composition, ...], str]:
    shown = f"{MOGRT_AE_PROJECT} in '{mogrt.name}'"
    with _read_zip(graphic, shown) as inner:
        layout = archive_layout(inner.namelist())
        if not layout.projects:
            raise TemplateError(f"{shown} holds no .aep file")
        project = _single_project(graphic, layout)
        aep = _extract(inner, project, temp)
        comps = read_aep(aep, f"'{project}' in {shown}")
    return comps, f"{MOGRT_AE_PROJECT}/{layout.extracted(project)}"


def _controls(definition: bytes, mogrt: Path) -> tuple[Control, ...]:
    try:
        doc = json.loads(definition)
        items = doc["clientControls"]
    except (ValueError, RecursionError, KeyError, TypeError) as exc:
        shown = f"{MOGRT_DEFINITION} in '{mogrt.name}'"
        raise TemplateError(f"{shown} cannot be read: {exc!r}") from exc
    controls = (_control(item) for item in items if isinstance(item, dict))
    return tuple(c for c in controls if c is not None)


def _control(item: Mapping[str, Any]) -> Control | None:
    try:
        name = str(item["uiName"]["strDB"][0]["str"])
    except (KeyError, IndexError, TypeError):
        return None  # an unnamed control cannot be targeted by an `essential` asset
    return Control(name, _CONTROL_KINDS.get(item.get("type"), ControlKind.OTHER))  # type: ignore[arg-type]


# --- Lottie --------------------------------------------------------------------------------------


def _introspect_lottie(path: Path) -> TemplateInfo:
    doc = _load_json(path, f"'{path.name}'")
    return TemplateInfo(TemplateKind.LOTTIE, lottie_compositions(doc, f"'{path.name}'"), lottie=path.name)


def _load_json(path: Path, shown: str) -> Mapping[str, Any]:
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        raise TemplateError(f"cannot read Lottie file {shown}: {exc}") from exc
    if not is_bodymovin(doc):
        raise TemplateError(f"{shown} is not a Bodymovin (Lottie) export")
    return doc  # type: ignore[no-any-return]


def lottie_compositions(doc: Mapping[str, Any], shown: str) -> tuple[Composition, ...]:
    """The root composition of a Bodymovin export, then every precomp asset."""
    try:
        return _lottie_compositions(doc)
    except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise TemplateError(f"{shown} is a malformed Bodymovin export: {exc!r}") from exc


def _lottie_compositions(doc: Mapping[str, Any]) -> tuple[Composition, ...]:
    fps = float(doc["fr"])
    duration = (float(doc["op"]) - float(doc["ip"])) / fps
    assets = {str(a["id"]): a for a in doc.get("assets", ()) if isinstance(a, dict) and "id" in a}
    layers = _LottieLayers(assets, fps, float(doc["op"]) / fps)

    def comp(name: str, items: list[Any], aeid: str = "") -> Composition:
        return Composition(name, int(doc["w"]), int(doc["h"]), fps, duration, layers.read(items), aeid)

    root = comp(str(doc.get("nm") or "main"), doc["layers"])
    precomps = [
        comp(_asset_name(asset), asset["layers"], str(asset["id"]))
        for asset in assets.values()
        if isinstance(asset.get("layers"), list)
    ]
    return (root, *precomps)


def _asset_name(asset: Mapping[str, Any]) -> str:
    return str(asset.get("nm") or asset["id"])


class _LottieLayers:
    """Reads Lottie layers against the export's assets, frame rate and end time."""

    def __init__(self, assets: Mapping[str, Mapping[str, Any]], fps: float, end: float) -> None:
        self._assets, self._fps, self._end = assets, fps, end

    def read(self, items: list[Any]) -> tuple[Layer, ...]:
        return tuple(self._layer(i, item) for i, item in enumerate(items) if isinstance(item, dict))

    def _layer(self, position: int, item: Mapping[str, Any]) -> Layer:
        kind = _LOTTIE_LAYER_KINDS.get(item.get("ty"), LayerKind.OTHER)  # type: ignore[arg-type]
        parent = item.get("parent")
        return Layer(
            name=str(item.get("nm", "")),
            kind=kind,
            index=position + 1,
            aeid=int(item.get("ind", 0)),
            parent_id=int(parent) if parent is not None else None,
            source_comp=self._source_comp(item) if kind is LayerKind.PRECOMP else None,
            in_point=self._seconds(item, "ip"),
            out_point=min(self._seconds(item, "op"), self._end),
            start_time=self._seconds(item, "st"),
            text=_lottie_text(item) if kind is LayerKind.TEXT else None,
            source_name=self._source_name(item, kind),
        )

    def _seconds(self, item: Mapping[str, Any], key: str) -> float:
        return float(item.get(key, 0)) / self._fps

    def _source_comp(self, item: Mapping[str, Any]) -> str:
        ref = str(item.get("refId", ""))
        asset = self._assets.get(ref)
        return _asset_name(asset) if asset else ref

    def _source_name(self, item: Mapping[str, Any], kind: LayerKind) -> str | None:
        asset = self._assets.get(str(item.get("refId", "")))
        if kind not in (LayerKind.FOOTAGE, LayerKind.AUDIO) or asset is None:
            return None
        file = str(asset.get("p", ""))
        # Embedded images carry their bytes as a data URI, not a file name.
        return None if not file or file.startswith("data:") else file


def _lottie_text(item: Mapping[str, Any]) -> str | None:
    try:
        return str(item["t"]["d"]["k"][0]["s"]["t"])
    except (KeyError, IndexError, TypeError):
        return None


_READERS: dict[TemplateKind, Callable[[Path], TemplateInfo]] = {
    TemplateKind.AEP: _introspect_aep,
    TemplateKind.ZIP: _introspect_zip,
    TemplateKind.MOGRT: _introspect_mogrt,
    TemplateKind.LOTTIE: _introspect_lottie,
}


# --- cache ---------------------------------------------------------------------------------------


def introspect_cached(path: Path, kind: TemplateKind, *, digest: str, cache_dir: Path) -> TemplateInfo:
    """``introspect``, remembered in ``cache_dir/<hex>.json`` by the template's digest."""
    match = _DIGEST.fullmatch(digest)
    if match is None:
        raise TemplateError(f"'{digest}' is not a sha256 digest")
    entry = cache_dir / f"{match[1]}.json"
    cached = _load_cached(entry)
    if cached is not None:
        return cached
    info = introspect(path, kind)
    document = {"format": INFO_FORMAT, "info": info.to_json()}
    # A cache that cannot be written only costs time on the next run.
    with suppress(OSError):
        write_atomic(entry, json.dumps(document, indent=1).encode())
    return info


def _load_cached(entry: Path) -> TemplateInfo | None:
    try:
        document = json.loads(entry.read_bytes())
        if document["format"] != INFO_FORMAT:
            return None
        return TemplateInfo.from_json(document["info"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None
