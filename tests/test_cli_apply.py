"""The README's main job as real processes: ``nexspec apply`` renders the quickstart's MP4s on the
embedded backend, a second apply does nothing, one edited text re-renders exactly one video.

The quickstart is rendered for real once (module fixture); every other apply here uses the
hidden ``--render-fast`` (one-frame renders), since rendering speed is not what is tested.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from nexspec.server.embedded import start_embedded

QUICKSTART = Path(__file__).resolve().parents[1] / "specs-examples" / "quickstart"
LIMIT = 300  # seconds; only keeps a hung process from hanging the suite


def nexspec(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "-m", "nexspec", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=LIMIT,
        check=False,
    )


def local_jobs(lock_path: Path) -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = json.loads(lock_path.read_text(encoding="utf-8"))["backends"]["local"][
        "jobs"
    ]
    return jobs


@dataclass(frozen=True)
class Rendered:
    workdir: Path
    project: Path
    result: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rendered]:
    """The README's command, run once on a copy of specs-examples/quickstart."""
    workdir = tmp_path_factory.mktemp("readme")
    project = workdir / "quickstart"
    shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns(".nexspec", "renders", "nexspec.lock"))
    result = nexspec(
        "apply", "quickstart", "--backend", "local", "--yes", "--download", "renders/", cwd=workdir
    )
    yield Rendered(workdir, project, result)


def test_the_readme_main_job_renders_real_mp4s(quickstart: Rendered) -> None:
    result = quickstart.result
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout
        == "Apply complete: 2 finished, 0 failed, 0 still running (2 submitted, 1 template upload)\n"
    )
    renders = quickstart.workdir / "renders"
    assert sorted(p.name for p in renders.iterdir()) == ["launch-teaser.mp4", "summer-sale.mp4"]
    for video in renders.iterdir():
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            frames = sum(1 for _ in container.decode(video=0))
        assert frames > 1  # a real render, not a one-frame one
    for line in ["launch-teaser: finished", "summer-sale: finished", "template promo: uploaded"]:
        assert line in result.stderr.splitlines()
    assert f"launch-teaser: saved {renders / 'launch-teaser.mp4'}" in result.stderr.splitlines()


def test_again_does_nothing_then_one_edited_text_re_renders_one_video(quickstart: Rendered) -> None:
    workdir, project = quickstart.workdir, quickstart.project
    assert quickstart.result.returncode == 0, quickstart.result.stderr
    again = nexspec(
        "apply", "quickstart", "--backend", "local", "--yes", "--download", "renders/", cwd=workdir
    )
    assert (again.returncode, again.stdout) == (0, "Nothing to do: every job is up to date.\n")
    assert (
        nexspec("plan", "quickstart", "--backend", "local", "--detailed-exitcode", cwd=workdir).returncode
        == 0
    )
    before = local_jobs(project / "nexspec.lock")

    spec = project / "nexspec.yaml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace('value: "Summer sale"', 'value: "Winter sale"'),
        encoding="utf-8",
    )
    plan = nexspec("plan", "quickstart", "--backend", "local", "--detailed-exitcode", cwd=workdir)
    assert (plan.returncode, plan.stderr) == (2, "")
    assert plan.stdout == (
        "Plan for backend local: 1 to re-render, 1 unchanged\n"
        "\n"
        "Jobs:\n"
        "  ~ summer-sale  re-render  changed: assets[title].value\n"
        '      assets[title].value: "Summer sale" → "Winter sale"\n'
        "\n"
        "(1 unchanged job not shown; --all lists them)\n"
    )
    markdown = nexspec("plan", "quickstart", "--backend", "local", "--format", "markdown", cwd=workdir)
    assert markdown.stdout.startswith("<!-- nexspec:plan -->\n")
    usage = nexspec("plan", "quickstart", "--detailed-exitcode", "--format", "yaml", cwd=workdir)
    assert usage.returncode == 1
    assert usage.stderr.endswith(
        "Error: Invalid value for '--format': 'yaml' is not one of 'text', 'json', 'markdown'.\n"
    )

    applied = nexspec(
        "apply", "quickstart", "--backend", "local", "--yes", "--render-fast", "--format", "json", cwd=workdir
    )
    assert applied.returncode == 0, applied.stderr
    records = [json.loads(line) for line in applied.stdout.splitlines()]
    assert records[0]["type"] == "version" and records[0]["format_version"] == "1.0"
    assert records[1]["type"] == "plan"
    assert records[-1] == {
        "type": "summary",
        "ok": True,
        "finished": ["launch-teaser", "summer-sale"],
        "failed": [],
        "running": [],
    }
    assert [r["job"] for r in records if r["type"] == "submitted"] == ["summer-sale"]

    after = local_jobs(project / "nexspec.lock")
    assert after["launch-teaser"] == before["launch-teaser"]
    assert after["summer-sale"]["id"] != before["summer-sale"]["id"]
    assert (after["summer-sale"]["attempt"], after["summer-sale"]["status"]) == (2, "finished")
    assert after["summer-sale"]["inputs"]["assets[title].value"] == "Winter sale"
    assert (
        nexspec("plan", "quickstart", "--backend", "local", "--detailed-exitcode", cwd=workdir).returncode
        == 0
    )

    # What the backend itself holds: three renders in all, the edited job's twice.
    tag = json.loads((project / "nexspec.lock").read_text(encoding="utf-8"))["backends"]["local"][
        "project_tag"
    ]
    with start_embedded(project / ".nexspec" / "server", workers=1) as server:
        listed = httpx.get(
            server.base_url + "/jobs",
            params={"tags": tag, "limit": 1000},
            headers={"Authorization": f"Bearer {server.token}"},
        ).json()
    assert sorted(job["id"] for job in listed) == sorted(
        [before["launch-teaser"]["id"], before["summer-sale"]["id"], after["summer-sale"]["id"]]
    )


def test_a_failed_job_exits_1_naming_it_with_a_hint(tmp_path: Path) -> None:
    project = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns(".nexspec", "renders", "nexspec.lock"))
    spec = project / "nexspec.yaml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace(
            "images/sunny-logo.png", "http://127.0.0.1:9/sunny-logo.png"
        ),
        encoding="utf-8",
    )
    result = nexspec("apply", "quickstart", "--backend", "local", "--yes", "--render-fast", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == (
        "Apply complete: 1 finished, 1 failed, 0 still running (2 submitted, 1 template upload)\n"
        "Failed:\n"
        "  summer-sale: Asset failed to download (ConnectError)\n"
        "    hint: check that the asset URL is reachable from the render farm\n"
    )
    assert result.stderr.endswith("error: 1 job(s) failed\n")
    # Without --download, the spec's `download: renders` (beside nexspec.yaml) is where outputs go.
    assert sorted(p.name for p in (project / "renders").iterdir()) == ["launch-teaser.mp4"]
    retry = nexspec("plan", "quickstart", "--backend", "local", cwd=tmp_path)
    assert (
        "  ↻ summer-sale  retry      last run ended error: Asset failed to download (ConnectError)"
        in retry.stdout
    )
