"""The lock file as a value: what was uploaded and submitted, per backend.

``nexspec.lock`` is machine-owned, deterministic JSON (sorted keys, two-space indent,
trailing newline) meant to be committed and reviewed. It is scoped by backend (the API
base URL, or ``local``) so that ids from one backend are never sent to another, and it
holds nothing transient: it changes only when something real changed.

``loads``/``dumps`` are pure; reading and writing files is ``nexspec.lockfile``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import jsonschema

from nexspec.errors import LockError
from nexspec.payload import JsonValue, sha256_hex
from nexspec.schemas import LOCK_SCHEMA, load_schema

LOCKFILE_VERSION = 1
GENERATED_NOTE = "Maintained by `nexspec apply`; commit it, do not edit it by hand."


class JobStatus(StrEnum):
    """What the lock knows of a job. ``submitting`` is an intent whose outcome is unknown."""

    SUBMITTING = "submitting"
    QUEUED = "queued"
    PENDING = "pending"
    RENDERING = "rendering"
    FINISHED = "finished"
    ERROR = "error"
    CANCELLED = "manually_cancelled"


TERMINAL = frozenset({JobStatus.FINISHED, JobStatus.ERROR, JobStatus.CANCELLED})
FAILED = frozenset({JobStatus.ERROR, JobStatus.CANCELLED})


def job_status(api_status: str) -> JobStatus:
    """The lock's status for a status the API reported (unknown ones are still rendering)."""
    try:
        return JobStatus(api_status)
    except ValueError:
        return JobStatus.RENDERING


@dataclass(frozen=True, slots=True)
class TemplateEntry:
    digest: str
    id: str
    type: str
    status: str
    uploaded_at: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class JobEntry:
    """One job: its fingerprint and inputs, and what the backend last said about it.

    ``tag`` is the idempotency tag the submission carried; ``attempt`` counts submissions
    of this job, so a retry is never mistaken for the earlier, failed one.
    """

    fingerprint: str
    template: str
    status: JobStatus
    tag: str
    attempt: int = 1
    id: str | None = None
    output_url: str | None = None
    render_duration: float | None = None
    error: str | None = None
    submitted_at: str | None = None
    finished_at: str | None = None
    inputs: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BackendLock:
    """Everything recorded for one backend.

    ``instance`` identifies the local backend's data dir the section was written against
    (empty for remote backends): ids from another data dir mean nothing here.
    """

    project_tag: str = ""
    templates: Mapping[str, TemplateEntry] = field(default_factory=dict)
    jobs: Mapping[str, JobEntry] = field(default_factory=dict)
    instance: str = ""

    def with_template(self, name: str, entry: TemplateEntry) -> BackendLock:
        return replace(self, templates={**self.templates, name: entry})

    def with_job(self, name: str, entry: JobEntry) -> BackendLock:
        return replace(self, jobs={**self.jobs, name: entry})

    def without_templates(self, names: set[str]) -> BackendLock:
        return replace(self, templates={k: v for k, v in self.templates.items() if k not in names})

    def without_jobs(self, names: set[str]) -> BackendLock:
        return replace(self, jobs={k: v for k, v in self.jobs.items() if k not in names})


@dataclass(frozen=True, slots=True)
class Lock:
    backends: Mapping[str, BackendLock] = field(default_factory=dict)

    def backend(self, key: str) -> BackendLock:
        return self.backends.get(key, BackendLock())

    def with_backend(self, key: str, backend: BackendLock) -> Lock:
        return Lock({**self.backends, key: backend})


def dumps(lock: Lock) -> str:
    """The canonical text of a lock: the same lock always gives the same bytes."""
    document = {
        "lockfile_version": LOCKFILE_VERSION,
        "_comment": GENERATED_NOTE,
        "backends": {key: _backend_json(b) for key, b in lock.backends.items()},
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def digest(text: str | None) -> str:
    """What a saved plan records of the lock it was made from (``absent`` for no lock)."""
    return "absent" if text is None else "sha256:" + sha256_hex(text)


def loads(text: str, source: str = "nexspec.lock") -> Lock:
    """Parse and validate lock text; raises ``LockError`` naming the file and the problem."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LockError(
            f"{source}:{exc.lineno}: not valid JSON ({exc.msg}); restore it from version control"
        ) from None
    version = document.get("lockfile_version") if isinstance(document, dict) else None
    if isinstance(version, int) and version > LOCKFILE_VERSION:
        raise LockError(
            f"{source}: lockfile_version {version} is newer than this nexspec understands "
            f"({LOCKFILE_VERSION}); upgrade nexspec"
        )
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(load_schema(LOCK_SCHEMA)).iter_errors(document)
    )
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise LockError(f"{source}: invalid lock file at {where}: {error.message}")
    return Lock({key: _backend(value) for key, value in document["backends"].items()})


def _backend_json(backend: BackendLock) -> dict[str, Any]:
    document = {
        "project_tag": backend.project_tag,
        "templates": {name: _drop_none(vars_of(t)) for name, t in backend.templates.items()},
        "jobs": {name: _job_json(j) for name, j in backend.jobs.items()},
    }
    if backend.instance:
        document["instance"] = backend.instance
    return document


def vars_of(entry: TemplateEntry) -> dict[str, Any]:
    return {
        "digest": entry.digest,
        "id": entry.id,
        "type": entry.type,
        "status": entry.status,
        "uploaded_at": entry.uploaded_at,
        "error": entry.error,
    }


def _job_json(job: JobEntry) -> dict[str, Any]:
    return _drop_none(
        {
            "fingerprint": job.fingerprint,
            "template": job.template,
            "status": job.status.value,
            "tag": job.tag,
            "attempt": job.attempt,
            "id": job.id,
            "output_url": job.output_url,
            "render_duration": job.render_duration,
            "error": job.error,
            "submitted_at": job.submitted_at,
            "finished_at": job.finished_at,
            "inputs": dict(job.inputs),
        }
    )


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def _backend(data: Mapping[str, Any]) -> BackendLock:
    return BackendLock(
        project_tag=data.get("project_tag", ""),
        templates={name: TemplateEntry(**t) for name, t in data.get("templates", {}).items()},
        jobs={name: _job(j) for name, j in data.get("jobs", {}).items()},
        instance=data.get("instance", ""),
    )


def _job(data: Mapping[str, Any]) -> JobEntry:
    return JobEntry(
        fingerprint=data["fingerprint"],
        template=data["template"],
        status=JobStatus(data["status"]),
        tag=data["tag"],
        attempt=data.get("attempt", 1),
        id=data.get("id"),
        output_url=data.get("output_url"),
        render_duration=data.get("render_duration"),
        error=data.get("error"),
        submitted_at=data.get("submitted_at"),
        finished_at=data.get("finished_at"),
        inputs=data.get("inputs", {}),
    )
