"""make_plan as a table: (desired, lock, remote) → actions and reasons."""

from __future__ import annotations

import pytest

from nexspec.errors import StalePlanError
from nexspec.lock import BackendLock, JobEntry, JobStatus, TemplateEntry
from nexspec.plan import (
    Desired,
    DesiredJob,
    DesiredTemplate,
    FieldChange,
    JobAction,
    Remote,
    RemoteJob,
    RemoteTemplate,
    Selection,
    TemplateAction,
    diff_inputs,
    make_plan,
    plan_from_json,
    plan_to_json,
)

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
F1 = "sha256:" + "a" * 64
F2 = "sha256:" + "b" * 64


def desired(*jobs: DesiredJob, digest: str = D1) -> Desired:
    return Desired(
        templates={"promo": DesiredTemplate("promo", digest, "lottie", "Promo", "templates/promo.json")},
        jobs={j.name: j for j in jobs},
    )


def job(
    name: str = "teaser", fp: str = F1, title: str = "Summer sale", tags: tuple[str, ...] = ()
) -> DesiredJob:
    return DesiredJob(name, "promo", fp, {"assets[title].value": title, "template.id": D1}, tags)


def entry(
    status: JobStatus = JobStatus.FINISHED, fp: str = F1, title: str = "Summer sale", error: str | None = None
) -> JobEntry:
    return JobEntry(
        fp,
        "promo",
        status,
        "nxs-x-1",
        id="01J00000000000000000000000",
        error=error,
        inputs={"assets[title].value": title, "template.id": D1},
    )


def lock(jobs: dict[str, JobEntry] | None = None, template: TemplateEntry | None = None) -> BackendLock:
    templates = {"promo": template} if template else {"promo": TemplateEntry(D1, "T1", "lottie", "uploaded")}
    return BackendLock("nxs-p-1", templates, jobs or {})


@pytest.mark.parametrize(
    ("lock_entry", "want", "action", "reason"),
    [
        (None, job(), JobAction.RENDER, "new job"),
        (entry(), job(), JobAction.UNCHANGED, ""),
        (entry(title="Spring sale", fp=F2), job(), JobAction.RERENDER, "changed: assets[title].value"),
        (
            entry(JobStatus.ERROR, error="Layer 'x' not found"),
            job(),
            JobAction.RETRY,
            "last run ended error: Layer 'x' not found",
        ),
        (entry(JobStatus.CANCELLED), job(), JobAction.RETRY, "last run ended manually_cancelled"),
        (entry(JobStatus.RENDERING), job(), JobAction.TRACK, "still rendering on the backend"),
        (entry(JobStatus.QUEUED), job(), JobAction.TRACK, "still queued on the backend"),
        (
            entry(JobStatus.SUBMITTING),
            job(),
            JobAction.TRACK,
            "submission was interrupted; apply looks it up before submitting again",
        ),
    ],
)
def test_job_actions(lock_entry: JobEntry | None, want: DesiredJob, action: JobAction, reason: str) -> None:
    plan = make_plan(
        desired(want), lock({"teaser": lock_entry} if lock_entry else {}), backend="local", base_lock="absent"
    )
    change = plan.job("teaser")
    assert change is not None
    assert (change.action, change.reason) == (action, reason)


def test_rerender_says_what_changed_with_old_and_new_values() -> None:
    plan = make_plan(
        desired(job()),
        lock({"teaser": entry(title="Spring sale", fp=F2)}),
        backend="local",
        base_lock="absent",
    )
    change = plan.job("teaser")
    assert change is not None
    assert change.changes == (FieldChange("assets[title].value", "Spring sale", "Summer sale"),)


def test_replace_forces_a_rerender() -> None:
    plan = make_plan(
        desired(job()),
        lock({"teaser": entry()}),
        backend="local",
        base_lock="absent",
        replace=frozenset({"teaser"}),
    )
    change = plan.job("teaser")
    assert change is not None
    assert (change.action, change.reason) == (JobAction.RERENDER, "replacement requested with --replace")


@pytest.mark.parametrize(
    ("template", "digest", "action", "reason"),
    [
        (None, D1, TemplateAction.CREATE, "new template"),
        (TemplateEntry(D1, "T1", "lottie", "uploaded"), D1, TemplateAction.UNCHANGED, ""),
        (
            TemplateEntry(D1, "T1", "lottie", "uploaded"),
            D2,
            TemplateAction.UPLOAD,
            "content changed: 111111111111 → 222222222222",
        ),
        (
            TemplateEntry(D1, "T1", "lottie", "awaiting_upload"),
            D1,
            TemplateAction.UPLOAD,
            "last upload did not complete (status awaiting_upload)",
        ),
    ],
)
def test_template_actions(
    template: TemplateEntry | None, digest: str, action: TemplateAction, reason: str
) -> None:
    backend = BackendLock("", {"promo": template} if template else {}, {})
    plan = make_plan(desired(job(), digest=digest), backend, backend="local", base_lock="absent")
    assert [(t.name, t.action, t.reason) for t in plan.templates] == [("promo", action, reason)]


def test_orphans_and_removed_jobs_are_listed() -> None:
    backend = BackendLock(
        "",
        {
            "promo": TemplateEntry(D1, "T1", "lottie", "uploaded"),
            "old": TemplateEntry(D2, "T2", "aep", "uploaded"),
        },
        {"teaser": entry(), "gone": entry()},
    )
    plan = make_plan(desired(job()), backend, backend="local", base_lock="absent")
    assert [(t.name, t.action) for t in plan.templates] == [
        ("promo", TemplateAction.UNCHANGED),
        ("old", TemplateAction.ORPHANED),
    ]
    gone = plan.job("gone")
    assert gone is not None and gone.action is JobAction.REMOVED
    assert plan.has_changes  # the removed lock entry is a change
    assert not make_plan(
        desired(job()), lock({"teaser": entry()}), backend="local", base_lock="absent"
    ).has_changes


def test_refresh_shows_drift_without_fixing_it() -> None:
    remote = Remote(
        templates={"T1": None},
        jobs={"01J00000000000000000000000": RemoteJob("01J00000000000000000000000", "finished")},
    )
    plan = make_plan(
        desired(job()),
        lock({"teaser": entry(JobStatus.RENDERING)}),
        backend="local",
        base_lock="absent",
        remote=remote,
    )
    assert [d.message for d in plan.drift] == [
        "template 'promo' (T1) no longer exists on the backend",
        "job 'teaser' is finished on the backend; the lock says rendering",
    ]
    assert [t.action for t in plan.templates] == [TemplateAction.CREATE]
    teaser = plan.job("teaser")
    assert teaser is not None and teaser.action is JobAction.UNCHANGED


def test_a_job_unknown_to_the_backend_renders_again() -> None:
    remote = Remote(
        templates={"T1": RemoteTemplate("T1", "uploaded")}, jobs={"01J00000000000000000000000": None}
    )
    plan = make_plan(
        desired(job()), lock({"teaser": entry()}), backend="local", base_lock="absent", remote=remote
    )
    teaser = plan.job("teaser")
    assert teaser is not None
    assert (teaser.action, teaser.reason) == (
        JobAction.RENDER,
        "unknown to the backend; it will be submitted again",
    )


@pytest.mark.parametrize(
    ("selection", "names"),
    [
        (Selection(), ["a-1", "a-2", "b-1"]),
        (Selection(select=("a-*",)), ["a-1", "a-2"]),
        (Selection(exclude=("a-*",)), ["b-1"]),
        (Selection(select=("tag:hot",)), ["a-2"]),
        (Selection(select=("template:promo",), exclude=("b-*",)), ["a-1", "a-2"]),
        (Selection(select=("template:other",)), []),
    ],
)
def test_selection(selection: Selection, names: list[str]) -> None:
    want = desired(job("a-1"), job("a-2", tags=("hot",)), job("b-1"))
    plan = make_plan(want, lock(), backend="local", base_lock="absent", selection=selection)
    assert [j.name for j in plan.jobs] == names
    assert plan.excluded == 3 - len(names)


def test_diff_inputs_reports_added_and_removed_fields() -> None:
    assert diff_inputs({"a": 1, "b": 2}, {"b": 3, "c": 4}) == (
        FieldChange("a", 1, None, removed=True),
        FieldChange("b", 2, 3),
        FieldChange("c", None, 4, added=True),
    )


def test_plan_json_round_trips_and_desired_digest_is_stable() -> None:
    plan = make_plan(
        desired(job()),
        lock({"teaser": entry(title="Spring sale", fp=F2)}),
        backend="local",
        base_lock="absent",
    )
    import json

    assert plan_from_json(json.dumps(plan_to_json(plan)), "plan.json") == plan
    assert desired(job()).digest() == desired(job()).digest() != desired(job(fp=F2)).digest()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{}", "plan.json: plan format None is not supported"),
        ('{"format_version": "1.0"}', "plan.json: not a nexspec plan file ('backend')"),
        ("not json", "plan.json: not a nexspec plan file (Expecting value: line 1 column 1 (char 0))"),
    ],
)
def test_bad_plan_files(text: str, message: str) -> None:
    with pytest.raises(StalePlanError) as caught:
        plan_from_json(text, "plan.json")
    assert str(caught.value) == message
