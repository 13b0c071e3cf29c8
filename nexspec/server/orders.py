"""What a worker process does: inspect an uploaded template, render a job, join videos.

Orders are frozen, picklable values sent to a worker; they report through ``emit`` (stage
changes and progress) and return an outcome, or raise. Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nexspec.errors import NexspecError, RenderError, TemplateError
from nexspec.payload import JsonValue
from nexspec.protocol import JobState, TemplateState
from nexspec.render.base import OutputSettings, RenderAsset, Renderer, RenderRequest
from nexspec.server.fetch import FetchLimits, download_error, fetch
from nexspec.server.records import DOWNLOADING
from nexspec.templateinfo import TemplateInfo, TemplateKind


@dataclass(frozen=True, slots=True)
class Stage:
    key: str
    status: str


@dataclass(frozen=True, slots=True)
class Progress:
    key: str
    percent: float


@dataclass(frozen=True, slots=True)
class Done:
    key: str
    outcome: object


@dataclass(frozen=True, slots=True)
class Failed:
    key: str
    message: str
    log: tuple[str, ...] = ()


Emit = Callable[[object], None]


# --- templates -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InspectOrder:
    """Check an uploaded (or, with ``src``, first fetched) template file and introspect it."""

    key: str
    kind: TemplateKind
    display: str
    blob: Path
    limits: FetchLimits
    src: str | None = None
    temp: Path | None = None

    def run(self, emit: Emit) -> InspectOutcome:
        if self.src is not None:
            assert self.temp is not None
            self._download()
            emit(Stage(self.key, TemplateState.PROCESSING.value))
        return InspectOutcome(inspect_template(self.blob, self.kind, self.display), self.blob.stat().st_size)

    def _download(self) -> None:
        assert self.src is not None and self.temp is not None
        self.temp.mkdir(parents=True, exist_ok=True)
        try:
            got = fetch(self.src, self.temp, "template", self.limits)
        except RenderError as exc:
            raise TemplateError(str(exc).replace("Asset failed", "Template failed")) from None
        self.blob.parent.mkdir(parents=True, exist_ok=True)
        if got.is_relative_to(self.temp):
            os.replace(got, self.blob)
        else:
            shutil.copyfile(got, self.temp / "copy.part")
            os.replace(self.temp / "copy.part", self.blob)
        shutil.rmtree(self.temp, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class InspectOutcome:
    info: TemplateInfo
    size: int


def inspect_template(path: Path, kind: TemplateKind, display: str) -> TemplateInfo:
    """Lint then introspect; ``TemplateError`` with the first problems when either fails."""
    from nexspec.archive import ZIP_MAGICS, lint_template
    from nexspec.introspect import introspect

    with path.open("rb") as f:
        zipped = f.read(4).startswith(ZIP_MAGICS)
    # A Lottie template may be the Bodymovin JSON itself or a zip holding one.
    as_kind = TemplateKind.ZIP if kind is TemplateKind.LOTTIE and zipped else kind
    problems = [d for d in lint_template(path, as_kind, display=display) if d.severity == "error"]
    if problems:
        raise TemplateError("; ".join(d.summary for d in problems[:3]))
    info = introspect(path, as_kind)
    if kind is TemplateKind.LOTTIE and info.lottie is None:
        raise TemplateError(f"'{display}' holds no Bodymovin (Lottie) export")
    return info


# --- renders -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssetSource:
    """One asset to fetch and hand over; ``src`` has its secrets substituted, ``shown`` not."""

    type: str
    layer_name: str | None = None
    composition: str | None = None
    value: JsonValue = None
    property: str | None = None
    name: str | None = None
    src: str | None = None
    shown: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateSource:
    """The template of a render: its stored file, or (clean room) a URL fetched at render time."""

    kind: TemplateKind
    name: str
    path: Path | None
    info: TemplateInfo | None
    cache: Path
    src: str | None = None


@dataclass(frozen=True, slots=True)
class RenderOutcome:
    frames: int
    seconds: float
    log: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class RenderOrder:
    key: str
    template: TemplateSource
    composition: str
    assets: tuple[AssetSource, ...]
    settings: OutputSettings
    output: Path
    partial: Path
    work: Path
    limits: FetchLimits
    fonts: tuple[tuple[str, Path], ...] = ()  # (uploaded file name, blob) of the font library

    def run(self, emit: Emit) -> RenderOutcome:
        from nexspec.render import choose_renderer

        started = time.perf_counter()
        emit(Stage(self.key, DOWNLOADING))
        log: list[str] = []
        root, info = self._template(log)
        assets = tuple(self._asset(index, asset, log) for index, asset in enumerate(self.assets))
        emit(Stage(self.key, JobState.RENDERING.value))
        renderer = choose_renderer(info)
        log.append(f"PROGRESS: Renderer: {renderer.name}")
        request = RenderRequest(
            template_root=root,
            info=info,
            template_name=self.template.name,
            composition=self.composition,
            assets=assets,
            settings=self.settings,
            output=_ready(self.partial),
            fonts=self._fonts(),
        )
        if self.settings.fast:
            return self._fast(renderer, request, emit, started, log)
        result = renderer.render(request, lambda p: emit(Progress(self.key, p)))
        finish(self.partial, self.output)
        return RenderOutcome(result.frames, time.perf_counter() - started, (*log, *result.log))

    def _fast(
        self, renderer: Renderer, request: RenderRequest, emit: Emit, started: float, log: list[str]
    ) -> RenderOutcome:
        """The fastest setting (benchmarks): the one-frame output of the first job of a template
        and composition is reused by the next ones, after their assets are checked the same way."""
        from nexspec.render.targets import check_request

        check_request(request)
        key = hashlib.sha256(
            f"{renderer.name}\0{self.composition}\0{self.output.suffix}".encode()
        ).hexdigest()
        reusable = self.template.cache.parent / f"fast-{key[:16]}{self.output.suffix}"
        if reusable.is_file():
            shutil.copyfile(reusable, request.output)
            log.append("PROGRESS: Fast setting: reused the one-frame output of this template and composition")
            frames = 1
        else:
            frames = renderer.render(request, lambda p: emit(Progress(self.key, p))).frames
            reusable.parent.mkdir(parents=True, exist_ok=True)
            temporary = reusable.with_name(f".{reusable.name}.{os.getpid()}")
            shutil.copyfile(request.output, temporary)
            os.replace(temporary, reusable)
        emit(Progress(self.key, 100.0))
        finish(self.partial, self.output)
        return RenderOutcome(frames, time.perf_counter() - started, tuple(log))

    def _fonts(self) -> tuple[Path, ...]:
        """The library fonts under their uploaded names: renderers match fonts by file name."""
        folder = self.work / "fonts"
        placed = []
        for file_name, blob in self.fonts:
            target = folder / Path(file_name).name
            if not target.exists():
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(blob, target)
            placed.append(target)
        return tuple(placed)

    def _template(self, log: list[str]) -> tuple[Path, TemplateInfo]:
        source = self.template
        path, info = source.path, source.info
        if source.src is not None:
            log.append(f"PROGRESS: Fetching template from {_shown_url(source.src)}")
            path = fetch(source.src, self.work, "template", self.limits)
            info = _inspect_for_render(path, source.kind, source.name)
        assert path is not None and info is not None
        return prepare_template(path, source.cache), info

    def _asset(self, index: int, asset: AssetSource, log: list[str]) -> RenderAsset:
        local: Path | None = None
        if asset.src is not None:
            local = fetch(asset.src, self.work / "assets", asset.name or f"asset-{index}", self.limits)
            log.append(f"PROGRESS: Asset {index} ({asset.type}): {asset.shown or local.name}")
        return RenderAsset(
            type=asset.type,
            layer_name=asset.layer_name,
            composition=asset.composition,
            value=asset.value,
            property=asset.property,
            src=local,
            name=asset.name,
        )


def _inspect_for_render(path: Path, kind: TemplateKind, name: str) -> TemplateInfo:
    try:
        return inspect_template(path, kind, name)
    except TemplateError as exc:
        raise RenderError(str(exc)) from None


def _shown_url(url: str) -> str:
    """A URL without its query string, which may carry credentials."""
    return url.split("?", 1)[0] if not url.startswith("data:") else "a data: URI"


def finish(partial: Path, output: Path) -> None:
    """Publish a complete output under its final name, atomically."""
    if not partial.is_file():
        raise RenderError("Render failed: the renderer wrote no output")
    output.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, output)


def _ready(partial: Path) -> Path:
    partial.parent.mkdir(parents=True, exist_ok=True)
    return partial


def prepare_template(path: Path, cache: Path) -> Path:
    """The folder an archive extracts to (made once, atomically), or the file itself."""
    with path.open("rb") as f:
        if not f.read(4).startswith(b"PK\x03\x04"):
            return path
    if cache.is_dir():
        return cache
    staging = cache.with_name(cache.name + f".{os.getpid()}.part")
    shutil.rmtree(staging, ignore_errors=True)
    _extract(path, staging)
    try:
        os.rename(staging, cache)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another worker got there first
    return cache


def _extract(path: Path, into: Path) -> None:
    from nexspec.archive import ZIP_READ_ERRORS, archive_layout, debris_kind, entry_path_problem

    try:
        with zipfile.ZipFile(path) as archive:
            layout = archive_layout(archive.namelist())
            for info in archive.infolist():
                name = info.filename
                if info.is_dir() or entry_path_problem(name) or debris_kind(name):
                    continue
                target = into / layout.extracted(name)
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
    except ZIP_READ_ERRORS as exc:
        raise RenderError(f"Render failed: the template archive cannot be extracted: {exc}") from None


# --- joins ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JoinOrder:
    key: str
    inputs: tuple[AssetSource, ...]
    output: Path
    partial: Path
    work: Path
    limits: FetchLimits
    fast: bool = False

    def run(self, emit: Emit) -> RenderOutcome:
        from nexspec.server.join import join_videos

        started = time.perf_counter()
        emit(Stage(self.key, DOWNLOADING))
        paths = [
            fetch(item.src, self.work / "inputs", f"input-{i}", self.limits)
            for i, item in enumerate(self.inputs)
            if item.src is not None
        ]
        if not paths:
            raise download_error("no input")
        emit(Stage(self.key, JobState.RENDERING.value))
        frames, log = join_videos(
            paths, _ready(self.partial), fast=self.fast, progress=lambda p: emit(Progress(self.key, p))
        )
        finish(self.partial, self.output)
        return RenderOutcome(frames, time.perf_counter() - started, tuple(log))


def describe_failure(error: BaseException) -> str:
    """A job's ``stats.error``: the renderer's own words, else the cloud's generic ones."""
    if isinstance(error, NexspecError):
        return str(error)
    return f"Render failed: {type(error).__name__}: {error}"
