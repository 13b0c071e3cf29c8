"""``nexspec plan``: pure (no backend, no lock needed), every output format, selection,
``--replace``, ``--out``, ``--refresh`` and the exit codes, plain and detailed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from nexspec.backend import BackendChoice
from nexspec.cli import cli
from nexspec.commands.plan import PlannedProject, plan_project
from nexspec.errors import UsageError
from nexspec.lock import BackendLock, JobEntry, JobStatus, Lock, TemplateEntry
from nexspec.lockfile import apply_guard, write_lock
from nexspec.plan import (
    PLAN_FORMAT_VERSION,
    FieldChange,
    JobAction,
    JobChange,
    Plan,
    Selection,
    TemplateAction,
    TemplateChange,
)
from nexspec.views import MARKDOWN_LIMIT, MARKDOWN_MARKER, format_plan_markdown

MakeProject = Callable[..., Path]
API_URL = "http://127.0.0.1:9/api/v2"  # nothing listens there: a plan never needs the backend
CLOUD = BackendChoice("cloud", API_URL, API_URL)
KEY = {"NEXRENDER_API_KEY": "test-key"}

SPEC = """\
version: 1
templates:
  promo: {path: promo.json, composition: main}
  card: {path: card.json, composition: main}
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
  city-{{ row.slug }}:
    template: card
    foreach: [{slug: oslo}, {slug: lisbon}]
    assets:
      - {type: text, layerName: title, value: "{{ row.slug }}"}
"""


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), prog_name="nexspec")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture
def root(project: MakeProject, in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project, and the environment of a machine whose key points at a loopback server."""
    path = project(SPEC)
    (path / "card.json").write_bytes((path / "promo.json").read_bytes())
    for name, value in KEY.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NEXRENDER_BASE_URL", API_URL)
    return path


def recorded(planned: PlannedProject, **status: JobStatus) -> Lock:
    """The lock an apply of ``planned`` would leave: everything uploaded and finished."""
    desired = planned.state.desired
    templates = {
        name: TemplateEntry(t.digest, f"T-{name}", t.kind, "uploaded")
        for name, t in desired.templates.items()
    }
    jobs = {}
    for name, j in desired.jobs.items():
        state = status.get(name.replace("-", "_"), JobStatus.FINISHED)
        error = "Layer 'x' not found in composition 'main'" if state is JobStatus.ERROR else None
        jobs[name] = JobEntry(
            j.fingerprint, j.template, state, f"nxs-{name}-1", id=f"J-{name}", error=error, inputs=j.inputs
        )
    return Lock({CLOUD.key: BackendLock("nxs-p-test", templates, jobs)})


def plan(root: Path, **kwargs: object) -> Plan:
    return plan_project(root, CLOUD, environ=KEY, **kwargs).plan  # type: ignore[arg-type]


def applied(root: Path, **status: JobStatus) -> None:
    write_lock(root / "nexspec.lock", recorded(plan_project(root, CLOUD, environ=KEY), **status))


def edit(root: Path, old: str, new: str) -> None:
    path = root / "nexspec.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


# --- the plan itself -------------------------------------------------------------------------------


def test_a_first_plan_creates_and_renders_everything(root: Path) -> None:
    result = plan(root)
    assert [(t.name, t.action) for t in result.templates] == [
        ("card", TemplateAction.CREATE),
        ("promo", TemplateAction.CREATE),
    ]
    assert {j.name: j.action for j in result.jobs} == dict.fromkeys(
        ["city-lisbon", "city-oslo", "launch", "sale"], JobAction.RENDER
    )
    assert (result.base_lock, result.backend) == ("absent", API_URL)


def test_a_text_change_re_renders_that_job_and_says_old_and_new(root: Path) -> None:
    applied(root)
    edit(root, '"Summer sale"', '"Winter sale"')
    result = invoke("plan", "project")
    assert result.exit_code == 0
    assert result.stdout == (
        f"Plan for backend {API_URL}: 1 to re-render, 3 unchanged\n"
        "\n"
        "Jobs:\n"
        "  ~ sale  re-render  changed: assets[title].value\n"
        '      assets[title].value: "Summer sale" → "Winter sale"\n'
        "\n"
        "(3 unchanged jobs not shown; --all lists them)\n"
    )


def test_every_job_action_and_its_reason(root: Path) -> None:
    applied(root, sale=JobStatus.ERROR, launch=JobStatus.RENDERING, city_oslo=JobStatus.SUBMITTING)
    edit(root, "{slug: lisbon}", "{slug: porto}")
    text = invoke("plan", "project", "--all").stdout
    assert text.splitlines()[0] == (
        f"Plan for backend {API_URL}: 1 to render, 1 to retry, 2 to track, 1 removed, 0 unchanged"
    )
    assert text.splitlines()[1:] == [
        "",
        "Templates:",
        "    card   unchanged",
        "    promo  unchanged",
        "",
        "Jobs:",
        "  … city-oslo    track      submission was interrupted; apply looks it up before submitting again",
        "  + city-porto   render     new job",
        "  … launch       track      still rendering on the backend",
        "  ↻ sale         retry      last run ended error: Layer 'x' not found in composition 'main'",
        "  - city-lisbon  removed    no longer in the specs; its lock entry is dropped",
    ]


def test_a_template_change_says_which_digests(root: Path) -> None:
    applied(root)
    (root / "card.json").write_text(
        (root / "card.json").read_text(encoding="utf-8").replace('"w": 320', '"w": 336'), encoding="utf-8"
    )
    result = plan(root)
    card = next(t for t in result.templates if t.name == "card")
    assert card.action is TemplateAction.UPLOAD and card.remote_id == "T-card"
    assert card.reason == f"content changed: {card.old_digest[7:19]} → {card.digest[7:19]}"  # type: ignore[index]
    cities = [j for j in result.jobs if j.template == "card"]
    assert {(j.action, j.reason) for j in cities} == {(JobAction.RERENDER, "template content changed")}
    assert [(c.field, c.old, c.new) for c in cities[0].changes] == [
        ("template.id", card.old_digest, card.digest)
    ]


def test_orphaned_templates_are_deleted_only_with_prune(root: Path) -> None:
    applied(root)
    edit(root, "  card: {path: card.json, composition: main}\n", "")
    edit(root, "template: card", "template: promo")
    result = plan(root)
    assert [(t.name, t.action) for t in result.templates] == [
        ("promo", TemplateAction.UNCHANGED),
        ("card", TemplateAction.ORPHANED),
    ]
    assert result.has_changes is False
    summary = invoke("plan", "project").stdout.splitlines()[0]
    assert summary.endswith("1 orphaned template, 4 unchanged")
    pruning = invoke("plan", "project", "--prune").stdout.splitlines()[0]
    assert pruning.endswith("1 orphaned template to delete, 4 unchanged")
    assert plan(root, prune=True).has_changes is True


def test_plan_needs_no_lock_and_no_backend(root: Path) -> None:
    """A running apply holds the apply lock; plan neither waits for it nor calls the API."""
    applied(root)
    with apply_guard(root / ".nexspec"):
        result = invoke("plan", "project", "--detailed-exitcode")
    assert (result.exit_code, result.stdout.splitlines()[0]) == (
        0,
        f"Plan for backend {API_URL}: No changes. 4 unchanged",
    )


# --- selection and replacement ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "jobs", "excluded"),
    [
        (["--select", "city-*"], ["city-lisbon", "city-oslo"], 2),
        (["--select", "template:promo"], ["launch", "sale"], 2),
        (["--select", "tag:sum*"], ["sale"], 3),
        (["--exclude", "city-*", "--exclude", "tag:spring"], ["sale"], 3),
        (["--select", "template:card", "--exclude", "city-oslo"], ["city-lisbon"], 3),
    ],
)
def test_selection(root: Path, args: list[str], jobs: list[str], excluded: int) -> None:
    result = invoke("plan", "project", "--format", "json", *args)
    document = json.loads(result.stdout)
    assert [j["name"] for j in document["jobs"]] == jobs
    assert document["excluded"] == excluded
    templates = {j["template"] for j in document["jobs"]}
    assert {t["name"] for t in document["templates"]} == templates
    text = invoke("plan", "project", *args).stdout.splitlines()[0]
    assert text.endswith(f"({excluded} excluded by selection)")


def test_a_selection_never_removes_or_orphans_what_it_leaves_out(root: Path) -> None:
    applied(root)
    edit(root, '"Summer sale"', '"Winter sale"')
    result = plan(root, selection=Selection(("launch",)))
    assert [(j.name, j.action) for j in result.jobs] == [("launch", JobAction.UNCHANGED)]
    assert [(t.name, t.action) for t in result.templates] == [("promo", TemplateAction.UNCHANGED)]


def test_replace_re_renders_an_unchanged_job(root: Path) -> None:
    applied(root)
    result = invoke("plan", "project", "--replace", "launch", "--detailed-exitcode")
    assert result.exit_code == 2
    assert "  ~ launch  re-render  replacement requested with --replace\n" in result.stdout
    with pytest.raises(UsageError) as caught:
        plan(root, replace=frozenset({"launch", "nope", "also-nope"}))
    assert str(caught.value) == "--replace names no job: also-nope, nope"


# --- formats ---------------------------------------------------------------------------------------


def test_json_is_versioned_and_saved_with_out(root: Path) -> None:
    applied(root)
    edit(root, '"Summer sale"', '"Winter sale"')
    result = invoke("plan", "project", "--format", "json", "--out", "plan.json")
    document = json.loads(result.stdout)
    assert document["format_version"] == PLAN_FORMAT_VERSION
    assert document["summary"]["jobs_re_render"] == 1 and document["summary"]["jobs_unchanged"] == 3
    sale = next(j for j in document["jobs"] if j["name"] == "sale")
    assert sale["changes"] == [{"field": "assets[title].value", "old": "Summer sale", "new": "Winter sale"}]
    saved = json.loads(Path("plan.json").read_text(encoding="utf-8"))
    assert saved == {**document, "project": "project"}
    assert "test-key" not in Path("plan.json").read_text(encoding="utf-8")


def test_markdown_starts_with_the_marker_and_folds_the_details(root: Path) -> None:
    applied(root)
    edit(root, '"Summer sale"', '"Winter sale"')
    text = invoke("plan", "project", "--format", "markdown").stdout
    assert text.startswith(MARKDOWN_MARKER + "\n### nexspec plan: 1 to re-render, 3 unchanged\n")
    table = text.index("| | job | template | action | why |")
    details = text.index("<details><summary>What changed</summary>")
    assert table < details
    assert "| ~ | `sale` | `promo` | re-render | changed: assets[title].value |" in text
    assert '- sale: assets[title].value: "Summer sale" → "Winter sale"' in text[details:]
    assert text.rstrip().endswith("</details>")


def synthetic_plan(jobs: int, *, reason: str = "changed: assets[title].value", value: str = "x") -> Plan:
    changes = (FieldChange("assets[title].value", value, value + "!"),)
    return Plan(
        backend="local",
        base_lock="absent",
        base_specs="sha256:x",
        templates=(TemplateChange("promo", TemplateAction.UNCHANGED, "lottie", "d", "d", "T", ""),),
        jobs=tuple(
            JobChange(
                f"city-{i:05d}", JobAction.RERENDER, "promo", "f", "e", "J", "finished", reason, changes
            )
            for i in range(jobs)
        ),
    )


def test_markdown_of_a_huge_plan_stays_under_the_limit_and_says_what_was_cut() -> None:
    text = format_plan_markdown(synthetic_plan(2000))
    assert len(text) < MARKDOWN_LIMIT
    assert text.startswith(MARKDOWN_MARKER + "\n### nexspec plan: 2000 to re-render, 0 unchanged\n")
    shown = sum(1 for line in text.splitlines() if line.startswith("| ~ |"))
    assert 0 < shown < 2000
    assert "<details>" not in text
    assert text.rstrip().endswith(
        f"_{2000 - shown:,} more row(s) and the details of what changed not shown: the comment is "
        f"limited to {MARKDOWN_LIMIT:,} characters; see the full plan with `nexspec plan --format json`._"
    )


def test_markdown_whose_details_alone_are_too_long_says_so() -> None:
    text = format_plan_markdown(synthetic_plan(300, value="v" * 400))
    assert len(text) < MARKDOWN_LIMIT
    assert sum(1 for line in text.splitlines() if line.startswith("| ~ |")) == 300
    assert text.rstrip().endswith(
        f"_the details of what changed not shown: the comment is limited to {MARKDOWN_LIMIT:,} "
        "characters; see the full plan with `nexspec plan --format json`._"
    )


# --- refresh ---------------------------------------------------------------------------------------


def test_refresh_shows_drift(root: Path) -> None:
    from nexspec.plan import Remote, RemoteJob

    applied(root)
    remote = Remote(
        templates={"T-promo": None},
        jobs={"J-sale": RemoteJob("J-sale", "error", error="Out of memory"), "J-launch": None},
    )
    result = plan(root, refresh=lambda backend: remote)
    assert [d.message for d in result.drift] == [
        "template 'promo' (T-promo) no longer exists on the backend",
        "job 'launch' (J-launch) is unknown to the backend",
        "job 'sale' is error on the backend; the lock says finished",
    ]
    actions = {j.name: (j.action, j.reason) for j in result.jobs}
    assert actions["launch"] == (JobAction.RENDER, "unknown to the backend; it will be submitted again")
    assert actions["sale"][0] is JobAction.RETRY


# --- backends and exit codes -----------------------------------------------------------------------


def test_without_a_key_the_local_backend_is_used_and_announced(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEXRENDER_API_KEY")
    result = invoke("plan", "project")
    assert result.exit_code == 0
    assert result.stderr == (
        "NEXRENDER_API_KEY is not set: using the embedded local backend (data in .nexspec/server)\n"
    )
    assert result.stdout.startswith("Plan for backend local: ")


def test_in_ci_without_a_key_plan_fails_unless_local_is_asked_for(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEXRENDER_API_KEY")
    monkeypatch.setenv("CI", "true")
    message = (
        "error: CI is set and NEXRENDER_API_KEY is not: refusing to render on the CI runner by surprise; "
        "set NEXRENDER_API_KEY to use Nexrender Cloud, or pass --backend local to render here\n"
    )
    for args in (["plan", "project"], ["plan", "project", "--detailed-exitcode"]):
        result = invoke(*args)
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", message)
    local = invoke("plan", "project", "--backend", "local")
    assert (local.exit_code, local.stderr) == (0, "")
    assert local.stdout.startswith("Plan for backend local: ")


def test_the_api_url_comes_from_the_option_then_the_environment(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("plan", "project").stdout.startswith(f"Plan for backend {API_URL}: ")
    other = "http://localhost:8765/api/v2"
    chosen = invoke("plan", "project", "--api-url", other + "/")
    assert chosen.stdout.startswith(f"Plan for backend {other}: ")
    monkeypatch.delenv("NEXRENDER_BASE_URL")
    result = invoke("plan", "project")
    assert result.exit_code == 1  # the Cloud cannot render Lottie templates
    assert "Nexrender Cloud renders only .aep, .zip and .mogrt" in result.stderr


@pytest.mark.parametrize(
    ("args", "plain", "detailed"),
    [
        ([], 0, 2),  # changes
        (["--format", "toml"], 2, 1),  # click's usage error
        (["--bogus"], 2, 1),
        (["--replace", "nope"], 2, 1),  # nexspec's usage error
        (["--api-url", "ftp://x"], 2, 1),
    ],
)
def test_exit_codes(root: Path, args: list[str], plain: int, detailed: int) -> None:
    assert invoke("plan", "project", *args).exit_code == plain
    assert invoke("plan", "project", "--detailed-exitcode", *args).exit_code == detailed


def test_detailed_exit_codes_for_no_changes_and_errors(root: Path) -> None:
    applied(root)
    assert invoke("plan", "project", "--detailed-exitcode").exit_code == 0
    missing = invoke("plan", "nowhere", "--detailed-exitcode")
    assert (missing.exit_code, missing.stderr) == (1, "error: nowhere: no such file or directory\n")
    assert invoke("plan", "nowhere").exit_code == 2
    edit(root, "layerName: title", "layerName: titel")
    invalid = invoke("plan", "project", "--detailed-exitcode")
    assert invalid.exit_code == 1
    assert invalid.stderr.endswith("error: 4 error(s) in the specs\n")
    (root / "nexspec.lock").write_text("{not json", encoding="utf-8")
    edit(root, "layerName: titel", "layerName: title")
    corrupt = invoke("plan", "project", "--detailed-exitcode")
    assert (corrupt.exit_code, corrupt.stderr) == (
        1,
        "error: nexspec.lock:1: not valid JSON (Expecting property name enclosed in double quotes); "
        "restore it from version control\n",
    )
