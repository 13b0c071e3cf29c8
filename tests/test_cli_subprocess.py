"""The installed entry points, run as real processes: ``python -m nexspec`` and the console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

MakeProject = Callable[..., Path]

SPEC = """\
version: 1
env: [BRAND]
templates:
  promo: {path: promo.json}
jobs:
  city-{{ row.slug }}:
    template: promo
    foreach: [{slug: oslo, city: Oslo}, {slug: lisbon, city: Lisbon}]
    assets:
      - {type: text, layerName: title, value: "{{ env.BRAND }} in {{ row.city }}"}
"""


def console_script() -> str:
    found = shutil.which("nexspec", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("the nexspec console script is not installed next to this interpreter")
    return found


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_python_m_nexspec_help(tmp_path: Path) -> None:
    result = run(sys.executable, "-m", "nexspec", "--help", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("Usage: nexspec [OPTIONS] COMMAND [ARGS]...\n")


def test_validate_with_the_console_script(project: MakeProject, tmp_path: Path) -> None:
    project(SPEC.replace("layerName: title", "layerName: titel"))
    result = run(console_script(), "validate", "project", cwd=tmp_path, env={"PATH": "", "BRAND": "Acme"})
    assert (result.returncode, result.stdout) == (1, "invalid: 2 errors, 0 warnings\n")
    assert result.stderr.splitlines()[:2] == [
        "project/nexspec.yaml:10:33: error: layer 'titel' not found in composition 'main' "
        "[jobs.city-{{ row.slug }}.assets[0].layerName]",
        "  hint: did you mean 'title'?",
    ]


def test_render_json_with_the_console_script(project: MakeProject, tmp_path: Path) -> None:
    root = project(SPEC)
    result = run(console_script(), "render", "--format", "json", cwd=root, env={"BRAND": "Acme"})
    assert (result.returncode, result.stderr) == (0, "")
    payloads = json.loads(result.stdout)
    assert list(payloads) == ["city-oslo", "city-lisbon"]
    assert payloads["city-lisbon"]["assets"] == [
        {"type": "text", "layerName": "title", "value": "Acme in Lisbon"}
    ]


def test_a_missing_project_exits_2_in_a_real_process(tmp_path: Path) -> None:
    result = run(sys.executable, "-m", "nexspec", "validate", "nowhere", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "error: nowhere: no such file or directory\n",
    )
