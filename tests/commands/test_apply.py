"""``nexspec apply``: saved plans executed exactly or refused when stale, selection, ``--replace``,
the apply lock, the confirmation, the CI rule and usage errors; against a real local backend.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from server.lottie_docs import lottie_bytes

from nexspec.apply import ApplyOptions, Event
from nexspec.backend import BackendChoice, choose_backend
from nexspec.cli import cli
from nexspec.client import ApiClient
from nexspec.commands.apply import ApplyOutcome, ApplyRequest, apply_project, resolve_target, save_plan
from nexspec.commands.plan import plan_project
from nexspec.errors import StalePlanError
from nexspec.lock import BackendLock, JobStatus
from nexspec.lockfile import apply_guard, read_lock
from nexspec.plan import JobAction, Plan, Selection
from nexspec.server.embedded import EmbeddedServer
from nexspec.tracking import PollPolicy

MakeProject = Callable[..., Path]
Counts = Callable[[EmbeddedServer], dict[str, int]]
FAST = ApplyOptions(
    poll=PollPolicy(initial=0.05, maximum=0.2), template_poll=PollPolicy(initial=0.02, maximum=0.1)
)
POST_JOB = "POST /api/v2/jobs"

SPEC = """\
version: 1
templates:
  promo: {path: promo.json, composition: main}
jobs:
  launch:
    template: promo
    tags: [spring]
    assets:
      - {type: text, layerName: title, value: "New season"}
  sale:
    template: promo
    tags: [summer]
    assets:
      - {type: text, layerName: title, value: "Summer sale"}
"""


def invoke(*args: str, stdin: str | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), prog_name="nexspec", input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture
def root(project: MakeProject, in_tmp: Path) -> Path:
    return project(SPEC, {"promo.json": lottie_bytes()})


@pytest.fixture
def environ(local_server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The environment of a machine pointed at the local backend as if it were the Cloud."""
    values = {"NEXRENDER_API_KEY": local_server.token, "NEXRENDER_BASE_URL": local_server.base_url}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    yield values


def choice(server: EmbeddedServer) -> BackendChoice:
    return BackendChoice("cloud", server.base_url, server.base_url)


def apply(
    root: Path,
    server: EmbeddedServer,
    environ: dict[str, str],
    *,
    plans: list[Plan] | None = None,
    **fields: Any,
) -> ApplyOutcome:
    options = fields.pop("options", FAST)
    request = ApplyRequest(root=root, choice=choice(server), options=options, **fields)
    shown = plans if plans is not None else []
    events: list[Event] = []
    return apply_project(
        request, environ=environ, confirm=lambda p: True, on_plan=shown.append, emit=events.append
    )


def lock(root: Path, server: EmbeddedServer) -> BackendLock:
    return read_lock(root / "nexspec.lock")[0].backend(server.base_url)


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    counts = {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)}
    return {k: v for k, v in sorted(counts.items()) if v and not k.startswith("GET /_nexspec")}


def edit(root: Path, old: str, new: str) -> None:
    path = root / "nexspec.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def saved_plan(root: Path, server: EmbeddedServer, environ: dict[str, str], **kwargs: Any) -> Path:
    out = root.parent / "plan.json"
    save_plan(plan_project(root, choice(server), environ=environ, **kwargs), out)
    return out


# --- saved plans ------------------------------------------------------------------------------------


def test_a_saved_plan_is_executed_exactly(
    root: Path, local_server: EmbeddedServer, environ: dict[str, str], request_counts: Counts
) -> None:
    out = saved_plan(root, local_server, environ, selection=Selection(("sale",)))
    project, plan_file = resolve_target(out)
    assert (project, plan_file) == (root.resolve(), out)

    shown: list[Plan] = []
    before = request_counts(local_server)
    outcome = apply(project, local_server, environ, plan_file=plan_file, plans=shown)
    assert outcome.result is not None and outcome.result.ok
    assert [j.name for j in shown[0].jobs] == ["sale"]  # the saved selection, not today's flags
    assert changed(before, request_counts(local_server))[POST_JOB] == 1
    assert set(lock(root, local_server).jobs) == {"sale"}

    replaced = saved_plan(root, local_server, environ, replace=frozenset({"sale"}))
    outcome = apply(root, local_server, environ, plan_file=replaced)
    assert outcome.result is not None and outcome.result.ok
    assert {n: e.attempt for n, e in lock(root, local_server).jobs.items()} == {"launch": 1, "sale": 2}


def test_a_saved_plan_is_refused_when_the_lock_changed(
    root: Path, local_server: EmbeddedServer, environ: dict[str, str], request_counts: Counts
) -> None:
    out = saved_plan(root, local_server, environ)
    apply(root, local_server, environ, selection=Selection(("launch",)))
    before = request_counts(local_server)
    with pytest.raises(StalePlanError) as caught:
        apply(root, local_server, environ, plan_file=out)
    assert str(caught.value) == f"{out}: the lock changed since this plan was made; run `nexspec plan` again"
    assert changed(before, request_counts(local_server)) == {}

    result = invoke("apply", str(out), "--yes")
    assert (result.exit_code, result.stdout) == (1, "")
    assert (
        result.stderr
        == f"error: {out}: the lock changed since this plan was made; run `nexspec plan` again\n"
    )


def test_a_saved_plan_is_refused_when_the_specs_changed(
    root: Path, local_server: EmbeddedServer, environ: dict[str, str], request_counts: Counts
) -> None:
    out = saved_plan(root, local_server, environ)
    edit(root, '"Summer sale"', '"Winter sale"')
    before = request_counts(local_server)
    with pytest.raises(StalePlanError) as caught:
        apply(root, local_server, environ, plan_file=out)
    assert str(caught.value) == f"{out}: the specs changed since this plan was made; run `nexspec plan` again"
    assert changed(before, request_counts(local_server)) == {}
    assert not (root / "nexspec.lock").exists()


def test_a_saved_plan_for_another_backend_is_refused(
    root: Path, local_server: EmbeddedServer, environ: dict[str, str]
) -> None:
    out = saved_plan(root, local_server, environ)
    result = invoke("apply", str(out), "--yes", "--api-url", "http://127.0.0.1:9/api/v2")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {out}: the plan is for backend {local_server.base_url}, not http://127.0.0.1:9/api/v2\n"
    )


def test_a_file_that_is_not_a_plan(root: Path, environ: dict[str, str]) -> None:
    (root.parent / "notes.json").write_text("[1, 2", encoding="utf-8")
    result = invoke("apply", "notes.json", "--yes")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: notes.json: not a readable plan file (")


# --- selection and replacement -----------------------------------------------------------------------


def test_selection_applies_only_the_selected_jobs(
    root: Path, local_server: EmbeddedServer, environ: dict[str, str]
) -> None:
    outcome = apply(root, local_server, environ, selection=Selection(("tag:summer",)))
    assert outcome.result is not None and outcome.result.finished == ("sale",)
    assert set(lock(root, local_server).jobs) == {"sale"}

    outcome = apply(root, local_server, environ, selection=Selection((), ("template:promo",)))
    assert outcome.result is None  # nothing selected, nothing to do
    assert outcome.plan.excluded == 2

    outcome = apply(root, local_server, environ)
    assert outcome.result is not None and outcome.result.finished == ("launch", "sale")
    assert outcome.result.submitted == 1


def test_replace_renders_a_finished_job_again(
    root: Path, local_server: EmbeddedServer, environ: dict[str, str], request_counts: Counts
) -> None:
    apply(root, local_server, environ)
    first = lock(root, local_server).jobs["launch"]
    before = request_counts(local_server)
    plans: list[Plan] = []
    outcome = apply(root, local_server, environ, replace=frozenset({"launch"}), plans=plans)
    assert outcome.result is not None and outcome.result.ok
    assert {j.name: j.action for j in plans[0].jobs} == {
        "launch": JobAction.RERENDER,
        "sale": JobAction.UNCHANGED,
    }
    assert changed(before, request_counts(local_server))[POST_JOB] == 1
    again = lock(root, local_server).jobs["launch"]
    assert (again.attempt, again.id != first.id, again.status) == (2, True, JobStatus.FINISHED)

    result = invoke("apply", "project", "--yes", "--replace", "nope")
    assert (result.exit_code, result.stderr) == (2, "error: --replace names no job: nope\n")


def test_a_missing_download_is_fetched_again_even_when_nothing_else_is_to_do(
    root: Path, local_server: EmbeddedServer, environ: dict[str, str], request_counts: Counts
) -> None:
    folder = root.parent / "renders"
    first = apply(root, local_server, environ, download_dir=folder)
    assert first.result is not None and first.result.ok
    assert sorted(p.name for p in folder.iterdir()) == ["launch.mp4", "sale.mp4"]
    assert apply(root, local_server, environ, download_dir=folder).result is None  # nothing to do

    (folder / "sale.mp4").unlink()
    before = request_counts(local_server)
    again = apply(root, local_server, environ, download_dir=folder)
    assert again.result is not None and again.result.ok and again.result.submitted == 0
    assert sorted(p.name for p in folder.iterdir()) == ["launch.mp4", "sale.mp4"]
    assert (folder / "sale.mp4").read_bytes()[4:8] == b"ftyp"
    assert POST_JOB not in changed(before, request_counts(local_server))


def test_plan_refresh_shows_what_the_backend_lost(
    root: Path, local_server: EmbeddedServer, environ: dict[str, str]
) -> None:
    apply(root, local_server, environ)
    template = lock(root, local_server).templates["promo"]
    assert invoke("plan", "project", "--refresh", "--detailed-exitcode").exit_code == 0
    with ApiClient.connect(local_server.base_url, local_server.token) as client:
        assert client.delete_template(template.id) is True
    assert invoke("plan", "project", "--detailed-exitcode").exit_code == 0  # the lock alone knows nothing
    result = invoke("plan", "project", "--refresh", "--detailed-exitcode")
    assert result.exit_code == 2
    assert result.stdout.splitlines()[:5] == [
        f"Plan for backend {local_server.base_url}: 1 template to upload, 2 unchanged",
        f"  drift: template 'promo' ({template.id}) no longer exists on the backend",
        "",
        "Templates:",
        "  + promo  create     deleted on the backend; it will be created again",
    ]


# --- the command line ---------------------------------------------------------------------------------


def test_nothing_to_do_says_so_and_exits_0(
    root: Path, local_server: EmbeddedServer, environ: dict[str, str]
) -> None:
    apply(root, local_server, environ)
    result = invoke("apply", "project", "--yes")
    assert (result.exit_code, result.stdout) == (0, "Nothing to do: every job is up to date.\n")
    assert result.stderr == f"Plan for backend {local_server.base_url}: No changes. 2 unchanged\n\n" + (
        "(2 unchanged jobs not shown; --all lists them)\n"
    )


def test_no_prompt_when_not_on_a_terminal(root: Path, environ: dict[str, str]) -> None:
    result = invoke("apply", "project", "--no-wait")
    assert "Apply this plan?" not in result.output
    assert result.stdout.startswith("Apply complete: 0 finished, 0 failed, 2 still running (2 submitted")
    assert result.exit_code == 0  # --no-wait: submitted is what was asked for
    assert "Not waiting (--no-wait): `nexspec status` reports on them later." in result.stdout


def test_on_a_terminal_apply_asks_first(
    root: Path, local_server: EmbeddedServer, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch,
    request_counts: Counts,
) -> None:  # fmt: skip
    monkeypatch.setattr("nexspec.cli._interactive", lambda: True)
    before = request_counts(local_server)
    result = invoke("apply", "project", stdin="n\n")
    assert result.exit_code == 1
    assert "Apply this plan? [y/N]: " in result.stderr
    assert result.stderr.endswith("error: apply cancelled; nothing was changed\n")
    assert changed(before, request_counts(local_server)) == {}
    assert not (root / "nexspec.lock").exists()


def test_timeout_exits_1_and_leaves_the_jobs_tracked(root: Path, environ: dict[str, str]) -> None:
    result = invoke("apply", "project", "--yes", "--timeout", "0")
    assert result.exit_code == 1
    assert result.stdout == (
        "Apply complete: 0 finished, 0 failed, 2 still running (2 submitted, 1 template upload); "
        "stopped waiting at --timeout\n"
    )
    plan = invoke("plan", "project")
    assert "to track" in plan.stdout.splitlines()[0]


def test_a_held_apply_lock_is_reported_and_can_be_broken(root: Path, environ: dict[str, str]) -> None:
    with apply_guard(root / ".nexspec"):
        held = json.loads((root / ".nexspec" / "apply.lock.json").read_text(encoding="utf-8"))
        result = invoke("apply", "project", "--yes", "--no-wait")
        assert (result.exit_code, result.stdout) == (1, "")  # the held lock
        assert result.stderr == (
            f"error: another nexspec apply holds this project's lock ({held['owner']} on {held['host']}, "
            f"pid {held['pid']}, since {held['started_at']}); wait for it, "
            "or run `nexspec apply --force-unlock` if it is stuck\n"
        )
        assert set(held) == {"owner", "host", "pid", "started_at", "command"}
        broken = invoke("apply", "project", "--yes", "--no-wait", "--force-unlock")
        assert broken.stderr.startswith("apply lock released (it was held by {")
        assert "2 submitted" in broken.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--parallelism", "0"], "Error: Invalid value for '--parallelism': 0 is not in the range 1<=x<=64."),
        (["--timeout", "-1"], "Error: Invalid value for '--timeout': -1.0 is not in the range x>=0."),
        (["--format", "yaml"], "Error: Invalid value for '--format': 'yaml' is not one of 'text', 'json'."),
        (["--backend", "aws"], "Error: Invalid value for '--backend': 'aws' is not one of 'cloud', 'local'."),
    ],
)
def test_usage_errors_exit_2(root: Path, args: list[str], message: str) -> None:
    result = invoke("apply", "project", *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.endswith(message + "\n")


def test_a_missing_project_exits_2(in_tmp: Path) -> None:
    result = invoke("apply", "nowhere", "--yes")
    assert (result.exit_code, result.stderr) == (2, "error: nowhere: no such file or directory\n")


# --- backends -------------------------------------------------------------------------------------------


def test_in_ci_without_a_key_apply_fails_unless_local_is_asked_for(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "1")
    result = invoke("apply", "project", "--yes")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "error: CI is set and NEXRENDER_API_KEY is not: refusing to render on the CI runner by surprise; "
        "set NEXRENDER_API_KEY to use Nexrender Cloud, or pass --backend local to render here\n"
    )
    assert not (root / ".nexspec").exists()
    local = choose_backend(backend="local", api_url=None, environ={"CI": "1"})
    assert (local.kind, local.key, local.announcement) == ("local", "local", None)
    cloud = choose_backend(backend=None, api_url=None, environ={"CI": "1", "NEXRENDER_API_KEY": "k"})
    assert (cloud.kind, cloud.key) == ("cloud", "https://api.nexrender.com/api/v2")


def test_cloud_without_a_key_is_refused_before_anything_is_sent(root: Path) -> None:
    result = invoke(
        "apply", "project", "--yes", "--backend", "cloud", "--api-url", "http://127.0.0.1:9/api/v2"
    )
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "error: NEXRENDER_API_KEY is not set; it holds the API token for http://127.0.0.1:9/api/v2\n"
    )


def test_the_lock_is_scoped_by_backend(
    root: Path, local_server: EmbeddedServer, environ: dict[str, str]
) -> None:
    apply(root, local_server, environ)
    other = "http://127.0.0.1:9/api/v2"
    planned = plan_project(root, BackendChoice("cloud", other, other), environ=environ)
    assert {j.action for j in planned.plan.jobs} == {
        JobAction.RENDER
    }  # ids of one backend mean nothing to another
    document = json.loads((root / "nexspec.lock").read_text(encoding="utf-8"))
    assert document["lockfile_version"] == 1
    assert list(document["backends"]) == [local_server.base_url]


def test_the_options_reach_the_applier(
    root: Path, local_server: EmbeddedServer, environ: dict[str, str]
) -> None:
    outcome = apply(root, local_server, environ, options=replace(FAST, wait=False))
    assert outcome.result is not None
    assert set(outcome.result.running) == {"launch", "sale"} and outcome.result.finished == ()


# --- status ---------------------------------------------------------------------------------------------


def test_no_wait_then_status_refreshes_the_lock_and_prints_a_table(
    root: Path, local_server: EmbeddedServer, environ: dict[str, str]
) -> None:
    assert invoke("status", "project").stdout == (
        f"No jobs recorded for backend {local_server.base_url}; run `nexspec apply` first.\n"
    )
    assert invoke("apply", "project", "--yes", "--no-wait").exit_code == 0
    assert {e.status for e in lock(root, local_server).jobs.values()} == {JobStatus.QUEUED}
    for _ in range(600):
        result = invoke("status", "project")
        assert (result.exit_code, result.stderr) == (0, "")
        if all(e.status is JobStatus.FINISHED for e in lock(root, local_server).jobs.values()):
            break
        threading.Event().wait(0.05)
    jobs = lock(root, local_server).jobs
    lines = result.stdout.splitlines()
    assert lines[0] == f"Backend {local_server.base_url}"
    assert lines[1].split() == ["job", "status", "render", "output", "or", "error"]
    for line, name in zip(lines[2:], ["launch", "sale"], strict=True):
        entry = jobs[name]
        assert entry.render_duration is not None
        assert line.split() == [name, "finished", f"{entry.render_duration:.1f}", "s", str(entry.output_url)]


def test_status_while_an_apply_runs_reads_the_backend_and_leaves_the_lock_alone(
    root: Path, local_server: EmbeddedServer, environ: dict[str, str]
) -> None:
    apply(root, local_server, environ, options=replace(FAST, wait=False))
    before = (root / "nexspec.lock").read_bytes()
    with apply_guard(root / ".nexspec"):
        held = json.loads((root / ".nexspec" / "apply.lock.json").read_text(encoding="utf-8"))
        result = invoke("status", "project")
    assert result.exit_code == 0
    assert result.stderr == (
        f"an apply is running ({held['owner']} on {held['host']}, pid {held['pid']}, since "
        f"{held['started_at']}); the lock file was not updated\n"
    )
    assert result.stdout.splitlines()[0] == f"Backend {local_server.base_url}"
    assert (root / "nexspec.lock").read_bytes() == before


def test_status_never_starts_a_second_local_backend_beside_a_running_apply(root: Path) -> None:
    with apply_guard(root / ".nexspec"):
        result = invoke("status", "project", "--backend", "local")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: another nexspec apply holds this project's lock (")
    assert not (root / ".nexspec" / "server").exists()
