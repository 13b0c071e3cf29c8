"""The Applier against a real local backend in this process (one-frame renders): every plan
action carried out, the lock after each step, failures in the server's words, the request
budget of tracking, downloads, pruning, interruptions and lost responses.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from server.lottie_docs import lottie, lottie_bytes

from nexspec.apply import Applier, ApplyOptions, ApplyResult, Event, EventKind
from nexspec.backend import BackendChoice
from nexspec.client import ApiClient, CreatedJob, UploadInfo
from nexspec.commands.plan import PlannedProject, plan_project
from nexspec.commands.status import refresh_status
from nexspec.errors import ApiUnreachable, Interrupted, StalePlanError
from nexspec.lock import BackendLock, JobStatus, dumps
from nexspec.lockfile import read_lock
from nexspec.pack import pack_template
from nexspec.payload import JsonObject
from nexspec.plan import JobAction, Selection, TemplateAction
from nexspec.server.embedded import EmbeddedServer
from nexspec.tracking import PollPolicy, round_budget

Counts = Callable[[EmbeddedServer], dict[str, int]]
FAST = ApplyOptions(
    poll=PollPolicy(initial=0.05, maximum=0.2), template_poll=PollPolicy(initial=0.02, maximum=0.1)
)
LISTING = "GET /api/v2/jobs"
SINGLE = "GET /api/v2/jobs/{id}"
POST_JOB = "POST /api/v2/jobs"
POST_BATCH = "POST /api/v2/batches"


def spec(jobs: dict[str, str], *, template: str = "promo") -> str:
    """A project of one Lottie template and one job per (name, title)."""
    lines = ["version: 1", "templates:", f"  {template}: {{path: promo.json, composition: main}}", "jobs:"]
    for name, title in jobs.items():
        lines += [
            f"  {name}:",
            f"    template: {template}",
            "    assets:",
            f"      - {{type: text, layerName: title, value: {json.dumps(title)}}}",
        ]
    return "\n".join(lines) + "\n"


@dataclass
class Workspace:
    """A project in ``tmp_path`` planned and applied against the shared local backend."""

    root: Path
    server: EmbeddedServer
    client: ApiClient
    counts: Counts

    @property
    def choice(self) -> BackendChoice:
        return BackendChoice("cloud", self.server.base_url, self.server.base_url)

    @property
    def lock_path(self) -> Path:
        return self.root / "nexspec.lock"

    def write(self, text: str, template: bytes | None = None) -> None:
        (self.root / "nexspec.yaml").write_text(text, encoding="utf-8")
        if template is not None:
            (self.root / "promo.json").write_bytes(template)

    def plan(self, **kwargs: Any) -> PlannedProject:
        return plan_project(self.root, self.choice, environ={}, **kwargs)

    def applier(
        self,
        planned: PlannedProject | None = None,
        *,
        client: ApiClient | None = None,
        options: ApplyOptions = FAST,
        events: list[Event] | None = None,
        emit: Callable[[Event], None] | None = None,
        **kwargs: Any,
    ) -> Applier:
        planned = planned or self.plan()
        sink = events if events is not None else []
        return Applier(
            planned.plan,
            replace(planned.state.target, file_url=lambda rel: (self.root / rel).resolve().as_uri()),
            client or self.client,
            lock=planned.lock,
            lock_path=planned.lock_path,
            work_dir=self.root / ".nexspec" / "packs",
            project_root=self.root,
            options=options,
            emit=emit or sink.append,
            **kwargs,
        )

    def apply(self, planned: PlannedProject | None = None, **kwargs: Any) -> ApplyResult:
        return self.applier(planned, **kwargs).run()

    def lock(self) -> BackendLock:
        lock, _ = read_lock(self.lock_path)
        return lock.backend(self.choice.key)

    def project_jobs(self) -> list[dict[str, Any]]:
        """Every job of this project on the backend, as the API lists it."""
        response = httpx.get(
            self.server.base_url + "/jobs",
            params={"tags": self.lock().project_tag, "limit": 1000},
            headers={"Authorization": f"Bearer {self.server.token}"},
        )
        jobs: list[dict[str, Any]] = response.json()
        return jobs


@pytest.fixture
def workspace(local_server: EmbeddedServer, tmp_path: Path, request_counts: Counts) -> Iterator[Workspace]:
    root = tmp_path / "project"
    root.mkdir()
    with ApiClient.connect(local_server.base_url, local_server.token) as client:
        space = Workspace(root, local_server, client, request_counts)
        space.write(spec({"launch": "New season", "sale": "Summer sale"}), lottie_bytes())
        yield space


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Requests made between two readings of the metrics (the metrics route left out)."""
    counts = {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)}
    return {k: v for k, v in sorted(counts.items()) if v and not k.startswith("GET /_nexspec")}


def actions(planned: PlannedProject) -> dict[str, str]:
    return {
        **{f"template {t.name}": t.action.value for t in planned.plan.templates},
        **{j.name: j.action.value for j in planned.plan.jobs},
    }


# --- every action of a plan, carried out ------------------------------------------------------


def test_create_and_render_then_nothing_to_do(workspace: Workspace) -> None:
    planned = workspace.plan()
    assert actions(planned) == {"template promo": "create", "launch": "render", "sale": "render"}
    before = workspace.counts(workspace.server)
    result = workspace.apply(planned)
    made = changed(before, workspace.counts(workspace.server))

    assert (result.ok, result.finished, result.failed, result.submitted, result.uploaded) == (
        True,
        ("launch", "sale"),
        (),
        2,
        1,
    )
    assert made["POST /api/v2/templates"] == 1
    assert made["PUT /_storage/{key:path}"] == 1
    assert made[POST_JOB] == 2
    lock = workspace.lock()
    assert lock == result.lock.backend(workspace.choice.key)
    template = lock.templates["promo"]
    assert (template.status, template.type, template.digest) == (
        "uploaded",
        "lottie",
        planned.plan.templates[0].digest,
    )
    for name in ("launch", "sale"):
        entry = lock.jobs[name]
        assert (entry.status, entry.attempt, entry.error) == (JobStatus.FINISHED, 1, None)
        assert entry.id and entry.submitted_at and entry.finished_at
        assert entry.output_url == f"{workspace.server.root_url}/_storage/outputs/{entry.id}.mp4"
    assert workspace.lock_path.read_text(encoding="utf-8") == dumps(result.lock)

    again = workspace.plan()
    assert again.plan.has_changes is False
    assert set(actions(again).values()) == {"unchanged"}


def test_a_changed_text_re_renders_exactly_that_job(workspace: Workspace) -> None:
    workspace.apply()
    first = workspace.lock()
    workspace.write(spec({"launch": "New season", "sale": "Winter sale"}))
    planned = workspace.plan()
    assert actions(planned) == {"template promo": "unchanged", "launch": "unchanged", "sale": "re-render"}
    sale = planned.plan.job("sale")
    assert sale is not None and sale.reason == "changed: assets[title].value"
    assert [(c.field, c.old, c.new) for c in sale.changes] == [
        ("assets[title].value", "Summer sale", "Winter sale")
    ]

    before = workspace.counts(workspace.server)
    result = workspace.apply(planned)
    made = changed(before, workspace.counts(workspace.server))
    assert result.ok and result.submitted == 1 and result.uploaded == 0
    assert made[POST_JOB] == 1
    assert "POST /api/v2/templates" not in made and "PUT /_storage/{key:path}" not in made
    lock = workspace.lock()
    assert lock.jobs["launch"] == first.jobs["launch"]
    assert lock.jobs["sale"].id != first.jobs["sale"].id
    assert lock.jobs["sale"].attempt == 2
    assert lock.jobs["sale"].tag.endswith("-2")
    assert lock.jobs["sale"].inputs["assets[title].value"] == "Winter sale"


def test_new_template_content_is_uploaded_to_the_same_template_and_re_renders_its_jobs(
    workspace: Workspace,
) -> None:
    workspace.apply()
    template_id = workspace.lock().templates["promo"].id
    workspace.write(spec({"launch": "New season", "sale": "Summer sale"}), lottie_bytes(width=336))
    planned = workspace.plan()
    assert actions(planned) == {"template promo": "upload", "launch": "re-render", "sale": "re-render"}
    assert {j.reason for j in planned.plan.jobs} == {"template content changed"}

    before = workspace.counts(workspace.server)
    result = workspace.apply(planned)
    made = changed(before, workspace.counts(workspace.server))
    assert result.ok and result.uploaded == 1 and result.submitted == 2
    assert made["PUT /api/v2/templates/{id}/upload"] == 1
    assert "POST /api/v2/templates" not in made
    lock = workspace.lock()
    assert lock.templates["promo"].id == template_id
    assert lock.templates["promo"].digest == planned.plan.templates[0].digest


def test_removed_jobs_leave_the_lock_and_orphans_are_deleted_only_with_prune(workspace: Workspace) -> None:
    workspace.apply()
    template_id = workspace.lock().templates["promo"].id
    workspace.write(spec({"launch": "New season"}, template="card"))
    planned = workspace.plan()
    # Content, not names, decides what renders: the same file under a new name renders nothing.
    assert actions(planned) == {
        "template card": "create",
        "template promo": "orphaned",
        "launch": "unchanged",
        "sale": "removed",
    }

    result = workspace.apply(planned)
    assert result.ok
    lock = workspace.lock()
    assert set(lock.jobs) == {"launch"}
    assert set(lock.templates) == {"card", "promo"}
    assert workspace.client.get_template(template_id) is not None

    pruning = workspace.plan(prune=True)
    assert actions(pruning) == {
        "template card": "unchanged",
        "template promo": "orphaned",
        "launch": "unchanged",
    }
    assert pruning.plan.has_changes
    before = workspace.counts(workspace.server)
    workspace.apply(pruning)
    assert changed(before, workspace.counts(workspace.server)) == {"DELETE /api/v2/templates/{id}": 1}
    assert set(workspace.lock().templates) == {"card"}
    assert workspace.client.get_template(template_id) is None


def test_the_lock_is_written_after_each_step_and_every_intent_before_its_creation(
    workspace: Workspace,
) -> None:
    seen: list[tuple[str, str, BackendLock]] = []
    path_of_lock, key = workspace.lock_path, workspace.choice.key

    class Recording(ApiClient):
        def upload(self, info: UploadInfo, path: Path) -> None:
            lock, _ = read_lock(path_of_lock)
            seen.append(("upload", "promo", lock.backend(key)))
            super().upload(info, path)

        def create_job(self, payload: JsonObject) -> CreatedJob:
            lock, _ = read_lock(path_of_lock)  # validated on read
            tags = payload["tags"]
            assert isinstance(tags, list)
            seen.append(("create_job", str(tags[-1]), lock.backend(key)))
            return super().create_job(payload)

    def on_event(event: Event) -> None:
        lock, _ = read_lock(path_of_lock)  # every state the lock passes through is a valid lock
        seen.append((event.kind.value, event.name, lock.backend(key)))

    client = Recording.connect(workspace.server.base_url, workspace.server.token)
    with client:
        result = workspace.apply(client=client, emit=on_event)
    assert result.ok

    # The template created is in the lock before its file is sent, so a stopped apply resumes it.
    uploads = [lock for kind, _, lock in seen if kind == "upload"]
    assert len(uploads) == 1
    template = uploads[0].templates["promo"]
    assert (template.id, template.status) == (workspace.lock().templates["promo"].id, "awaiting_upload")

    creations = [(tag, lock) for kind, tag, lock in seen if kind == "create_job"]
    assert len(creations) == 2
    for tag, lock in creations:
        intent = next(entry for entry in lock.jobs.values() if entry.tag == tag)
        assert (intent.status, intent.id) == (JobStatus.SUBMITTING, None)
        assert lock.templates["promo"].status == "uploaded"  # saved before any job is sent
        assert lock.project_tag
    submitted = [lock for kind, _, lock in seen if kind == "submitted"]
    assert submitted and all("promo" in lock.templates for lock in submitted)


def test_an_upload_that_did_not_complete_is_resumed_on_the_same_template(workspace: Workspace) -> None:
    class Unreachable(ApiClient):
        def upload(self, info: UploadInfo, path: Path) -> None:
            raise ApiUnreachable("upload to storage failed: connection refused or host unreachable")

    with Unreachable.connect(workspace.server.base_url, workspace.server.token) as client:
        result = workspace.apply(client=client)
    reason = (
        "template 'promo' was not uploaded: upload to storage failed: connection refused or host unreachable"
    )
    assert [(f.name, f.error) for f in result.failed] == [("launch", reason), ("sale", reason)]
    created = workspace.lock().templates["promo"]
    assert created.status == "awaiting_upload"

    planned = workspace.plan()
    template = planned.plan.templates[0]
    assert (template.action, template.remote_id, template.reason) == (
        TemplateAction.UPLOAD,
        created.id,
        "last upload did not complete (status awaiting_upload)",
    )
    before = workspace.counts(workspace.server)
    assert workspace.apply(planned).ok
    made = changed(before, workspace.counts(workspace.server))
    assert "POST /api/v2/templates" not in made and made["PUT /api/v2/templates/{id}/upload"] == 1
    assert workspace.lock().templates["promo"].id == created.id


# --- failures in the server's words -------------------------------------------------------------


def test_a_template_the_backend_cannot_process_fails_its_jobs_with_the_servers_message(
    workspace: Workspace,
) -> None:
    planned = workspace.plan()
    # Not a Bodymovin export: only the server's processing can tell (the plan is made first).
    broken = {"v": "5.7.4", "nm": "main", "layers": "none"}
    (workspace.root / "promo.json").write_text(json.dumps(broken), encoding="utf-8")
    digest = pack_template(
        workspace.root / "promo.json", project_root=workspace.root, work_dir=workspace.root / ".nexspec"
    ).digest.value
    templates = tuple(replace(t, digest=digest) for t in planned.plan.templates)
    target = planned.state.target
    target = replace(target, templates={n: replace(t, digest=digest) for n, t in target.templates.items()})
    planned = replace(
        planned, plan=replace(planned.plan, templates=templates), state=replace(planned.state, target=target)
    )

    before = workspace.counts(workspace.server)
    events: list[Event] = []
    result = workspace.apply(planned, events=events)
    made = changed(before, workspace.counts(workspace.server))

    lock = workspace.lock()
    entry = lock.templates["promo"]
    remote = workspace.client.get_template(entry.id)
    assert remote is not None and remote.status == "error" and remote.error
    assert (entry.status, entry.error) == ("error", remote.error)
    assert [(f.name, f.error) for f in result.failed] == [
        ("launch", f"template 'promo' was not uploaded: {remote.error}"),
        ("sale", f"template 'promo' was not uploaded: {remote.error}"),
    ]
    assert result.ok is False
    assert POST_JOB not in made and POST_BATCH not in made
    assert lock.jobs == {}
    assert (EventKind.TEMPLATE, "promo", "error") in [(e.kind, e.name, e.status) for e in events]

    workspace.write(spec({"launch": "New season", "sale": "Summer sale"}), lottie_bytes())
    retried = workspace.plan()
    assert actions(retried) == {"template promo": "upload", "launch": "render", "sale": "render"}
    assert retried.plan.templates[0].remote_id == entry.id  # the same template, uploaded again
    assert workspace.apply(retried).ok


def test_a_wrong_layer_name_ends_in_error_with_a_hint_and_the_next_plan_retries(workspace: Workspace) -> None:
    planned = workspace.plan()
    target = planned.state.target
    sale = target.jobs["sale"]
    wrong = {**sale.payload, "assets": [{"type": "text", "layerName": "x", "value": "Summer sale"}]}
    target = replace(target, jobs={**target.jobs, "sale": replace(sale, payload=wrong)})
    result = workspace.apply(replace(planned, state=replace(planned.state, target=target)))

    assert result.finished == ("launch",)
    assert [(f.name, f.error, f.hint) for f in result.failed] == [
        (
            "sale",
            "Layer 'x' not found in composition 'main'",
            "run `nexspec inspect` on the template to see its layer names (they are case-sensitive)",
        )
    ]
    entry = workspace.lock().jobs["sale"]
    assert (entry.status, entry.error) == (JobStatus.ERROR, "Layer 'x' not found in composition 'main'")

    retry = workspace.plan()
    assert actions(retry) == {"template promo": "unchanged", "launch": "unchanged", "sale": "retry"}
    change = retry.plan.job("sale")
    assert change is not None
    assert change.reason == "last run ended error: Layer 'x' not found in composition 'main'"
    fixed = workspace.apply(retry)
    assert fixed.ok and fixed.finished == ("launch", "sale")
    assert (workspace.lock().jobs["sale"].attempt, workspace.lock().jobs["sale"].error) == (2, None)


# --- submission ------------------------------------------------------------------------------------


def test_few_jobs_are_parallel_requests_and_many_are_one_batch(workspace: Workspace) -> None:
    titles = {f"city-{i:02d}": f"City {i}" for i in range(17)}
    workspace.write(spec(titles))
    few = workspace.plan(selection=Selection(("city-0[0-2]",)))
    together = threading.Barrier(3, timeout=30)  # broken unless all three are in flight at once

    class Meeting(ApiClient):
        def create_job(self, payload: JsonObject) -> CreatedJob:
            together.wait()
            return super().create_job(payload)

    before = workspace.counts(workspace.server)
    with Meeting.connect(workspace.server.base_url, workspace.server.token) as client:
        workspace.apply(few, client=client, options=replace(FAST, wait=False, parallelism=3))
    assert changed(before, workspace.counts(workspace.server))[POST_JOB] == 3

    workspace.write(spec({f"town-{i:02d}": f"Town {i}" for i in range(17)}))
    many = workspace.plan()
    assert sum(1 for j in many.plan.jobs if j.action is JobAction.RENDER) == 17
    before = workspace.counts(workspace.server)
    result = workspace.apply(many, options=replace(FAST, wait=False))
    made = changed(before, workspace.counts(workspace.server))
    assert made[POST_BATCH] == 1 and POST_JOB not in made
    assert result.submitted == 17
    assert all(workspace.lock().jobs[n].id for n in (f"town-{i:02d}" for i in range(17)))


class LoseFirstResponse(httpx.HTTPTransport):
    """Sends to the real server, then loses the first response to ``METHOD path-suffix``."""

    def __init__(self, method: str, suffix: str) -> None:
        super().__init__()
        self.method, self.suffix, self.lost = method, suffix, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if not self.lost and request.method == self.method and request.url.path.endswith(self.suffix):
            self.lost += 1
            response.read()
            response.close()
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return response


def losing(server: EmbeddedServer, method: str, suffix: str) -> ApiClient:
    http = httpx.Client(
        base_url=server.base_url + "/",
        headers={"Authorization": f"Bearer {server.token}"},
        transport=LoseFirstResponse(method, suffix),
    )
    return ApiClient(http)


@pytest.mark.parametrize(("count", "suffix", "route"), [(17, "/batches", POST_BATCH), (3, "/jobs", POST_JOB)])
def test_a_submission_whose_response_was_lost_is_found_by_its_tag_not_sent_again(
    workspace: Workspace, count: int, suffix: str, route: str
) -> None:
    workspace.write(spec({f"city-{i:02d}": f"City {i}" for i in range(count)}))
    events: list[Event] = []
    before = workspace.counts(workspace.server)
    with losing(workspace.server, "POST", suffix) as client:
        result = workspace.apply(client=client, events=events, options=replace(FAST, wait=False))
    made = changed(before, workspace.counts(workspace.server))

    assert made[route] == (1 if route == POST_BATCH else count)
    assert result.submitted == count and not result.failed
    lock = workspace.lock()
    listed = workspace.project_jobs()
    assert len(listed) == count
    assert {job["id"] for job in listed} == {entry.id for entry in lock.jobs.values()}
    found = [e.name for e in events if e.kind is EventKind.SUBMITTED and "found by its tag" in e.message]
    assert len(found) == (count if route == POST_BATCH else 1)


def test_ctrl_c_stops_submitting_records_and_the_next_apply_resumes_by_tracking(workspace: Workspace) -> None:
    workspace.write(spec({"a-job": "A", "b-job": "B", "c-job": "C"}))
    workspace.apply(workspace.plan(selection=Selection(("a-job",))))
    gate = threading.Event()
    calls: list[str] = []

    class Slow(ApiClient):
        def create_job(self, payload: JsonObject) -> CreatedJob:
            calls.append("create")
            if len(calls) > 1:
                gate.wait(30)  # still in flight when Ctrl-C comes
            return super().create_job(payload)

    def ctrl_c(event: Event) -> None:
        if event.kind is EventKind.SUBMITTED:
            threading.Timer(0.2, gate.set).start()
            raise KeyboardInterrupt

    workspace.write(spec({"a-job": "A", "b-job": "B", "c-job": "C", "d-job": "D"}))
    planned = workspace.plan()
    assert [j.action for j in planned.plan.jobs] == [JobAction.UNCHANGED] + [JobAction.RENDER] * 3
    before = workspace.counts(workspace.server)
    with (
        Slow.connect(workspace.server.base_url, workspace.server.token) as client,
        pytest.raises(Interrupted) as caught,
    ):
        workspace.apply(planned, client=client, emit=ctrl_c, options=replace(FAST, parallelism=1))
    assert caught.value.exit_code == 130
    assert str(caught.value) == (
        "interrupted; 1 job(s) submitted this run are recorded in nexspec.lock; "
        "run `nexspec apply` again to resume (nothing is submitted twice)"
    )
    assert changed(before, workspace.counts(workspace.server))[POST_JOB] == 2  # the third was never sent
    lock = workspace.lock()
    statuses = sorted(lock.jobs[n].status.value for n in ("b-job", "c-job", "d-job"))
    assert statuses == ["queued", "submitting", "submitting"]

    resumed = workspace.plan()
    reasons = {j.name: (j.action.value, j.reason) for j in resumed.plan.jobs}
    assert [reasons[n][0] for n in ("b-job", "c-job", "d-job")] == ["track"] * 3
    assert sum(1 for a, r in reasons.values() if r.startswith("submission was interrupted")) == 2
    before = workspace.counts(workspace.server)
    result = workspace.apply(resumed)
    assert result.ok and result.finished == ("a-job", "b-job", "c-job", "d-job")
    assert changed(before, workspace.counts(workspace.server))[POST_JOB] == 1  # only the one never sent
    assert len(workspace.project_jobs()) == 4


# --- tracking -------------------------------------------------------------------------------------


def test_every_tracking_round_stays_within_its_request_budget(workspace: Workspace) -> None:
    workspace.write(spec({f"city-{i}": f"City {i}" for i in range(6)}))
    readings: list[dict[str, int]] = []

    def sleep(seconds: float) -> None:
        readings.append(workspace.counts(workspace.server))
        threading.Event().wait(seconds)

    readings.append(workspace.counts(workspace.server))
    result = workspace.apply(sleep=sleep)
    readings.append(workspace.counts(workspace.server))
    assert result.ok and len(result.finished) == 6

    per_round = [
        sum(changed(a, b).get(route, 0) for route in (LISTING, SINGLE))
        for a, b in itertools.pairwise(readings)
    ]
    rounds = [n for n in per_round if n]
    assert rounds, "no tracking round was made"
    assert max(rounds) <= round_budget(6)
    assert all(changed(a, b).get(SINGLE, 0) == 0 for a, b in itertools.pairwise(readings))


def test_timeout_leaves_jobs_tracked_and_the_next_apply_tracks_them_to_the_end(workspace: Workspace) -> None:
    workspace.apply()
    workspace.write(spec({"launch": "Next season", "sale": "Last call"}))
    ticks = itertools.chain([0.0], itertools.repeat(1000.0))
    before = workspace.counts(workspace.server)
    result = workspace.apply(options=replace(FAST, timeout=5.0), clock=lambda: next(ticks))
    assert (result.timed_out, result.ok, result.submitted) == (True, False, 2)
    assert set(result.running) == {"launch", "sale"}
    assert {e.status for e in workspace.lock().jobs.values()} <= {JobStatus.QUEUED, JobStatus.RENDERING}

    tracking = workspace.plan()
    assert {j.action for j in tracking.plan.jobs} == {JobAction.TRACK}
    assert tracking.plan.has_changes is False
    finished = workspace.apply(tracking)
    assert finished.ok and finished.submitted == 0
    assert POST_JOB in changed(before, workspace.counts(workspace.server))
    assert changed(before, workspace.counts(workspace.server))[POST_JOB] == 2


def test_no_wait_then_status_refreshes_the_lock(workspace: Workspace) -> None:
    result = workspace.apply(options=replace(FAST, wait=False))
    assert (result.ok, set(result.running), result.finished) == (True, {"launch", "sale"}, ())
    assert {e.status for e in workspace.lock().jobs.values()} == {JobStatus.QUEUED}

    environ = {"NEXRENDER_API_KEY": workspace.server.token}
    for _ in range(600):
        report = refresh_status(workspace.root, workspace.choice, environ=environ)
        if all(e.status is JobStatus.FINISHED for e in report.jobs.values()):
            break
        threading.Event().wait(0.05)
    assert {n: e.status for n, e in report.jobs.items()} == {
        "launch": JobStatus.FINISHED,
        "sale": JobStatus.FINISHED,
    }
    lock = workspace.lock()
    assert lock.jobs == dict(report.jobs)
    assert all(e.render_duration is not None and e.finished_at for e in lock.jobs.values())
    assert refresh_status(workspace.root, workspace.choice, environ=environ).changed == 0


# --- downloads ------------------------------------------------------------------------------------


def test_outputs_are_downloaded_by_job_name_and_skipped_when_the_same_size_is_there(
    workspace: Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "renders"

    def download(name: str, url: str) -> str | None:
        target = folder / f"{name}.mp4"
        return str(target) if workspace.client.download(url, target) else None

    events: list[Event] = []
    options = replace(FAST, download=download)
    assert workspace.apply(options=options, events=events).ok
    saved = sorted((e.name, e.path) for e in events if e.kind is EventKind.DOWNLOADED)
    assert saved == [("launch", str(folder / "launch.mp4")), ("sale", str(folder / "sale.mp4"))]
    inodes = {p.name: p.stat().st_ino for p in folder.iterdir()}
    assert sorted(inodes) == ["launch.mp4", "sale.mp4"]

    again: list[Event] = []
    assert workspace.apply(options=options, events=again).ok
    assert [e for e in again if e.kind is EventKind.DOWNLOADED] == []
    assert {p.name: p.stat().st_ino for p in folder.iterdir()} == inodes

    (folder / "sale.mp4").write_bytes(b"partial")
    third: list[Event] = []
    assert workspace.apply(options=options, events=third).ok
    assert [e.name for e in third if e.kind is EventKind.DOWNLOADED] == ["sale"]
    assert (folder / "sale.mp4").read_bytes()[4:8] == b"ftyp"


def test_a_template_changed_since_the_plan_is_refused(workspace: Workspace) -> None:
    planned = workspace.plan()
    (workspace.root / "promo.json").write_text(json.dumps(lottie(width=352)), encoding="utf-8")
    before = workspace.counts(workspace.server)
    with pytest.raises(StalePlanError) as caught:
        workspace.apply(planned)
    assert str(caught.value) == "template 'promo' changed since the plan was made; run `nexspec plan` again"
    assert changed(before, workspace.counts(workspace.server)) == {}
    assert workspace.lock().jobs == {}
