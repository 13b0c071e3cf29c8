"""The JSON documents the API answers with, built from stored records.

Shapes follow the contract: the v2 Template (with the three creation shapes clients
parse), the v3 template, composition and layer objects (snake_case, ``aeid`` a string on
compositions and an integer on layers), Job, JobCreationResponse, Font and Secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from nexspec.payload import JsonObject, JsonValue
from nexspec.protocol import UPLOAD_URL_TTL_SECONDS, JobState, TemplateState
from nexspec.server.blobs import UrlSigner
from nexspec.server.records import (
    BatchRecord,
    FontRecord,
    JobRecord,
    SecretRecord,
    TemplateRecord,
)
from nexspec.server.stamps import parse_time
from nexspec.templateinfo import Composition, Layer, LayerKind, TemplateInfo

_LAYER_TYPES = {
    LayerKind.TEXT: "TextLayer",
    LayerKind.SHAPE: "ShapeLayer",
    LayerKind.CAMERA: "CameraLayer",
    LayerKind.LIGHT: "LightLayer",
}
_SOURCE_TYPES = {
    LayerKind.FOOTAGE: "footage",
    LayerKind.AUDIO: "footage",
    LayerKind.SOLID: "solid",
    LayerKind.PRECOMP: "composition",
}
# Layers with no pixels of their own report empty bounds; the others the comp's rectangle.
_UNBOUNDED = frozenset({LayerKind.NULL, LayerKind.CAMERA, LayerKind.LIGHT, LayerKind.AUDIO})


@dataclass(frozen=True, slots=True)
class Links:
    """Absolute URLs for one response: ``base`` is scheme and host, e.g. ``http://127.0.0.1:8765``."""

    base: str
    signer: UrlSigner

    def upload(self, template: TemplateRecord) -> str:
        assert template.upload_id is not None and template.upload_issued is not None
        signed = self.signer.sign(
            "PUT",
            upload_key(template.id, template.upload_id),
            issued=template.upload_issued,
            expires_in=UPLOAD_URL_TTL_SECONDS,
            template_id=template.id,
        )
        return self.base + signed.path_and_query

    def download(self, key: str, issued: int) -> str:
        signed = self.signer.sign("GET", key, issued=issued, expires_in=UPLOAD_URL_TTL_SECONDS)
        return self.base + signed.path_and_query

    def output(self, job: JobRecord) -> str:
        # Output URLs never expire locally, and are signed at the job's creation time so that
        # the URL returned at creation is the one every later GET returns.
        issued = int(parse_time(job.created_at).timestamp())
        return self.base + self.signer.sign("GET", job.output, issued=issued, expires_in=None).path_and_query


def upload_key(template_id: str, upload_id: str) -> str:
    return f"templates/{template_id}/{upload_id}"


# --- templates -----------------------------------------------------------------------------


def upload_info(template: TemplateRecord, links: Links) -> JsonObject:
    assert template.upload_id is not None
    return {
        "url": links.upload(template),
        "method": "PUT",
        "fields": {"Content-Type": "application/octet-stream"},
        "expiresIn": UPLOAD_URL_TTL_SECONDS,
        "key": upload_key(template.id, template.upload_id),
    }


def template_doc(template: TemplateRecord, links: Links) -> JsonObject:
    info = template.info
    waiting = template.status == TemplateState.AWAITING_UPLOAD and template.upload_id
    return {
        "id": template.id,
        "type": template.type,
        "displayName": template.display_name,
        "status": template.status,
        "createdAt": template.created_at,
        "updatedAt": template.updated_at,
        "compositions": [c.name for c in info.compositions] if info else [],
        "layers": _layer_names(info),
        "mogrt": _mogrt(template),
        "error": template.error,
        "uploadInfo": upload_info(template, links) if waiting else None,
    }


def creation_doc(template: TemplateRecord, links: Links) -> JsonObject:
    """The create response: a flat Template, plus ``template`` and ``uploadUrl`` for older parsers."""
    doc = template_doc(template, links)
    out: JsonObject = {**doc, "template": dict(doc)}
    info = doc["uploadInfo"]
    if isinstance(info, dict):
        out["uploadUrl"] = info["url"]
    return out


def _layer_names(info: TemplateInfo | None) -> list[JsonValue]:
    names: dict[str, None] = {}
    for comp in info.compositions if info else ():
        names.update((layer.name, None) for layer in comp.layers)
    return list(names)


def _mogrt(template: TemplateRecord) -> JsonValue:
    if template.type != "mogrt" or template.info is None:
        return None
    return {"controls": [{"name": c.name, "type": c.kind.value} for c in template.info.controls]}


def template_v3(template: TemplateRecord) -> JsonObject:
    return {
        "id": template.id,
        "type": template.type,
        "displayName": template.display_name,
        "status": template.status,
        "createdAt": template.created_at,
        "updatedAt": template.updated_at,
    }


def composition_ids(info: TemplateInfo) -> list[int]:
    """The integer id of each composition: its own when every one is a distinct number."""
    own = [c.aeid for c in info.compositions]
    if all(a.isdigit() for a in own) and len(set(own)) == len(own):
        return [int(a) for a in own]
    return list(range(1, len(own) + 1))


def compositions_v3(info: TemplateInfo) -> list[JsonObject]:
    return [
        {
            "aeid": str(number),
            "name": comp.name,
            "width": comp.width,
            "height": comp.height,
            "duration": comp.duration,
            "frame_rate": comp.fps,
            "data": {"id": comp.aeid, "layers": len(comp.layers)},
        }
        for number, comp in zip(composition_ids(info), info.compositions, strict=True)
    ]


def layers_v3(info: TemplateInfo) -> list[JsonObject]:
    ids = composition_ids(info)
    by_name = {comp.name: number for number, comp in zip(ids, info.compositions, strict=True)}
    return [
        _layer_v3(layer, comp, number, by_name)
        for number, comp in zip(ids, info.compositions, strict=True)
        for layer in comp.layers
    ]


def _layer_v3(layer: Layer, comp: Composition, comp_id: int, by_name: dict[str, int]) -> JsonObject:
    bounded = layer.kind not in _UNBOUNDED
    data: JsonObject = {"kind": layer.kind.value, "index": layer.index}
    if layer.text is not None:
        data["text"] = layer.text
    if layer.source_name is not None:
        data["source"] = layer.source_name
    return {
        "composition_id": comp_id,
        "aeid": layer.aeid or layer.index,
        "name": layer.name,
        "top": 0,
        "left": 0,
        "width": comp.width if bounded else 0,
        "height": comp.height if bounded else 0,
        "start_time": layer.start_time,
        "in_point": layer.in_point,
        "out_point": layer.out_point,
        "layer_type": _LAYER_TYPES.get(layer.kind, "AVLayer"),
        "source_type": _SOURCE_TYPES.get(layer.kind),
        "source_comp_id": by_name.get(layer.source_comp) if layer.source_comp else None,
        "parent_id": layer.parent_id,
        "data": data,
    }


# --- jobs ----------------------------------------------------------------------------------


def job_doc(job: JobRecord, links: Links, *, minimal: bool = False) -> JsonObject:
    doc: JsonObject = {
        "id": job.id,
        "templateId": job.template_id,
        "status": job.status,
        "progress": job.progress,
        "outputUrl": links.output(job),
        "tags": list(job.tags),
        "priority": job.priority,
    }
    if minimal:
        doc["stats"] = {"createdAt": job.created_at, "updatedAt": job.updated_at}
        return doc
    doc["stats"] = {
        "createdAt": job.created_at,
        "updatedAt": job.updated_at,
        "startedAt": job.started_at,
        "finishedAt": job.finished_at,
        "errorAt": job.error_at,
        "totalAssets": job.total_assets,
        "renderDuration": job.render_duration,
        "error": job.error,
    }
    doc["missingFonts"] = list(job.missing_fonts)
    doc["assets"] = job.payload.get("assets", [])
    if job.parent_id:
        doc["parentId"] = job.parent_id
    if job.batch_id:
        doc["batchId"] = job.batch_id
    return doc


def creation_response(job: JobRecord, children: list[JobRecord], links: Links) -> JsonObject:
    doc: JsonObject = {
        "id": job.id,
        "status": job.status,
        "outputUrl": links.output(job),
        "missingFonts": list(job.missing_fonts),
    }
    if children:
        doc["children"] = [
            {
                "id": child.id,
                "status": child.status,
                "outputUrl": links.output(child),
                "missingFonts": list(child.missing_fonts),
            }
            for child in children
        ]
    return doc


# --- fonts and secrets ---------------------------------------------------------------------


def font_doc(font: FontRecord) -> JsonObject:
    return {
        "id": font.id,
        "familyName": font.family_name,
        "fileName": font.file_name,
        "createdAt": font.created_at,
    }


def secret_doc(secret: SecretRecord) -> JsonObject:
    return {"id": secret.id, "name": secret.name, "createdAt": secret.created_at}


def batch_status_doc(batch: BatchRecord, jobs: list[JobRecord], links: Links) -> JsonObject:
    finished = sum(1 for job in jobs if job.status == JobState.FINISHED)
    failed = sum(1 for job in jobs if job.status in (JobState.ERROR, JobState.CANCELLED))
    pending = len(jobs) - finished - failed
    status = "processing" if pending else ("error" if jobs and failed == len(jobs) else "finished")
    return {
        "batchId": batch.id,
        "status": status,
        "stats": {"total": len(jobs), "finished": finished, "error": failed, "pending": pending},
        "jobs": [_batch_job(job, links) for job in jobs],
    }


def _batch_job(job: JobRecord, links: Links) -> JsonObject:
    doc: JsonObject = {
        "index": job.batch_index,
        "id": job.id,
        "status": job.status,
        "outputUrl": links.output(job),
    }
    if job.status in (JobState.FINISHED, JobState.ERROR):
        full = job_doc(job, links)
        doc["stats"] = full["stats"]
    return doc
