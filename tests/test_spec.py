"""Loading a project: the schema, includes, path rules, template kinds and defaults."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from nexspec.diagnostics import Location
from nexspec.errors import EXIT_USAGE, SpecError, UsageError
from nexspec.spec import Project, deep_merge, find_project, load_project, require_project
from nexspec.templateinfo import TemplateKind

Found = list[tuple[str, str, str, str]]
MakeProject = Callable[..., Path]

TEMPLATE = "templates:\n  promo: {path: promo.json}\n"
LOTTIE = json.dumps({"v": "5.7.4", "fr": 25, "ip": 0, "op": 50, "w": 32, "h": 18, "layers": []})


def found(root: Path) -> Found:
    """Every problem of loading the project: summary, location, field and hint."""
    _, problems = load_project(root)
    return [(p.summary, str(p.location), p.field, p.hint) for p in problems]


def loaded(root: Path, *, clean: bool = True) -> Project:
    project, problems = load_project(root)
    assert problems == () or not clean
    assert project is not None
    return project


# --- finding the project ----------------------------------------------------------------------


def test_find_project_from_folder_or_file(project: MakeProject) -> None:
    root = project("version: 1\n")
    assert find_project(root) == root.resolve()
    assert find_project(root / "nexspec.yaml") == root.resolve()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("absent", "{path}: no such file or directory"),
        ("empty", "{path}: no nexspec.yaml here; is this a nexspec project?"),
        ("empty/file.txt", "{path}: no nexspec.yaml here; is this a nexspec project?"),
    ],
)
def test_find_project_refuses(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "file.txt").write_text("x")
    path = tmp_path / name
    with pytest.raises(UsageError) as caught:
        find_project(path)
    assert str(caught.value) == message.format(path=path)
    assert caught.value.exit_code == EXIT_USAGE


# --- a valid project --------------------------------------------------------------------------


def test_a_valid_project(project: MakeProject, aep_bytes: bytes) -> None:
    root = project(
        """\
        version: 1
        include: [jobs/*.yaml]
        vars: {brand: Acme, sizes: [1, 2]}
        env: [CDN_BASE]
        download: out/renders
        templates:
          promo: {path: promo.json}
          aep: {path: templates/promo.aep, displayName: Acme promo, composition: main}
          folder: {path: templates/folder}
          lottie-folder: {path: templates/lottie}
          packed: {path: templates/packed.zip}
          card: {path: templates/card.mogrt}
          forced: {path: templates/packed.zip, type: lottie}
        jobs:
          teaser: {template: promo}
        """,
        {
            "jobs/more.yaml": "version: 1\ntemplates: {near: {path: ../promo.json}}\n"
            "jobs: {outro: {template: near}}\n",
            "templates/promo.aep": aep_bytes,
            "templates/folder/project.aep": aep_bytes,
            "templates/lottie/data.json": LOTTIE,
            "templates/packed.zip": b"PK\x05\x06" + b"\x00" * 18,
            "templates/card.mogrt": b"PK\x05\x06" + b"\x00" * 18,
        },
    )
    result = loaded(root)
    assert result.root == root
    assert result.files == ("nexspec.yaml", "jobs/more.yaml")
    assert result.vars == {"brand": "Acme", "sizes": [1, 2]}
    assert result.env == ("CDN_BASE",)
    assert result.download == "out/renders"
    assert {
        name: (t.relpath, t.kind, t.display_name, t.composition) for name, t in result.templates.items()
    } == {
        "promo": ("promo.json", TemplateKind.LOTTIE, "promo", None),
        "aep": ("templates/promo.aep", TemplateKind.AEP, "Acme promo", "main"),
        "folder": ("templates/folder", TemplateKind.ZIP, "folder", None),
        "lottie-folder": ("templates/lottie", TemplateKind.LOTTIE, "lottie-folder", None),
        "packed": ("templates/packed.zip", TemplateKind.ZIP, "packed", None),
        "card": ("templates/card.mogrt", TemplateKind.MOGRT, "card", None),
        "forced": ("templates/packed.zip", TemplateKind.LOTTIE, "forced", None),
        "near": ("promo.json", TemplateKind.LOTTIE, "near", None),
    }
    assert result.templates["near"].location == Location("jobs/more.yaml", 2, 13)
    assert [(j.key, str(j.location), j.directory) for j in result.jobs] == [
        ("teaser", "nexspec.yaml:15:3", root),
        ("outro", "jobs/more.yaml:3:8", root / "jobs"),
    ]


def test_require_project_raises_every_problem(project: MakeProject) -> None:
    root = project("version: 1\nvarz: {}\n")
    with pytest.raises(SpecError) as caught:
        require_project(root)
    assert str(caught.value) == "1 error(s) in the specs"
    assert [d.summary for d in caught.value.diagnostics] == ["unknown field 'varz'"]
    valid = project("version: 1\n" + TEMPLATE + "jobs: {a: {template: promo}}\n")
    assert require_project(valid) == loaded(valid)


# --- the schema -------------------------------------------------------------------------------


def test_schema_problems_are_located_with_hints(project: MakeProject) -> None:
    root = project(
        """\
        version: 1
        templtes: {}
        templates:
          bad name: {path: promo.json}
          ok: {path: promo.json, type: gif, colour: red}
          no-path: {}
        jobs:
          a:
            template: ok
            setings: {}
            settings: {type: mp4, quality: high, frames: [5]}
            tags: [bad tag, fine]
            priority: high
          b:
            template: ok
            preview: true
            settings: {quality: draft}
          c:
            template: ok
            assets:
              - {type: text, layerNme: title, value: x}
              - {type: txt, layerName: title, value: x}
              - {type: image, layerName: logo}
              - {layerName: title}
        """
    )
    assert found(root) == [
        ("unknown field 'templtes'", "nexspec.yaml:2:1", "templtes", "did you mean 'templates'?"),
        ("unknown field 'setings'", "nexspec.yaml:10:5", "jobs.a.setings", "did you mean 'settings'?"),
        ("'high' is not of type 'integer'", "nexspec.yaml:13:15", "jobs.a.priority", ""),
        ("[5] is too short", "nexspec.yaml:11:50", "jobs.a.settings.frames", ""),
        ("'high' is not one of 'draft', 'full'", "nexspec.yaml:11:36", "jobs.a.settings.quality", ""),
        ("'mp4' is not one of 'video', 'image', 'aep'", "nexspec.yaml:11:22", "jobs.a.settings.type", ""),
        ("'bad tag' does not match '^[a-zA-Z0-9_-]+$'", "nexspec.yaml:12:12", "jobs.a.tags[0]", ""),
        ("preview: true cannot be combined with settings (a preview uses fast settings)",
         "nexspec.yaml:16:14", "jobs.b.preview", ""),
        ("'layerName' is required", "nexspec.yaml:21:9", "jobs.c.assets[0]", ""),
        ("unknown field 'layerNme'", "nexspec.yaml:21:22", "jobs.c.assets[0].layerNme",
         "did you mean 'layerName'?"),
        ("'txt' is not one of 'text', 'data', 'image', 'video', 'audio', 'static', 'essential', 'script', "
         "'function', 'job'", "nexspec.yaml:22:16", "jobs.c.assets[1].type", ""),
        ("'src' is required", "nexspec.yaml:23:9", "jobs.c.assets[2]", ""),
        ("'type' is required", "nexspec.yaml:24:9", "jobs.c.assets[3]", ""),
        ("'bad name' does not match '^[A-Za-z0-9][A-Za-z0-9_.-]*$'", "nexspec.yaml:4:3", "templates", ""),
        ("'path' is required", "nexspec.yaml:6:12", "templates.no-path", ""),
        ("unknown field 'colour'", "nexspec.yaml:5:37", "templates.ok.colour",
         "allowed here: composition, displayName, path, type"),
        ("'gif' is not one of 'aep', 'zip', 'mogrt', 'lottie'", "nexspec.yaml:5:32", "templates.ok.type", ""),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("jobs: {}\n", ("'version' is required", "nexspec.yaml:1:1", "", "")),
        ("version: 2\n", ("1 was expected", "nexspec.yaml:1:10", "version", "")),
        ("- version: 1\n", ("a spec file must be a mapping", "nexspec.yaml:1:1", "", "")),
        ("just text\n", ("a spec file must be a mapping", "nexspec.yaml:1:1", "", "")),
        ("version: 1\nenv: [CDN-BASE]\n", ("'CDN-BASE' does not match '^[A-Za-z_][A-Za-z0-9_]*$'",
                                           "nexspec.yaml:2:7", "env[0]", "")),
        ("version: 1\nversion: 1\n", ("duplicate key 'version' (first defined at line 1)", "nexspec.yaml:2:1",
                                      "", "each key may appear once in a mapping")),
        ("version: 1\n", ("the project declares no jobs", "nexspec.yaml:1:1", "", "")),
    ],
    ids=["no-version", "version-2", "list", "scalar", "env-name", "duplicate-key", "no-jobs"],
)  # fmt: skip
def test_project_file_problems(project: MakeProject, spec: str, problem: tuple[str, str, str, str]) -> None:
    assert found(project(spec)) == [problem]


def test_an_unusable_project_file_gives_no_project(project: MakeProject) -> None:
    assert load_project(project("version: 1\nvarz: {}\n"))[0] is None


def test_included_files_may_hold_only_templates_and_jobs(project: MakeProject) -> None:
    root = project(
        "version: 1\ninclude: [more.yaml]\n" + TEMPLATE + "jobs: {a: {template: promo}}\n",
        {"more.yaml": "version: 1\nvars: {x: 1}\njobs: {b: {template: promo}}\n"},
    )
    assert found(root) == [
        ("unknown field 'vars'", "more.yaml:2:1", "vars", "allowed here: jobs, templates, version"),
    ]
    assert [j.key for j in loaded(root, clean=False).jobs] == ["a"]


# --- paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../promo.json", "'../promo.json' leads out of the project"),
        ("sub/../../promo.json", "'sub/../../promo.json' leads out of the project"),
        ("/etc/passwd", "'/etc/passwd' is an absolute path; paths are relative to the spec file"),
        ("'C:\\promo.json'", "'C:\\promo.json' is an absolute path; paths are relative to the spec file"),
        ("outside.json", "'outside.json' leads out of the project through a symlink"),
        ("missing.json", "template file 'missing.json' not found"),
        ("sub/../missing.json", "template file 'missing.json' not found"),
    ],
    ids=["dotdot", "dotdot-inside", "absolute", "windows-drive", "symlink-out", "missing", "normalised"],
)
def test_template_path_rules(project: MakeProject, tmp_path: Path, path: str, message: str) -> None:
    root = project(f"version: 1\ntemplates:\n  t: {{path: {path}}}\njobs: {{a: {{template: t}}}}\n")
    (tmp_path / "outside.json").write_text(LOTTIE)
    (root / "outside.json").symlink_to(tmp_path / "outside.json")
    assert found(root) == [(message, "nexspec.yaml:3:13", "templates.t.path", "")]


def test_a_symlink_inside_the_project_is_fine(project: MakeProject) -> None:
    root = project("version: 1\ntemplates:\n  t: {path: link.json}\njobs: {a: {template: t}}\n")
    (root / "link.json").symlink_to(root / "promo.json")
    assert loaded(root).templates["t"].relpath == "link.json"


def test_template_of_unknown_type(project: MakeProject) -> None:
    root = project(
        "version: 1\ntemplates:\n  t: {path: notes.txt}\njobs: {a: {template: t}}\n", {"notes.txt": "x"}
    )
    assert found(root) == [
        ("cannot tell the type of template 'notes.txt'", "nexspec.yaml:3:13", "templates.t.path",
         "use a folder, a .aep, .zip, .mogrt or Lottie .json file, or set type:"),
    ]  # fmt: skip


def test_download_must_stay_inside(project: MakeProject) -> None:
    root = project("version: 1\n" + TEMPLATE + "download: ../out\njobs: {a: {template: promo}}\n")
    assert found(root) == [("'../out' leads out of the project", "nexspec.yaml:4:11", "download", "")]


# --- includes ---------------------------------------------------------------------------------


def include_project(
    project: MakeProject, *patterns: str, files: dict[str, str | bytes] | None = None
) -> Path:
    listed = ", ".join(f"'{p}'" for p in patterns)
    return project(f"version: 1\ninclude: [{listed}]\n" + TEMPLATE + "jobs: {a: {template: promo}}\n", files)


def test_includes_are_read_once_in_order(project: MakeProject) -> None:
    job = "version: 1\njobs: {{{name}: {{template: promo}}}}\n"
    root = include_project(
        project,
        "b/*.yaml",
        "**/*.yaml",
        files={"b/x.yaml": job.format(name="bx"), "a/y.yaml": job.format(name="ay"), "notes/z.txt": "x"},
    )
    result = loaded(root)
    assert result.files == ("nexspec.yaml", "b/x.yaml", "a/y.yaml")
    assert [j.key for j in result.jobs] == ["a", "bx", "ay"]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("../*.yaml", "include pattern '../*.yaml' leaves the project"),
        ("/etc/*.yaml", "include pattern '/etc/*.yaml' leaves the project"),
        ("nothing/*.yaml", "include pattern 'nothing/*.yaml' matches no file"),
        ("linked/*.yaml", "'linked/x.yaml' leads out of the project"),
        ("linked-folder/*.yaml", "'linked-folder/x.yaml' leads out of the project"),
    ],
    ids=["dotdot", "absolute", "no-match", "symlinked-file", "symlinked-folder"],
)
def test_include_path_rules(project: MakeProject, tmp_path: Path, pattern: str, message: str) -> None:
    root = include_project(project, pattern)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.yaml").write_text("version: 1\njobs: {evil: {template: promo}}\n")
    (root / "linked").mkdir()
    (root / "linked" / "x.yaml").symlink_to(outside / "x.yaml")
    (root / "linked-folder").symlink_to(outside)
    assert found(root) == [(message, "nexspec.yaml:2:11", "", "")]


def test_template_declared_twice_across_files(project: MakeProject) -> None:
    root = include_project(
        project,
        "specs/*.yaml",
        files={"specs/more.yaml": "version: 1\ntemplates:\n  promo: {path: ../promo.json}\n"},
    )
    assert found(root) == [
        ("template 'promo' is declared twice (first at nexspec.yaml:4:3)", "specs/more.yaml:3:3", "", ""),
    ]


def test_paths_in_included_files_are_relative_to_them(project: MakeProject) -> None:
    root = include_project(
        project,
        "specs/*.yaml",
        files={"specs/more.yaml": "version: 1\ntemplates:\n  t: {path: promo.json}\n"},
    )
    assert found(root) == [
        ("template file 'specs/promo.json' not found", "specs/more.yaml:3:13", "templates.t.path", "")
    ]


def test_an_included_file_that_is_not_yaml(project: MakeProject) -> None:
    root = include_project(project, "more.yaml", files={"more.yaml": b"version: 1\n\xff\n"})
    assert found(root) == [("file is not UTF-8: invalid byte 0xff", "more.yaml:2", "", "")]


# --- defaults ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "override", "merged"),
    [
        ({"a": 1}, {"b": 2}, {"a": 1, "b": 2}),
        ({"a": 1}, {"a": 2}, {"a": 2}),
        ({"s": {"x": 1, "y": 1}}, {"s": {"y": 2, "z": 3}}, {"s": {"x": 1, "y": 2, "z": 3}}),
        ({"s": {"deep": {"x": 1}}}, {"s": {"deep": {"y": 2}}}, {"s": {"deep": {"x": 1, "y": 2}}}),
        ({"tags": ["a", "b"]}, {"tags": ["c"]}, {"tags": ["c"]}),
        ({"s": {"x": 1}}, {"s": None}, {"s": None}),
        ({"s": 1}, {"s": {"x": 1}}, {"s": {"x": 1}}),
    ],
    ids=["adds", "replaces-scalar", "merges-mapping", "merges-deeply", "replaces-list", "replaces-with-null",
         "mapping-over-scalar"],
)  # fmt: skip
def test_deep_merge(base: dict[str, object], override: dict[str, object], merged: dict[str, object]) -> None:
    before = json.dumps(base)
    assert deep_merge(base, override) == merged  # type: ignore[arg-type]
    assert json.dumps(base) == before


def test_defaults_are_merged_and_located(project: MakeProject) -> None:
    root = project(
        """\
        version: 1
        templates:
          promo: {path: promo.json}
        defaults:
          template: promo
          settings: {type: video, codec: video_h264_vbr_15mbps}
          tags: [base]
        jobs:
          a:
            settings: {quality: draft}
            tags: [own]
        """
    )
    (job,) = loaded(root).jobs
    assert job.body == {
        "template": "promo",
        "settings": {"type": "video", "codec": "video_h264_vbr_15mbps", "quality": "draft"},
        "tags": ["own"],
    }
    assert job.locate(("template",)) == Location("nexspec.yaml", 5, 13)
    assert job.locate(("settings", "codec")) == Location("nexspec.yaml", 6, 34)
    assert job.locate(("settings", "quality")) == Location("nexspec.yaml", 10, 25)
    assert job.locate(("tags", 0)) == Location("nexspec.yaml", 11, 12)
    assert job.locate(("assets", 0)) == Location("nexspec.yaml", 10, 5)
