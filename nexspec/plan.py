"""The plan: what ``apply`` would upload, render and track, and why. A pure function.

``make_plan`` compares the desired state (templates by digest, jobs by fingerprint) with
the lock, and optionally with a snapshot of the backend (``--refresh``), and returns a
``Plan`` value. It does no I/O; ``apply`` executes a ``Plan`` and nothing else.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from nexspec.errors import StalePlanError
from nexspec.lock import FAILED, TERMINAL, BackendLock, JobEntry, JobStatus
from nexspec.payload import JsonValue, canonical_json, sha256_hex
from nexspec.redaction import public_url

PLAN_FORMAT_VERSION = "1.0"


class TemplateAction(StrEnum):
    CREATE = "create"
    UPLOAD = "upload"
    UNCHANGED = "unchanged"
    ORPHANED = "orphaned"


class JobAction(StrEnum):
    RENDER = "render"
    RERENDER = "re-render"
    RETRY = "retry"
    TRACK = "track"
    UNCHANGED = "unchanged"
    REMOVED = "removed"


SUBMITTING_ACTIONS = frozenset({JobAction.RENDER, JobAction.RERENDER, JobAction.RETRY})
UPLOADING_ACTIONS = frozenset({TemplateAction.CREATE, TemplateAction.UPLOAD})


@dataclass(frozen=True, slots=True)
class DesiredTemplate:
    name: str
    digest: str
    kind: str
    display_name: str
    path: str


@dataclass(frozen=True, slots=True)
class DesiredJob:
    name: str
    template: str
    fingerprint: str
    inputs: Mapping[str, JsonValue]
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Desired:
    """What the specs ask for, resolved: the input of a plan besides the lock."""

    templates: Mapping[str, DesiredTemplate]
    jobs: Mapping[str, DesiredJob]

    def digest(self) -> str:
        """Changes whenever anything a plan depends on in the specs changes."""
        summary = {
            "templates": {n: t.digest for n, t in sorted(self.templates.items())},
            "jobs": {n: j.fingerprint for n, j in sorted(self.jobs.items())},
        }
        return "sha256:" + sha256_hex(canonical_json(summary))


@dataclass(frozen=True, slots=True)
class RemoteTemplate:
    id: str
    status: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteJob:
    id: str
    status: str
    output_url: str | None = None
    error: str | None = None
    render_duration: float | None = None
    finished_at: str | None = None
    progress: float | None = None
    created_at: str | None = None
    tags: tuple[str, ...] = ()  # empty when the backend does not report them


@dataclass(frozen=True, slots=True)
class Remote:
    """What the backend reported for the ids in the lock; an id mapped to ``None`` is gone."""

    templates: Mapping[str, RemoteTemplate | None] = field(default_factory=dict)
    jobs: Mapping[str, RemoteJob | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Selection:
    """``--select``/``--exclude`` patterns: a job name glob, ``template:NAME`` or ``tag:NAME``."""

    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.select or self.exclude)

    def matches(self, name: str, template: str, tags: tuple[str, ...]) -> bool:
        chosen = not self.select or any(_matches(p, name, template, tags) for p in self.select)
        return chosen and not any(_matches(p, name, template, tags) for p in self.exclude)


NO_SELECTION = Selection()


def _matches(pattern: str, name: str, template: str, tags: tuple[str, ...]) -> bool:
    if pattern.startswith("template:"):
        return fnmatch.fnmatchcase(template, pattern.removeprefix("template:"))
    if pattern.startswith("tag:"):
        wanted = pattern.removeprefix("tag:")
        return any(fnmatch.fnmatchcase(tag, wanted) for tag in tags)
    return fnmatch.fnmatchcase(name, pattern)


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: JsonValue = None
    new: JsonValue = None
    added: bool = False
    removed: bool = False


@dataclass(frozen=True, slots=True)
class TemplateChange:
    name: str
    action: TemplateAction
    kind: str
    digest: str | None
    old_digest: str | None
    remote_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class JobChange:
    name: str
    action: JobAction
    template: str
    fingerprint: str | None
    old_fingerprint: str | None
    remote_id: str | None
    status: str | None
    reason: str
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class Drift:
    kind: str  # "template" or "job"
    name: str
    message: str


@dataclass(frozen=True, slots=True)
class Plan:
    backend: str
    base_lock: str
    base_specs: str
    templates: tuple[TemplateChange, ...]
    jobs: tuple[JobChange, ...]
    drift: tuple[Drift, ...] = ()
    selection: Selection = Selection()
    excluded: int = 0
    prune: bool = False

    def count(self, action: JobAction | TemplateAction) -> int:
        changes: tuple[Any, ...] = self.templates if isinstance(action, TemplateAction) else self.jobs
        return sum(1 for c in changes if c.action == action)

    @property
    def has_changes(self) -> bool:
        """Whether applying would change the backend or the lock (tracking alone does not)."""
        job_changes = any(j.action in SUBMITTING_ACTIONS or j.action is JobAction.REMOVED for j in self.jobs)
        template_changes = any(t.action in UPLOADING_ACTIONS for t in self.templates)
        pruning = self.prune and any(t.action is TemplateAction.ORPHANED for t in self.templates)
        return job_changes or template_changes or pruning

    def job(self, name: str) -> JobChange | None:
        return next((j for j in self.jobs if j.name == name), None)


def make_plan(
    desired: Desired,
    lock: BackendLock,
    *,
    backend: str,
    base_lock: str,
    remote: Remote | None = None,
    replace: frozenset[str] = frozenset(),
    selection: Selection = Selection(),
    prune: bool = False,
) -> Plan:
    """Compare what the specs ask for with what the lock (and the backend) records."""
    jobs = {n: j for n, j in desired.jobs.items() if selection.matches(n, j.template, j.tags)}
    drift: list[Drift] = []
    needed = {j.template for j in jobs.values()} if selection else set(desired.templates)
    templates = [
        _template(desired.templates[n], lock, remote, drift) for n in sorted(needed) if n in desired.templates
    ]
    if not selection:
        templates += [_orphan(n, e) for n, e in sorted(lock.templates.items()) if n not in desired.templates]
    changes = [_job(jobs[n], lock.jobs.get(n), remote, n in replace, drift) for n in sorted(jobs)]
    if not selection:
        changes += [_removed(n, e) for n, e in sorted(lock.jobs.items()) if n not in desired.jobs]
    return Plan(
        backend=backend,
        base_lock=base_lock,
        base_specs=desired.digest(),
        templates=tuple(templates),
        jobs=tuple(changes),
        drift=tuple(drift),
        selection=selection,
        excluded=len(desired.jobs) - len(jobs),
        prune=prune,
    )


def _template(
    want: DesiredTemplate, lock: BackendLock, remote: Remote | None, drift: list[Drift]
) -> TemplateChange:
    entry = lock.templates.get(want.name)

    def change(action: TemplateAction, reason: str, remote_id: str | None = None) -> TemplateChange:
        old = entry.digest if entry else None
        return TemplateChange(want.name, action, want.kind, want.digest, old, remote_id, reason)

    if entry is None:
        return change(TemplateAction.CREATE, "new template")
    if remote is not None and entry.id in remote.templates and remote.templates[entry.id] is None:
        drift.append(
            Drift(
                "template",
                want.name,
                f"template '{want.name}' ({entry.id}) no longer exists on the backend",
            )
        )
        return change(TemplateAction.CREATE, "deleted on the backend; it will be created again")
    if entry.digest != want.digest:
        return change(
            TemplateAction.UPLOAD,
            f"content changed: {_short(entry.digest)} → {_short(want.digest)}",
            entry.id,
        )
    if entry.status != "uploaded":
        return change(
            TemplateAction.UPLOAD, f"last upload did not complete (status {entry.status})", entry.id
        )
    return change(TemplateAction.UNCHANGED, "", entry.id)


def _orphan(name: str, entry: Any) -> TemplateChange:
    return TemplateChange(
        name,
        TemplateAction.ORPHANED,
        entry.type,
        None,
        entry.digest,
        entry.id,
        "no longer in the specs",
    )


def _job(
    want: DesiredJob,
    entry: JobEntry | None,
    remote: Remote | None,
    replace: bool,
    drift: list[Drift],
) -> JobChange:
    def change(action: JobAction, reason: str, changes: tuple[FieldChange, ...] = ()) -> JobChange:
        old_fp = entry.fingerprint if entry else None
        remote_id = entry.id if entry else None
        status = entry.status.value if entry else None
        return JobChange(
            want.name,
            action,
            want.template,
            want.fingerprint,
            old_fp,
            remote_id,
            status,
            reason,
            changes,
        )

    if entry is None:
        return change(JobAction.RENDER, "new job")
    if replace:
        return change(JobAction.RERENDER, "replacement requested with --replace")
    if entry.fingerprint != want.fingerprint:
        changes = diff_inputs(entry.inputs, want.inputs)
        return change(JobAction.RERENDER, _why(changes), changes)
    status = _observed(want.name, entry, remote, drift)
    if status is None:
        return change(JobAction.RENDER, "unknown to the backend; it will be submitted again")
    if status in FAILED:
        return change(
            JobAction.RETRY,
            f"last run ended {status.value}" + (f": {entry.error}" if entry.error else ""),
        )
    if status is JobStatus.SUBMITTING:
        return change(
            JobAction.TRACK, "submission was interrupted; apply looks it up before submitting again"
        )
    if status not in TERMINAL:
        return change(JobAction.TRACK, f"still {status.value} on the backend")
    return change(JobAction.UNCHANGED, "")


def _observed(name: str, entry: JobEntry, remote: Remote | None, drift: list[Drift]) -> JobStatus | None:
    if remote is None or entry.id is None or entry.id not in remote.jobs:
        return entry.status
    seen = remote.jobs[entry.id]
    if seen is None:
        drift.append(Drift("job", name, f"job '{name}' ({entry.id}) is unknown to the backend"))
        return None
    from nexspec.lock import job_status

    status = job_status(seen.status)
    if status != entry.status:
        drift.append(
            Drift(
                "job",
                name,
                f"job '{name}' is {seen.status} on the backend; the lock says {entry.status.value}",
            )
        )
    return status


def _removed(name: str, entry: JobEntry) -> JobChange:
    return JobChange(
        name,
        JobAction.REMOVED,
        entry.template,
        None,
        entry.fingerprint,
        entry.id,
        entry.status.value,
        "no longer in the specs; its lock entry is dropped",
    )


def diff_inputs(old: Mapping[str, JsonValue], new: Mapping[str, JsonValue]) -> tuple[FieldChange, ...]:
    """Field-by-field differences between two jobs' recorded inputs."""
    changes = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            changes.append(FieldChange(key, None, new[key], added=True))
        elif key not in new:
            changes.append(FieldChange(key, old[key], None, removed=True))
        elif canonical_json(old[key]) != canonical_json(new[key]):
            changes.append(FieldChange(key, old[key], new[key]))
    return tuple(changes)


def _why(changes: tuple[FieldChange, ...]) -> str:
    if not changes:
        return "fingerprint changed"
    template = next((c for c in changes if c.field == "template.id"), None)
    if template is not None and len(changes) == 1:
        return "template content changed"
    fields = [c.field for c in changes]
    shown = ", ".join(fields[:3]) + (f" and {len(fields) - 3} more" if len(fields) > 3 else "")
    return f"changed: {shown}"


def _short(digest: str | None) -> str:
    return (digest or "none").removeprefix("sha256:")[:12]


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The versioned JSON form of a plan (``--format json`` and ``--out``); no secrets in it."""
    return {
        "format_version": PLAN_FORMAT_VERSION,
        "backend": plan.backend,
        "base_lock": plan.base_lock,
        "base_specs": plan.base_specs,
        "selection": {
            "select": list(plan.selection.select),
            "exclude": list(plan.selection.exclude),
        },
        "prune": plan.prune,
        "excluded": plan.excluded,
        "summary": summary_counts(plan),
        "templates": [_template_json(t) for t in plan.templates],
        "jobs": [_job_json(j) for j in plan.jobs],
        "drift": [{"kind": d.kind, "name": d.name, "message": d.message} for d in plan.drift],
    }


def summary_counts(plan: Plan) -> dict[str, int]:
    counts = {f"templates_{a.value}": plan.count(a) for a in TemplateAction}
    counts.update({f"jobs_{a.value.replace('-', '_')}": plan.count(a) for a in JobAction})
    return counts


def _template_json(t: TemplateChange) -> dict[str, Any]:
    return {
        "name": t.name,
        "action": t.action.value,
        "type": t.kind,
        "digest": t.digest,
        "old_digest": t.old_digest,
        "remote_id": t.remote_id,
        "reason": t.reason,
    }


def _job_json(j: JobChange) -> dict[str, Any]:
    return {
        "name": j.name,
        "action": j.action.value,
        "template": j.template,
        "fingerprint": j.fingerprint,
        "old_fingerprint": j.old_fingerprint,
        "remote_id": j.remote_id,
        "status": j.status,
        "reason": j.reason,
        "changes": [_change_json(c) for c in j.changes],
    }


def _change_json(c: FieldChange) -> dict[str, Any]:
    out: dict[str, Any] = {"field": c.field}
    if not c.added:
        out["old"] = c.old
    if not c.removed:
        out["new"] = c.new
    return out


def plan_from_json(text: str, source: str) -> Plan:
    """A saved plan read back; raises ``StalePlanError`` for a file that is not a plan."""
    try:
        data = json.loads(text)
        if not str(data.get("format_version", "")).startswith("1."):
            raise StalePlanError(f"{source}: plan format {data.get('format_version')!r} is not supported")
        return Plan(
            backend=data["backend"],
            base_lock=data["base_lock"],
            base_specs=data["base_specs"],
            templates=tuple(_template_from(t) for t in data["templates"]),
            jobs=tuple(_job_from(j) for j in data["jobs"]),
            drift=tuple(Drift(d["kind"], d["name"], d["message"]) for d in data.get("drift", [])),
            selection=Selection(tuple(data["selection"]["select"]), tuple(data["selection"]["exclude"])),
            excluded=data.get("excluded", 0),
            prune=bool(data.get("prune", False)),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StalePlanError(f"{source}: not a nexspec plan file ({exc})") from None


def _template_from(t: Mapping[str, Any]) -> TemplateChange:
    return TemplateChange(
        t["name"],
        TemplateAction(t["action"]),
        t["type"],
        t["digest"],
        t["old_digest"],
        t["remote_id"],
        t["reason"],
    )


def _job_from(j: Mapping[str, Any]) -> JobChange:
    changes = tuple(
        FieldChange(c["field"], c.get("old"), c.get("new"), added="old" not in c, removed="new" not in c)
        for c in j["changes"]
    )
    return JobChange(
        j["name"],
        JobAction(j["action"]),
        j["template"],
        j["fingerprint"],
        j["old_fingerprint"],
        j["remote_id"],
        j["status"],
        j["reason"],
        changes,
    )


def observed(entry: JobEntry, remote: RemoteJob | None) -> JobEntry:
    """A lock entry updated with what the backend reports (``None``: it no longer knows the job)."""
    from dataclasses import replace

    from nexspec.lock import job_status

    if remote is None:
        return replace(entry, status=JobStatus.ERROR, error="unknown to the backend")
    status = job_status(remote.status)
    if status not in TERMINAL:
        return replace(entry, status=status)
    return replace(
        entry,
        status=status,
        output_url=public_url(remote.output_url) or entry.output_url,
        render_duration=remote.render_duration,
        error=None if status is JobStatus.FINISHED else (remote.error or f"ended {status.value}"),
        finished_at=remote.finished_at,
    )
