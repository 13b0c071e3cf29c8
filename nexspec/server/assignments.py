"""A claimed job turned into the order a worker runs: secrets substituted, the template file
located, nested outputs wired in as footage, output settings decided.
"""

from __future__ import annotations

from pathlib import Path

from nexspec.payload import JsonObject, JsonValue
from nexspec.protocol import JobState
from nexspec.render.base import OutputSettings
from nexspec.server.interpolation import MissingSecret, substitute, substitute_json
from nexspec.server.orders import AssetSource, JoinOrder, RenderOrder, TemplateSource
from nexspec.server.records import JobKind, JobRecord
from nexspec.server.services import Services
from nexspec.templateinfo import TemplateKind


class Unrenderable(Exception):
    """The job fails before a worker sees it; the message is its ``stats.error``."""


def build_order(services: Services, job: JobRecord) -> RenderOrder | JoinOrder:
    secrets = services.store.secret_values()
    try:
        if job.kind is JobKind.JOIN:
            return _join_order(services, job, secrets)
        return _render_order(services, job, secrets)
    except MissingSecret as missing:
        raise Unrenderable(str(missing)) from None


def _render_order(services: Services, job: JobRecord, secrets: dict[str, str]) -> RenderOrder:
    template_ref = _object(job.payload.get("template"))
    template = services.store.get_template(str(job.template_id))
    if template is None:
        raise Unrenderable(f"Template {job.template_id} not found")
    src = template_ref.get("src")
    if not isinstance(src, str) and template.blob is None:
        raise Unrenderable(f"Template {template.id} has no file")
    clean_room = isinstance(src, str)
    source = TemplateSource(
        kind=TemplateKind(template.type),
        name=template.display_name,
        path=services.blobs.path(template.blob) if template.blob and not clean_room else None,
        info=template.info,
        cache=_cache(services, job, template.id, None if clean_room else template.blob),
        src=substitute(src, secrets) if isinstance(src, str) else None,
    )
    composition = template_ref.get("composition")
    return RenderOrder(
        key=f"job:{job.id}",
        template=source,
        composition=composition if isinstance(composition, str) else _default_composition(source),
        assets=_assets(services, job, secrets),
        settings=_settings(job.payload, fast=services.config.render_fast),
        output=services.blobs.path(job.output),
        partial=services.work / job.id / job.output.rsplit("/", 1)[-1],
        work=services.work / job.id,
        limits=services.limits,
        fonts=tuple((f.file_name, services.blobs.path(f.blob)) for f in services.store.list_fonts()),
    )


def _cache(services: Services, job: JobRecord, template_id: str, blob: str | None) -> Path:
    """Where an archive is extracted: once per stored file, or per job for a clean-room fetch."""
    if blob is None:
        return services.work / job.id / "template"
    return services.cache / "templates" / template_id / blob.rsplit("/", 1)[-1]


def _default_composition(source: TemplateSource) -> str:
    # A .mogrt names no composition: its template's first one is the one it renders.
    if source.info and source.info.compositions:
        return source.info.compositions[0].name
    return "main"


def _assets(services: Services, job: JobRecord, secrets: dict[str, str]) -> tuple[AssetSource, ...]:
    children = iter(services.store.children(job.id))
    found: list[AssetSource] = []
    for asset in _list(job.payload.get("assets")):
        if asset.get("type") == "job":
            found.append(_nested(services, next(children), asset))
        else:
            found.append(_asset(asset, secrets))
    return tuple(found)


def _asset(asset: JsonObject, secrets: dict[str, str]) -> AssetSource:
    src = asset.get("src")
    value = asset.get("value", asset.get("params"))
    return AssetSource(
        type=str(asset.get("type")),
        layer_name=_text(asset.get("layerName")),
        composition=_text(asset.get("composition")),
        value=substitute_json(value, secrets),
        property=_text(asset.get("property")),
        name=_text(asset.get("name")),
        src=substitute(src, secrets) if isinstance(src, str) else None,
        shown=src.split("?", 1)[0] if isinstance(src, str) and not src.startswith("data:") else None,
    )


def _nested(services: Services, child: JobRecord, asset: JsonObject) -> AssetSource:
    if child.status != JobState.FINISHED:
        raise Unrenderable(f"Nested job {child.id} has not finished")
    settings = _object(child.payload.get("settings"))
    return AssetSource(
        type="image" if settings.get("type") == "image" else "video",
        layer_name=_text(asset.get("layerName")),
        composition=_text(asset.get("composition")),
        src=services.blobs.path(child.output).as_uri(),
        shown=f"output of nested job {child.id}",
    )


def _join_order(services: Services, job: JobRecord, secrets: dict[str, str]) -> JoinOrder:
    children = iter(services.store.children(job.id))
    inputs: list[AssetSource] = []
    for asset in _list(job.payload.get("assets")):
        if asset.get("type") == "job":
            inputs.append(_nested(services, next(children), asset))
        else:
            inputs.append(_asset(asset, secrets))
    return JoinOrder(
        key=f"job:{job.id}",
        inputs=tuple(inputs),
        output=services.blobs.path(job.output),
        partial=services.work / job.id / job.output.rsplit("/", 1)[-1],
        work=services.work / job.id,
        limits=services.limits,
        fast=services.config.render_fast,
    )


def _settings(payload: JsonObject, *, fast: bool) -> OutputSettings:
    settings = _object(payload.get("settings"))
    return OutputSettings(
        type=str(settings.get("type", "video")),
        frames=_frames(settings.get("frames")),
        quality=str(settings.get("quality", "full")),
        codec=_text(settings.get("codec")),
        preview=payload.get("preview") is True,
        fast=fast,
    )


def _frames(value: JsonValue) -> tuple[int, int] | int | None:
    if isinstance(value, list) and len(value) == 2:
        first, last = value
        if isinstance(first, int) and isinstance(last, int):
            return first, last
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _object(value: JsonValue) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _list(value: JsonValue) -> list[JsonObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value: JsonValue) -> str | None:
    return value if isinstance(value, str) else None
