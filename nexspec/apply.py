"""Executing a plan: upload changed templates, submit changed jobs, track them to the end.

``Applier.run`` does what the ``Plan`` says and nothing else (there is no dry-run branch:
a dry run is ``plan``). The lock is written atomically after every step that changes
remote state, and an intent is recorded *before* each job creation, so that an apply
killed at any point loses nothing and a re-run never renders a job twice: a submission
whose outcome is unknown is looked up by its idempotency tag before it is sent again.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from nexspec.client import ApiClient, BatchItem, CreatedJob, UploadInfo
from nexspec.errors import ApiError, Interrupted, JobsFailed, StalePlanError
from nexspec.jobs import bind
from nexspec.lock import TERMINAL, BackendLock, JobEntry, JobStatus, Lock, TemplateEntry, job_status
from nexspec.lockfile import write_lock
from nexspec.pack import pack_template
from nexspec.payload import JsonObject, JsonValue
from nexspec.plan import (
    SUBMITTING_ACTIONS,
    UPLOADING_ACTIONS,
    JobAction,
    JobChange,
    Plan,
    RemoteJob,
    TemplateAction,
    TemplateChange,
    observed,
)
from nexspec.protocol import MAX_BATCH_JOBS, idempotency_tag
from nexspec.redaction import public_url
from nexspec.tracking import PollPolicy, Tracked, now_iso, poll_round, round_budget, wait_rounds

TEMPLATE_POLL_TIMEOUT = 15 * 60.0
MAX_RESUBMISSIONS = 3
LOOKUP_ROUNDS = 5
# Tracking rounds that may fail in a row (backing off between them) before apply gives up.
MAX_FAILED_ROUNDS = 12
TRACKING_SAVE_INTERVAL = 2.0


class EventKind(StrEnum):
    TEMPLATE = "template"
    SUBMITTED = "submitted"
    STATUS = "status"
    FINISHED = "finished"
    FAILED = "failed"
    DOWNLOADED = "downloaded"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened during an apply, for the progress display."""

    kind: EventKind
    name: str = ""
    status: str = ""
    progress: float | None = None
    message: str = ""
    output_url: str | None = None
    path: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateTarget:
    name: str
    path: Path
    kind: str
    display_name: str
    digest: str


@dataclass(frozen=True, slots=True)
class JobTarget:
    """A job ready to submit: ``payload`` still names templates (see ``nexspec.jobs.bind``)."""

    name: str
    template: str
    payload: JsonObject
    fingerprint: str
    inputs: Mapping[str, JsonValue]


@dataclass(frozen=True, slots=True)
class Target:
    templates: Mapping[str, TemplateTarget]
    jobs: Mapping[str, JobTarget]
    file_url: Callable[[str], str] | None = None


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    parallelism: int = 8
    batch_threshold: int = 16
    wait: bool = True
    timeout: float | None = None
    download: Callable[[str, str], str | None] | None = None  # (job name, url) -> saved path
    poll: PollPolicy = field(default_factory=PollPolicy)
    template_poll: PollPolicy = field(default_factory=lambda: PollPolicy(initial=0.25, maximum=2.0))


@dataclass(frozen=True, slots=True)
class Failure:
    name: str
    error: str
    hint: str = ""


@dataclass(frozen=True, slots=True)
class ApplyResult:
    lock: Lock
    finished: tuple[str, ...] = ()
    failed: tuple[Failure, ...] = ()
    running: tuple[str, ...] = ()
    submitted: int = 0
    uploaded: int = 0
    timed_out: bool = False
    waited: bool = True

    @property
    def ok(self) -> bool:
        """No job failed, and (unless ``--no-wait`` asked not to wait) every job finished."""
        return not self.failed and (not self.running or not self.waited)


@dataclass
class _State:
    lock: Lock
    backend: BackendLock
    failures: dict[str, Failure] = field(default_factory=dict)
    submitted: int = 0
    uploaded: int = 0


class Applier:
    """Carries out one plan against one backend, recording every step in the lock."""

    def __init__(
        self,
        plan: Plan,
        target: Target,
        client: ApiClient,
        *,
        lock: Lock,
        lock_path: Path,
        work_dir: Path,
        project_root: Path,
        options: ApplyOptions = ApplyOptions(),
        emit: Callable[[Event], None] = lambda event: None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        instance: str = "",
    ) -> None:
        self.plan = plan
        self.target = target
        self.client = client
        self.lock_path = lock_path
        self.work_dir = work_dir
        self.project_root = project_root
        self.options = options
        self.emit = emit
        self.sleep = sleep
        self.clock = clock
        self.state = _State(lock, _section(lock.backend(plan.backend), instance))
        self.urls: dict[str, str] = {}
        self.failed_rounds = 0
        self.saved_at = float("-inf")
        self.rounds = 0
        self.mutex = threading.Lock()

    # -- bookkeeping ---------------------------------------------------------------------

    def _save(self) -> None:
        self.saved_at = self.clock()
        self.state.lock = self.state.lock.with_backend(self.plan.backend, self.state.backend)
        write_lock(self.lock_path, self.state.lock)

    def _set_job(self, name: str, entry: JobEntry) -> None:
        self.state.backend = self.state.backend.with_job(name, entry)

    def _fail(self, name: str, error: str) -> None:
        self.state.failures[name] = Failure(name, error, hint_for(error))
        self.emit(Event(EventKind.FAILED, name, message=error))

    # -- the run -------------------------------------------------------------------------

    def run(self) -> ApplyResult:
        started = self.clock()
        try:
            self._ensure_project_tag()
            failed_templates = self._templates()
            self._prune()
            self._forget_removed()
            self._submit_all(failed_templates)
            timed_out = False
            if self.options.wait:
                timeout = self.options.timeout
                deadline = started + timeout if timeout is not None else None
                timed_out = not self._track(deadline)
                self._save()
        except KeyboardInterrupt:
            self._save()
            raise Interrupted(
                f"interrupted; {self.state.submitted} job(s) submitted this run are recorded in "
                f"{self.lock_path.name}; run `nexspec apply` again to resume (nothing is submitted twice)"
            ) from None
        return self._result(timed_out)

    def _ensure_project_tag(self) -> None:
        if not self.state.backend.project_tag:
            tag = "nxs-p-" + uuid.uuid4().hex[:16]
            self.state.backend = replace(self.state.backend, project_tag=tag)
            self._save()

    # -- templates -----------------------------------------------------------------------

    def _templates(self) -> set[str]:
        """Upload every changed template in parallel; returns the names that failed."""
        changes = [t for t in self.plan.templates if t.action in UPLOADING_ACTIONS]
        failed: set[str] = set()
        if not changes:
            return failed
        with ThreadPoolExecutor(max_workers=min(self.options.parallelism, len(changes))) as pool:
            futures = {pool.submit(self._prepare_template, change): change for change in changes}
            with _cancelled_on_interrupt(futures):
                for future in as_completed(futures):
                    change = futures[future]
                    try:
                        entry = future.result()
                    except ApiError as exc:
                        failed.add(change.name)
                        self._template_failed(change, str(exc))
                        continue
                    self._record_template(change.name, entry)
                    if entry.status != "uploaded":
                        failed.add(change.name)
                        self._template_failed(change, entry.error or f"ended {entry.status}")
        return failed

    def _template_failed(self, change: TemplateChange, message: str) -> None:
        self.emit(Event(EventKind.TEMPLATE, change.name, status="error", message=message))
        for job in self.plan.jobs:
            if job.template == change.name and job.action in SUBMITTING_ACTIONS:
                self._fail(job.name, f"template '{change.name}' was not uploaded: {message}")

    def _prepare_template(self, change: TemplateChange) -> TemplateEntry:
        spec = self.target.templates[change.name]
        packed = pack_template(spec.path, project_root=self.project_root, work_dir=self.work_dir)
        if packed.digest.value != change.digest:
            raise StalePlanError(
                f"template '{change.name}' changed since the plan was made; run `nexspec plan` again"
            )
        self.emit(
            Event(
                EventKind.TEMPLATE,
                change.name,
                status="uploading",
                message=f"{packed.digest.size:,} bytes",
            )
        )
        template_id, upload = self._upload_slot(change, spec)
        self.client.upload(upload, packed.upload_file)
        self.emit(Event(EventKind.TEMPLATE, change.name, status="processing"))
        return self._await_template(template_id, spec)

    def _record_template(self, name: str, entry: TemplateEntry) -> None:
        # Templates are prepared in parallel threads: one update and write of the lock at a time.
        with self.mutex:
            self.state.backend = self.state.backend.with_template(name, entry)
            self._save()

    def _upload_slot(self, change: TemplateChange, spec: TemplateTarget) -> tuple[str, UploadInfo]:
        if change.action is TemplateAction.UPLOAD and change.remote_id:
            return change.remote_id, self.client.fresh_upload(change.remote_id)
        created = self.client.create_template(spec.kind, spec.display_name)
        # Recorded at once, so that an apply stopped before the upload ends uploads to this
        # template next time instead of creating another.
        self._record_template(
            change.name, TemplateEntry(spec.digest, created.id, spec.kind, "awaiting_upload")
        )
        upload = created.upload or self.client.fresh_upload(created.id)
        return created.id, upload

    def _await_template(self, template_id: str, spec: TemplateTarget) -> TemplateEntry:
        deadline = self.clock() + TEMPLATE_POLL_TIMEOUT
        interval = self.options.template_poll.initial
        while True:
            remote = self.client.get_template(template_id)
            status = remote.status if remote else "missing"
            if status in {"uploaded", "error", "missing"} or self.clock() > deadline:
                error = (remote.error if remote else None) or (
                    None if status == "uploaded" else f"status {status}"
                )
                uploaded_at = now_iso() if status == "uploaded" else None
                self.state.uploaded += status == "uploaded"
                self.emit(Event(EventKind.TEMPLATE, spec.name, status=status, message=error or ""))
                return TemplateEntry(spec.digest, template_id, spec.kind, status, uploaded_at, error)
            interval = self.options.template_poll.next(interval, changed=False)
            self.sleep(interval)

    def _prune(self) -> None:
        if not self.plan.prune:
            return
        orphans = [t for t in self.plan.templates if t.action is TemplateAction.ORPHANED]
        for orphan in orphans:
            if orphan.remote_id:
                self.client.delete_template(orphan.remote_id)
            self.state.backend = self.state.backend.without_templates({orphan.name})
            self.emit(Event(EventKind.TEMPLATE, orphan.name, status="deleted"))
            self._save()

    def _forget_removed(self) -> None:
        removed = {j.name for j in self.plan.jobs if j.action is JobAction.REMOVED}
        if removed:
            self.state.backend = self.state.backend.without_jobs(removed)
            self._save()

    # -- submission ----------------------------------------------------------------------

    def _submit_all(self, failed_templates: set[str]) -> None:
        self._reconcile_interrupted()
        changes = [
            j
            for j in self.plan.jobs
            if j.action in SUBMITTING_ACTIONS
            and j.template not in failed_templates
            and j.name not in self.state.failures
        ]
        if not changes:
            return
        intents = [self._intent(change) for change in changes]
        if len(intents) > self.options.batch_threshold:
            for start in range(0, len(intents), MAX_BATCH_JOBS):
                self._submit_batch(intents[start : start + MAX_BATCH_JOBS])
        else:
            self._submit_each(intents)

    def _intent(self, change: JobChange) -> tuple[str, JobEntry, JsonObject]:
        job = self.target.jobs[change.name]
        previous = self.state.backend.jobs.get(change.name)
        attempt = previous.attempt + 1 if previous else 1
        tag = idempotency_tag(job.fingerprint, attempt)
        entry = JobEntry(job.fingerprint, job.template, JobStatus.SUBMITTING, tag, attempt, inputs=job.inputs)
        return change.name, entry, self._payload(job, tag)

    def _payload(self, job: JobTarget, tag: str) -> JsonObject:
        ids = {name: entry.id for name, entry in self.state.backend.templates.items()}
        payload = bind(job.payload, ids, self.target.file_url)
        existing = payload.get("tags")
        tags = [t for t in existing if isinstance(t, str)] if isinstance(existing, list) else []
        payload["tags"] = [*tags, self.state.backend.project_tag, tag]
        return payload

    def _record_intents(self, intents: Sequence[tuple[str, JobEntry, JsonObject]]) -> None:
        for name, entry, _ in intents:
            self._set_job(name, entry)
        self._save()

    def _submit_batch(self, intents: Sequence[tuple[str, JobEntry, JsonObject]]) -> None:
        pending = list(intents)
        for _ in range(MAX_RESUBMISSIONS):
            self._record_intents(pending)
            try:
                items = self.client.create_batch([payload for _, _, payload in pending])
            except ApiError as exc:
                if not exc.outcome_unknown:
                    for name, entry, _ in pending:
                        self._rejected(name, entry, str(exc))
                    self._save()
                    return
                pending = self._look_up(pending)
                if not pending:
                    return
                continue
            for (name, entry, _), item in zip(pending, items, strict=True):
                self._batch_item(name, entry, item)
            self._save()
            return
        self._give_up(pending)

    def _batch_item(self, name: str, entry: JobEntry, item: BatchItem) -> None:
        if item.job is None:
            self._rejected(name, entry, item.error or "rejected by the backend")
        else:
            self._accepted(name, entry, item.job)

    def _submit_each(self, intents: Sequence[tuple[str, JobEntry, JsonObject]]) -> None:
        pending = list(intents)
        for _ in range(MAX_RESUBMISSIONS):
            self._record_intents(pending)
            unknown: list[tuple[str, JobEntry, JsonObject]] = []
            with ThreadPoolExecutor(max_workers=self.options.parallelism) as pool:
                futures: dict[Future[CreatedJob], tuple[str, JobEntry, JsonObject]] = {
                    pool.submit(self.client.create_job, payload): (name, entry, payload)
                    for name, entry, payload in pending
                }
                with _cancelled_on_interrupt(futures):
                    for future in as_completed(futures):
                        name, entry, payload = futures[future]
                        try:
                            self._accepted(name, entry, future.result())
                        except ApiError as exc:
                            if exc.outcome_unknown:
                                unknown.append((name, entry, payload))
                            else:
                                self._rejected(name, entry, str(exc))
                        self._save()
            if not unknown:
                return
            pending = self._look_up(unknown)
            if not pending:
                return
        self._give_up(pending)

    def _accepted(self, name: str, entry: JobEntry, created: CreatedJob) -> None:
        self._submitted(name, entry, created.id, created.status, created.output_url, now_iso(), created.id)
        if created.missing_fonts:
            fonts = ", ".join(created.missing_fonts)
            self.emit(Event(EventKind.NOTE, name, message=f"missing fonts: {fonts}"))

    def _submitted(
        self, name: str, entry: JobEntry, job_id: str, status: str, url: str | None, at: str, note: str
    ) -> None:
        """Record a job the backend holds, whether this run created it or found it by its tag."""
        self._set_job(
            name,
            replace(entry, id=job_id, status=job_status(status), output_url=public_url(url), submitted_at=at),
        )
        self.state.submitted += 1
        self._remember_url(name, url)
        self.emit(Event(EventKind.SUBMITTED, name, status=status, message=note))

    def _rejected(self, name: str, entry: JobEntry, error: str) -> None:
        self._set_job(name, replace(entry, status=JobStatus.ERROR, error=error))
        self._fail(name, error)

    def _give_up(self, pending: Iterable[tuple[str, JobEntry, JsonObject]]) -> None:
        for name, _, _ in pending:
            self._fail(
                name,
                "the backend did not confirm the submission; run `nexspec apply` again to look it up",
            )
        self._save()

    def _look_up(
        self, unknown: Sequence[tuple[str, JobEntry, JsonObject]]
    ) -> list[tuple[str, JobEntry, JsonObject]]:
        """Adopt submissions that did reach the backend; return those that must be sent again.

        A submission is sent again only after a lookup *succeeded* and found nothing; lookups
        that fail are tried again in later rounds, and one still unanswered is left as an
        intent for the next apply to look up.
        """
        again: list[tuple[str, JobEntry, JsonObject]] = []
        pending = list(unknown)
        for round_ in range(LOOKUP_ROUNDS):
            if round_:
                self.sleep(self.options.poll.initial * 2**round_)
            pending = self._look_up_round(pending, again)
            if not pending:
                return again
        for name, _, _ in pending:
            self._fail(
                name,
                "could not confirm whether the submission reached the backend; "
                "run `nexspec apply` again to look it up",
            )
        return again

    def _look_up_round(
        self,
        pending: Sequence[tuple[str, JobEntry, JsonObject]],
        again: list[tuple[str, JobEntry, JsonObject]],
    ) -> list[tuple[str, JobEntry, JsonObject]]:
        with ThreadPoolExecutor(max_workers=self.options.parallelism) as pool:
            found = list(pool.map(lambda item: self._find_or_none(item[1].tag), pending))
        unanswered = []
        for item, candidates in zip(pending, found, strict=True):
            name, entry, _ = item
            remote = None if candidates is None else self._unclaimed(name, candidates)
            if candidates is None:
                unanswered.append(item)
            elif remote is None:
                again.append(item)
            else:
                self._adopt(name, entry, remote)
        self._save()
        return unanswered

    def _find_or_none(self, tag: str) -> list[RemoteJob] | None:
        try:
            return self._find(tag)
        except ApiError as exc:
            self.emit(Event(EventKind.NOTE, message=f"lookup by tag failed, will try again: {exc}"))
            return None

    def _find(self, tag: str) -> list[RemoteJob]:
        """Jobs carrying ``tag`` that belong to this project, newest first.

        The tag comes from the job's content, so another project rendering the same job
        carries it too: when the backend reports tags, only this project's jobs will do.
        """
        project = self.state.backend.project_tag
        matches = self.client.list_jobs(tags=tag, limit=100, sort="newest_first")
        return [job for job in matches if not job.tags or project in job.tags]

    def _unclaimed(self, name: str, candidates: Sequence[RemoteJob]) -> RemoteJob | None:
        """The first candidate no other job of the lock has adopted (two jobs of the project
        may have the same content, hence the same tag)."""
        claimed = {entry.id for other, entry in self.state.backend.jobs.items() if other != name and entry.id}
        return next((job for job in candidates if job.id not in claimed), None)

    def _adopt(self, name: str, entry: JobEntry, remote: RemoteJob) -> None:
        at = remote.created_at or now_iso()
        note = f"{remote.id} (found by its tag)"
        self._submitted(name, entry, remote.id, remote.status, remote.output_url, at, note)

    def _reconcile_interrupted(self) -> None:
        """Jobs a killed apply meant to submit: adopt them if they exist, else leave them to submit."""
        interrupted: list[tuple[str, JobEntry, JsonObject]] = [
            (name, entry, {})
            for name, entry in self.state.backend.jobs.items()
            if entry.status is JobStatus.SUBMITTING and _action(self.plan, name) is JobAction.TRACK
        ]
        if not interrupted:
            return
        self.emit(
            Event(
                EventKind.NOTE,
                message=f"looking up {len(interrupted)} interrupted submission(s) by tag",
            )
        )
        for name, entry, _ in self._look_up(interrupted):
            # It never reached the backend: submit it now, under the same intent.
            self._resubmit_lost(name, entry)

    def _resubmit_lost(self, name: str, entry: JobEntry) -> None:
        job = self.target.jobs.get(name)
        if job is None or job.fingerprint != entry.fingerprint:
            return
        self._submit_each([(name, entry, self._payload(job, entry.tag))])

    # -- tracking ------------------------------------------------------------------------

    def _tracked(self) -> list[Tracked]:
        names = {
            j.name for j in self.plan.jobs if j.action in SUBMITTING_ACTIONS or j.action is JobAction.TRACK
        }
        return [
            Tracked(name, entry.id, entry.submitted_at)
            for name, entry in self.state.backend.jobs.items()
            if name in names and entry.id and entry.status not in TERMINAL
        ]

    def _track(self, deadline: float | None) -> bool:
        self._download_finished_now()
        return wait_rounds(
            self._round,
            done=lambda: not self._tracked(),
            policy=self.options.poll,
            deadline=deadline,
            sleep=self.sleep,
            clock=self.clock,
        )

    def _round(self) -> bool:
        tracked = self._tracked()
        self.rounds += 1
        try:
            seen = poll_round(
                self.client,
                self.state.backend.project_tag,
                tracked,
                budget=round_budget(len(tracked)),
                turn=self.rounds,
            )
        except ApiError as exc:
            # A failed round changes nothing: wait longer and ask again, a bounded number of times.
            self.failed_rounds += 1
            if self.failed_rounds > MAX_FAILED_ROUNDS:
                raise
            self.emit(Event(EventKind.NOTE, message=f"tracking request failed, will try again: {exc}"))
            return False
        self.failed_rounds = 0
        changed = False
        ended = False
        for job in tracked:
            if job.id not in seen:
                continue  # not looked at this round: the budget was spent
            remote = seen[job.id]
            self._remember_url(job.name, remote.output_url if remote else None)
            entry = self.state.backend.jobs[job.name]
            update = self._observe(job.name, entry, remote)
            if update is not None:
                changed = True
                ended = ended or update.status in TERMINAL
                self._set_job(job.name, update)
        # Ids are recorded at submission; what a round learns (a job ended) can be learnt again,
        # so the lock is rewritten at most every few seconds while tracking, and at the end.
        if ended and self.clock() - self.saved_at >= TRACKING_SAVE_INTERVAL:
            self._save()
        return changed

    def _observe(self, name: str, entry: JobEntry, remote: RemoteJob | None) -> JobEntry | None:
        """The updated entry when something real changed; progress alone is only shown."""
        update = observed(entry, remote)
        if update.status not in TERMINAL:
            if remote is not None and (update.status != entry.status or remote.progress):
                self.emit(Event(EventKind.STATUS, name, status=remote.status, progress=remote.progress))
            return update if update.status != entry.status else None
        self._ended(name, update)
        return update

    def _ended(self, name: str, entry: JobEntry) -> None:
        if entry.status is JobStatus.FINISHED:
            self.emit(
                Event(
                    EventKind.FINISHED,
                    name,
                    status="finished",
                    output_url=entry.output_url,
                    progress=100.0,
                )
            )
            self._download(name, entry)
        else:
            self._fail(name, entry.error or f"ended {entry.status.value}")

    def _download_finished_now(self) -> None:
        """Outputs of jobs already finished before this run (e.g. a job only tracked)."""
        for change in self.plan.jobs:
            entry = self.state.backend.jobs.get(change.name)
            if (
                entry is not None
                and entry.status is JobStatus.FINISHED
                and change.action is not JobAction.REMOVED
            ):
                self._download(change.name, entry)

    def _remember_url(self, name: str, url: str | None) -> None:
        # Output URLs may be presigned: the full one is kept in memory only, for downloads.
        if url:
            self.urls[name] = url

    def _download(self, name: str, entry: JobEntry) -> None:
        if self.options.download is None or entry.id is None:
            return
        try:
            url = self.urls.get(name) or self._fresh_url(entry.id)
            saved = self.options.download(name, url) if url else None
        except (ApiError, OSError) as exc:
            self.emit(Event(EventKind.NOTE, name, message=f"download failed: {exc}"))
            return
        if saved is not None:
            self.emit(Event(EventKind.DOWNLOADED, name, path=saved))

    def _fresh_url(self, job_id: str) -> str | None:
        remote = self.client.get_job(job_id)
        return remote.output_url if remote else None

    def _result(self, timed_out: bool) -> ApplyResult:
        names = [j.name for j in self.plan.jobs if j.action is not JobAction.REMOVED]
        jobs = self.state.backend.jobs
        finished = tuple(n for n in names if n in jobs and jobs[n].status is JobStatus.FINISHED)
        failed = tuple(
            self.state.failures[n] for n in names if n in self.state.failures and n not in finished
        )
        running = tuple(
            n for n in names if n in jobs and jobs[n].status not in TERMINAL and n not in self.state.failures
        )
        return ApplyResult(
            self.state.lock,
            finished,
            failed,
            running,
            self.state.submitted,
            self.state.uploaded,
            timed_out,
            waited=self.options.wait,
        )


@contextmanager
def _cancelled_on_interrupt(futures: Iterable[Future[Any]]) -> Iterator[None]:
    """On Ctrl-C, what has not started yet never starts: requests already sent finish, and
    their intents, recorded beforehand, let the next apply look them up."""
    try:
        yield
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()
        raise


def _section(backend: BackendLock, instance: str) -> BackendLock:
    """The lock section to build on: a local section from another data dir starts over."""
    if not instance or backend.instance == instance:
        return backend
    if backend.templates or backend.jobs:
        return BackendLock(instance=instance)
    return replace(backend, instance=instance)


def _action(plan: Plan, name: str) -> JobAction | None:
    change = plan.job(name)
    return change.action if change is not None else None


def hint_for(error: str) -> str:
    """What to do about a job error, from the Cloud's own wording."""
    lowered = error.lower()
    if "layer" in lowered and "not found" in lowered:
        return "run `nexspec inspect` on the template to see its layer names (they are case-sensitive)"
    if "composition" in lowered and "not found" in lowered:
        return "run `nexspec inspect` on the template to see its compositions"
    if "font" in lowered:
        return "upload the font to the team's font library and list it under fonts:"
    if "download" in lowered or "fetch" in lowered:
        return "check that the asset URL is reachable from the render farm"
    return ""


def raise_for(result: ApplyResult) -> None:
    """``JobsFailed`` when not every job finished (exit code 1)."""
    if result.ok:
        return
    parts = []
    if result.failed:
        parts.append(f"{len(result.failed)} job(s) failed")
    if result.running and result.waited:
        still = "still running (tracked; run `nexspec apply` or `nexspec status` later)"
        parts.append(f"{len(result.running)} job(s) {still}")
    raise JobsFailed("; ".join(parts))
