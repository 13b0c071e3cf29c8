"""Job lifecycle: creation (plain, nested, batch, join), cancellation with cascade, and the
states a job passes through as workers report: queued → render:download → render:dorender
→ finished | error. A parent waits in ``pending`` until its children have finished.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from nexspec.payload import JsonObject, JsonValue
from nexspec.protocol import CANCELLABLE_STATES, JobState
from nexspec.server.orders import Done, Failed, Progress, RenderOutcome, Stage
from nexspec.server.payloads import asset_list
from nexspec.server.problems import ApiProblem, conflict
from nexspec.server.records import IN_FLIGHT_STATES, BatchRecord, JobKind, JobRecord
from nexspec.server.services import Services
from nexspec.server.stamps import new_id, now, seconds_between
from nexspec.server.templates import require_ready

KEY_PREFIX = "job:"
Notify = Callable[[JobRecord], None]


@dataclass(frozen=True, slots=True)
class Created:
    job: JobRecord
    children: tuple[JobRecord, ...]


class Jobs:
    def __init__(self, services: Services, notify: Notify) -> None:
        self._s = services
        self._notify = notify  # called once a job reaches a terminal state

    def get(self, job_id: str) -> JobRecord:
        job = self._s.store.get_job(job_id)
        if job is None:
            raise ApiProblem(404, "Job not found")
        return job

    # --- creation ----------------------------------------------------------------------------

    def plan(self, payload: JsonObject, fonts: set[str], at: str) -> Created:
        """The records for one valid job payload; 404/400 when a template is unknown or unready."""
        template = _object(payload.get("template"))
        template_id = str(template.get("id"))
        require_ready(self._s.store.get_template(template_id), template_id, clean_room="src" in template)
        parent_id = new_id()
        children = tuple(
            self._child(asset, parent_id, fonts, at)
            for asset in asset_list(payload)
            if isinstance(asset, dict) and asset.get("type") == "job"
        )
        status = JobState.PENDING if children else JobState.QUEUED
        job = _record(parent_id, JobKind.RENDER, template_id, payload, status, fonts, at)
        return Created(job, children)

    def _child(self, asset: JsonObject, parent_id: str, fonts: set[str], at: str) -> JobRecord:
        template = _object(asset.get("template"))
        template_id = str(template.get("id"))
        require_ready(self._s.store.get_template(template_id), template_id, clean_room="src" in template)
        payload: JsonObject = {
            k: v for k, v in asset.items() if k not in ("type", "layerName", "composition")
        }
        record = _record(new_id(), JobKind.RENDER, template_id, payload, JobState.QUEUED, fonts, at)
        return replace(record, parent_id=parent_id)

    def plan_join(self, payload: JsonObject, fonts: set[str], at: str) -> Created:
        parent_id = new_id()
        children = tuple(
            self._child(asset, parent_id, fonts, at)
            for asset in asset_list(payload)
            if isinstance(asset, dict) and asset.get("type") == "job"
        )
        status = JobState.PENDING if children else JobState.QUEUED
        return Created(_record(parent_id, JobKind.JOIN, None, payload, status, fonts, at), children)

    def save(self, created: Sequence[Created], batch: BatchRecord | None = None) -> None:
        records = [r for c in created for r in (c.job, *c.children)]
        self._s.store.insert_jobs(records, batch)
        self._s.wake()

    # --- cancellation ------------------------------------------------------------------------

    def cancel(self, job_ids: Sequence[str]) -> list[JobRecord]:
        """Cancel the named jobs and their families; 404/409 (nothing cancelled) when one can't be."""
        jobs = self._s.store.get_jobs(job_ids)
        known = {job.id for job in jobs}
        missing = [i for i in job_ids if i not in known]
        if missing:
            raise ApiProblem(404, f"Job {missing[0]} not found")
        stuck = [job for job in jobs if job.status not in CANCELLABLE_STATES]
        if stuck:
            raise conflict(f"Job {stuck[0].id} cannot be cancelled: it is {stuck[0].status}")
        return self.cancel_families(jobs)

    def cancel_families(self, jobs: Sequence[JobRecord]) -> list[JobRecord]:
        """Cancel every queued or pending member of each job's family; the jobs cancelled."""
        targets: dict[str, None] = {}
        for job in jobs:
            targets.update((member, None) for member in self._family(job))
        cancelled = self._s.store.get_jobs(self._s.store.cancel_jobs(list(targets), now()))
        for job in cancelled:
            self._s.store.append_log(job.id, ["PROGRESS: Job cancelled through the API"])
            self._notify(job)
        return cancelled

    def _family(self, job: JobRecord) -> list[str]:
        # A child's parent can no longer complete, nor can its siblings serve it: the whole
        # family, from the root down, goes.
        root = job
        while root.parent_id:
            parent = self._s.store.get_job(root.parent_id)
            if parent is None:
                break
            root = parent
        return [job.id, *self._descendants(root)]

    def _descendants(self, job: JobRecord) -> list[str]:
        found = [job.id]
        for child in self._s.store.children(job.id):
            found += self._descendants(child)
        return found

    # --- dispatcher side ---------------------------------------------------------------------

    def handle(self, event: object) -> None:
        job_id = getattr(event, "key", "").removeprefix(KEY_PREFIX)
        at = now()
        if isinstance(event, Stage):
            self._s.store.update_job(job_id, only_from=IN_FLIGHT_STATES, status=event.status, updated_at=at)
        elif isinstance(event, Progress):
            self._s.store.update_job(
                job_id, only_from=(JobState.RENDERING.value,), progress=event.percent, updated_at=at
            )
        elif isinstance(event, Done) and isinstance(event.outcome, RenderOutcome):
            self._finished(job_id, event.outcome, at)
        elif isinstance(event, Failed):
            self.fail(job_id, event.message, event.log)

    def _finished(self, job_id: str, outcome: RenderOutcome, at: str) -> None:
        self._log(job_id, [*outcome.log, f"PROGRESS: Finished: {outcome.frames} frame(s)"])
        self._s.store.update_job(
            job_id, only_from=IN_FLIGHT_STATES, status=JobState.FINISHED.value, progress=100.0,
            finished_at=at, updated_at=at, render_duration=round(outcome.seconds, 3),
        )  # fmt: skip
        self._terminal(job_id)

    def fail(self, job_id: str, message: str, log: Sequence[str] = ()) -> None:
        job = self._s.store.get_job(job_id)
        message = self._scrub([message], job)[0] if job else message
        self._log(job_id, [*log, f"ERROR: {message}"])
        duration = seconds_between(job.started_at, now()) if job and job.started_at else None
        at = now()
        self._s.store.update_job(
            job_id, only_from=(*IN_FLIGHT_STATES, JobState.PENDING.value), status=JobState.ERROR.value,
            error=message, error_at=at, updated_at=at, render_duration=duration,
        )  # fmt: skip
        self._terminal(job_id)

    def _log(self, job_id: str, lines: Sequence[str]) -> None:
        self._s.store.append_log(job_id, self._scrub(lines, self._s.store.get_job(job_id)))

    def _scrub(self, lines: Sequence[str], job: JobRecord | None) -> list[str]:
        from nexspec.server.interpolation import scrub, used_values

        if job is None:
            return list(lines)
        return scrub(lines, used_values(job.payload, self._s.store.secret_values()))

    def _terminal(self, job_id: str) -> None:
        job = self._s.store.get_job(job_id)
        if job is None:
            return
        shutil.rmtree(self._s.work / job_id, ignore_errors=True)
        self._notify(job)
        if job.parent_id:
            self._update_parent(job)

    def _update_parent(self, child: JobRecord) -> None:
        parent = self._s.store.get_job(str(child.parent_id))
        if parent is None or parent.status != JobState.PENDING:
            return
        if child.status == JobState.ERROR:
            self.fail(parent.id, f"Nested job {child.id} failed: {child.error}")
            return
        children = self._s.store.children(parent.id)
        if all(c.status == JobState.FINISHED for c in children):
            self._s.store.update_job(
                parent.id, only_from=(JobState.PENDING.value,), status=JobState.QUEUED.value, updated_at=now()
            )
            self._s.wake()


def _object(value: JsonValue) -> JsonObject:
    return value if isinstance(value, dict) else {}


def output_extension(payload: JsonObject) -> str:
    settings = _object(payload.get("settings"))
    kind = settings.get("type", "video")
    if kind == "image":
        return "jpg" if settings.get("codec") == "image_jpeg" else "png"
    return "zip" if kind == "aep" else "mp4"


def _record(
    job_id: str,
    kind: JobKind,
    template_id: str | None,
    payload: JsonObject,
    status: JobState,
    fonts: set[str],
    at: str,
) -> JobRecord:
    wanted = payload.get("fonts")
    tags = payload.get("tags")
    priority = payload.get("priority")
    return JobRecord(
        id=job_id,
        kind=kind,
        template_id=template_id,
        status=status.value,
        payload=payload,
        output=f"outputs/{job_id}.{output_extension(payload) if kind is JobKind.RENDER else 'mp4'}",
        created_at=at,
        updated_at=at,
        priority=priority if isinstance(priority, int) and not isinstance(priority, bool) else 0,
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        missing_fonts=tuple(str(f) for f in wanted if f not in fonts) if isinstance(wanted, list) else (),
        total_assets=len(asset_list(payload)),
    )
