"""The command line: exact output, streams and exit codes of validate, render, inspect and schema."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from nexspec import __version__
from nexspec.cli import cli, main
from nexspec.schemas import schema_dir

MakeProject = Callable[..., Path]
Sample = Callable[[str], Path]

VALID = """\
version: 1
templates:
  promo: {path: promo.json}
jobs:
  teaser:
    template: promo
    assets:
      - {type: text, layerName: title, value: Hello}
"""
INVALID = VALID.replace("layerName: title", "layerName: titel")
WITH_DEBRIS = VALID.replace("{path: promo.json}", "{path: promo.zip, composition: main}")
LAYER_ERROR = (
    "project/nexspec.yaml:8:33: error: layer 'titel' not found in composition 'main' "
    "[jobs.teaser.assets[0].layerName]\n"
    "  hint: did you mean 'title'?\n"
)
BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


def invoke(*args: str) -> Result:
    """Runs the CLI; whatever happens, it must end with an exit code, never a traceback."""
    result = CliRunner().invoke(cli, list(args), prog_name="nexspec")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def outcome(result: Result) -> tuple[int, str, str]:
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def valid(project: MakeProject, in_tmp: Path) -> Path:
    return project(VALID)


@pytest.fixture
def invalid(project: MakeProject, in_tmp: Path) -> Path:
    return project(INVALID)


@pytest.fixture
def with_warning(project: MakeProject, in_tmp: Path) -> Path:
    """A zip template holding a Lottie export and macOS debris, which is worth a warning."""
    root = project(WITH_DEBRIS)
    with zipfile.ZipFile(root / "promo.zip", "w") as archive:
        archive.write(root / "promo.json", "promo.json")
        archive.writestr("__MACOSX/._promo.json", b"")
    return root


# --- the group --------------------------------------------------------------------------------


def test_help_and_version() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: nexspec [OPTIONS] COMMAND [ARGS]...\n")
    for command in ("validate", "render", "inspect", "schema"):
        assert f"\n  {command} " in result.stdout
    assert "Exit codes: 0 success, 1 error (invalid specs, API or render failure),\n" in result.stdout
    assert outcome(invoke("--version")) == (0, f"nexspec, version {__version__}\n", "")
    assert invoke("validate", "-h").stdout.startswith("Usage: nexspec validate [OPTIONS] [PROJECT]\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bogus"], "Error: No such command 'bogus'."),
        (["validate", "--format", "xml"],
         "Error: Invalid value for '--format': 'xml' is not one of 'text', 'json', 'github'."),
        (["validate", "--strcit"], "Error: No such option '--strcit'. Did you mean '--strict'?"),
        (["validate", "a", "b"], "Error: Got unexpected extra argument (b)"),
        (["render", "--format", "toml"], "Error: Invalid value for '--format': 'toml' is not one of 'json', "
                                         "'yaml'."),
        (["render", "--job"], "Error: Option '--job' requires an argument."),
        (["inspect"], "Error: Missing argument 'FILE'."),
        (["schema", "bogus"],
         "Error: Invalid value for '[spec|job|lock]': 'bogus' is not one of 'spec', 'job', 'lock'."),
    ],
    ids=["command", "format", "option", "extra-argument", "render-format", "job-value", "inspect-file",
         "schema"],
)  # fmt: skip
def test_usage_errors_exit_2(in_tmp: Path, args: list[str], message: str) -> None:
    result = invoke(*args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.endswith(f"{message}\n")
    assert result.stderr.startswith("Usage: nexspec ") or result.stderr == f"{message}\n"


@pytest.mark.parametrize("command", ["validate", "render"])
def test_a_missing_project_exits_2(in_tmp: Path, command: str) -> None:
    (in_tmp / "empty").mkdir()
    assert outcome(invoke(command, "nowhere")) == (2, "", "error: nowhere: no such file or directory\n")
    assert outcome(invoke(command, "empty")) == (
        2,
        "",
        "error: empty: no nexspec.yaml here; is this a nexspec project?\n",
    )
    assert outcome(invoke(command)) == (2, "", "error: .: no nexspec.yaml here; is this a nexspec project?\n")


def test_main_returns_the_exit_code(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert main(["validate", "nowhere"]) == 2
    assert main(["bogus"]) == 2
    captured = capsys.readouterr()
    assert captured.out == f"nexspec, version {__version__}\n"
    assert captured.err.startswith("error: nowhere: no such file or directory\nUsage: nexspec [OPTIONS]")


# --- validate ---------------------------------------------------------------------------------


def test_validate_a_valid_project(valid: Path) -> None:
    assert outcome(invoke("validate", "project")) == (0, "valid: 1 template, 1 job\n", "")
    assert outcome(invoke("validate", "project/nexspec.yaml")) == (0, "valid: 1 template, 1 job\n", "")
    assert outcome(invoke("validate", "project", "--format", "github")) == (0, "", "")


def test_validate_from_inside_the_project(invalid: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(invalid)
    assert outcome(invoke("validate")) == (
        1,
        "invalid: 1 error, 0 warnings\n",
        LAYER_ERROR.replace("project/", ""),
    )


def test_validate_paths_outside_the_working_directory_are_absolute(
    invalid: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (invalid.parent / "elsewhere").mkdir()
    monkeypatch.chdir(invalid.parent / "elsewhere")
    result = invoke("validate", str(invalid))
    assert result.exit_code == 1
    assert result.stderr == LAYER_ERROR.replace("project/", f"{invalid.resolve()}/")


def test_validate_an_invalid_project(invalid: Path) -> None:
    assert outcome(invoke("validate", "project")) == (1, "invalid: 1 error, 0 warnings\n", LAYER_ERROR)


def test_validate_github(invalid: Path) -> None:
    assert outcome(invoke("validate", "project", "--format", "github")) == (
        1,
        "::error file=project/nexspec.yaml,line=8,col=33,title=jobs.teaser.assets[0].layerName::"
        "layer 'titel' not found in composition 'main' (did you mean 'title'?)\n",
        "",
    )


def test_validate_json(invalid: Path) -> None:
    result = invoke("validate", "project", "--format", "json")
    assert (result.exit_code, result.stderr) == (1, "")
    assert json.loads(result.stdout) == {
        "format_version": "1.0",
        "valid": False,
        "error_count": 1,
        "warning_count": 0,
        "diagnostics": [
            {
                "severity": "error",
                "summary": "layer 'titel' not found in composition 'main'",
                "detail": "",
                "field": "jobs.teaser.assets[0].layerName",
                "hint": "did you mean 'title'?",
                "range": {
                    "filename": "project/nexspec.yaml",
                    "start": {"line": 8, "column": 33},
                    "end": {"line": 8, "column": 33},
                },
            }
        ],
    }


def test_validate_strict_fails_on_warnings(with_warning: Path) -> None:
    debris = (
        "project/promo.zip: warning: '__MACOSX/' is macOS debris; remove it from the archive\n"
        "  hint: let nexspec pack the template folder, or zip it with `zip -r -X`\n"
    )
    assert outcome(invoke("validate", "project")) == (0, "valid: 1 template, 1 job (1 warning)\n", debris)
    assert outcome(invoke("validate", "project", "--strict")) == (1, "invalid: 0 errors, 1 warning\n", debris)
    for strict in ((), ("--strict",)):
        result = invoke("validate", "project", "--format", "json", *strict)
        document = json.loads(result.stdout)
        assert (result.exit_code, document["valid"], document["warning_count"]) == (
            len(strict),
            not strict,
            1,
        )


@pytest.mark.parametrize(
    ("spec", "stderr"),
    [
        (BILLION_LAUGHS,
         "project/nexspec.yaml:1:8: error: YAML aliases expand to too many nodes "
         "(a 'billion laughs' document?)\n"
         "  hint: use fewer nested aliases\n"),
        ("version: 1\nversion: 1\n",
         "project/nexspec.yaml:2:1: error: duplicate key 'version' (first defined at line 1)\n"
         "  hint: each key may appear once in a mapping\n"),
        ("version: !!python/object/apply:os.system ['echo pwned']\n",
         "project/nexspec.yaml:1:10: error: unsupported YAML tag "
         "'tag:yaml.org,2002:python/object/apply:os.system'\n"
         "  hint: specs use plain YAML: mappings, lists, strings, numbers, booleans, null\n"),
        (VALID.replace("Hello", "\"{{ ''.__class__.__mro__ }}\""),
         "project/nexspec.yaml:8:47: error: unsafe template: access to attribute '__class__' of 'str' "
         "object is unsafe. [jobs.teaser.assets[0].value]\n"
         "  hint: templates may not reach Python internals\n"
         "  in nexspec.yaml:5:3\n"),
        (VALID.replace("Hello", "\"{{ 'a' * 10**9 }}\""),
         "project/nexspec.yaml:8:47: error: repetition would make 1000000000 items "
         "[jobs.teaser.assets[0].value]\n"
         "  in nexspec.yaml:5:3\n"),
    ],
    ids=["billion-laughs", "duplicate-key", "python-tag", "injection", "repetition"],
)  # fmt: skip
def test_validate_hostile_specs(project: MakeProject, in_tmp: Path, spec: str, stderr: str) -> None:
    project(spec)
    assert outcome(invoke("validate", "project")) == (1, "invalid: 1 error, 0 warnings\n", stderr)


def test_validate_non_utf8_and_empty_specs(project: MakeProject, in_tmp: Path) -> None:
    root = project(VALID)
    (root / "nexspec.yaml").write_bytes(b"version: 1\nvars: {brand: Caf\xe9}\n")
    assert outcome(invoke("validate", "project")) == (
        1,
        "invalid: 1 error, 0 warnings\n",
        "project/nexspec.yaml:2: error: file is not UTF-8: invalid byte 0xe9\n",
    )
    (root / "nexspec.yaml").write_bytes(b"")
    assert outcome(invoke("validate", "project")) == (
        1,
        "invalid: 1 error, 0 warnings\n",
        "project/nexspec.yaml: error: file is empty\n",
    )


# --- render -----------------------------------------------------------------------------------


def test_render_json(valid: Path) -> None:
    result = invoke("render", "project")
    assert (result.exit_code, result.stderr) == (0, "")
    payloads = json.loads(result.stdout)
    assert list(payloads) == ["teaser"]
    assert payloads["teaser"]["assets"] == [{"type": "text", "layerName": "title", "value": "Hello"}]
    assert payloads["teaser"]["template"]["id"].startswith("sha256:")
    assert result.stdout == json.dumps(payloads, indent=2) + "\n"


def test_render_yaml_and_one_job(valid: Path) -> None:
    result = invoke("render", "project", "--format", "yaml", "--job", "teaser")
    assert (result.exit_code, result.stderr) == (0, "")
    assert list(yaml.safe_load(result.stdout)) == ["teaser"]
    assert result.stdout.startswith("teaser:\n  assets:\n  - type: text\n")


def test_render_an_unknown_job(valid: Path) -> None:
    assert outcome(invoke("render", "project", "--job", "nope")) == (
        2,
        "",
        "error: no job named 'nope' (run `nexspec render` to list them)\n",
    )


def test_render_an_invalid_project(invalid: Path) -> None:
    assert outcome(invoke("render", "project")) == (1, "", LAYER_ERROR + "error: 1 error(s) in the specs\n")


# --- inspect ----------------------------------------------------------------------------------

LOTTIE_TABLE = """\
promo.json (lottie)
Lottie export: promo.json

composition 'main'  320x180  25 fps  2 s
  #  layer        kind     detail
  1  intro layer  precomp  -> intro
  2  title        text
  3  subtitle     text
  4  logo         footage  logo.png
  5  background   solid

composition 'intro'  320x180  25 fps  2 s
  #  layer    kind  detail
  1  caption  text
"""


def test_inspect_a_lottie_export(valid: Path) -> None:
    assert outcome(invoke("inspect", "project/promo.json")) == (0, LOTTIE_TABLE, "")
    result = invoke("inspect", "project/promo.json", "--format", "json")
    document = json.loads(result.stdout)
    assert (result.exit_code, document["kind"], [c["name"] for c in document["compositions"]]) == (
        0,
        "lottie",
        ["main", "intro"],
    )


def test_inspect_an_after_effects_project(in_tmp: Path, aep_bytes: bytes) -> None:
    (in_tmp / "promo.aep").write_bytes(aep_bytes)
    assert outcome(invoke("inspect", "promo.aep")) == (
        0,
        "promo.aep (aep)\n"
        "\n"
        "composition 'main'  1920x1080  30 fps  10 s\n"
        "  #  layer        kind     detail\n"
        "  1  photo        footage\n"
        "  2  lower third  precomp  -> lower third\n"
        "  3  background   solid\n"
        '  4  title        text     "Hello"\n'
        "\n"
        "composition 'lower third'  1920x200  30 fps  5 s\n"
        "  #  layer  kind  detail\n"
        '  1  name   text  "Name"\n',
        "",
    )


def test_inspect_the_sample_mogrt(sample: Sample) -> None:
    result = invoke("inspect", str(sample("nexrender-ae.mogrt")))
    assert result.exit_code == 0
    assert result.stdout.startswith("nexrender-ae.mogrt (mogrt, project.aegraphic/test.aep)\n")
    assert (
        "Essential Graphics controls\n  control           kind\n  Text              text\n" in result.stdout
    )


@pytest.mark.parametrize(
    ("name", "data", "code", "stderr"),
    [
        ("absent.aep", None, 2, "error: absent.aep: no such file or directory\n"),
        ("notes.txt", b"x", 1,
         "error: template 'notes.txt' is not a folder, .aep, .zip, .mogrt or Lottie .json file\n"),
        ("data.json", b"{}", 1, "error: 'data.json' is not a Bodymovin (Lottie) export\n"),
        ("broken.aep", b"RIFX\x00", 1, "error: cannot read After Effects project 'broken.aep': "),
    ],
    ids=["missing", "unknown-type", "not-lottie", "damaged"],
)  # fmt: skip
def test_inspect_refusals(in_tmp: Path, name: str, data: bytes | None, code: int, stderr: str) -> None:
    if data is not None:
        (in_tmp / name).write_bytes(data)
    result = invoke("inspect", name)
    assert (result.exit_code, result.stdout) == (code, "")
    assert result.stderr.startswith(stderr)
    assert result.stderr.count("\n") == 1


# --- schema -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "file"),
    [((), "nexspec.schema.json"), (("spec",), "nexspec.schema.json"), (("job",), "nexrender-job.schema.json"),
     (("lock",), "lock.schema.json")],
    ids=["default", "spec", "job", "lock"],
)  # fmt: skip
def test_schema_prints_the_file(args: tuple[str, ...], file: str) -> None:
    result = invoke("schema", *args)
    assert outcome(result) == (0, (schema_dir() / file).read_text(encoding="utf-8"), "")
    assert json.loads(result.stdout)["$schema"].startswith("http")
