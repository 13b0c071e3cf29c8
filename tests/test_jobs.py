"""Job expansion: specs and foreach rows rendered into checked payloads, with located problems."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from nexspec.jobs import MAX_PROBLEMS_PER_JOB, STAND_IN_TEMPLATE_ID, ResolvedJob, bind, expand_jobs
from nexspec.payload import JsonObject
from nexspec.spec import load_project

MakeProject = Callable[..., Path]
Found = list[tuple[str, str, str, str, str]]

HEAD = "version: 1\ntemplates: {promo: {path: promo.json}}\n"
SECURITY_HINT = "templates may not reach Python internals"
LOCAL_FILE_HINT = "a src without a scheme is a file in the project; use https://… for remote media"
UNIQUE_HINT = "job names must be unique; add a distinguishing column to the name"
NAME_RULE = "may hold only letters, digits, _ . -"


def expand(root: Path, environ: Mapping[str, str] | None = None) -> tuple[tuple[ResolvedJob, ...], Found]:
    project, problems = load_project(root)
    assert project is not None
    assert [p for p in problems if p.severity == "error"] == [], problems
    jobs, found = expand_jobs(project, environ or {})
    return jobs, [(p.summary, str(p.location), p.field, p.hint, p.detail) for p in found]


def problems_of(root: Path, environ: Mapping[str, str] | None = None) -> Found:
    return expand(root, environ)[1]


def payloads(root: Path, environ: Mapping[str, str] | None = None) -> dict[str, JsonObject]:
    jobs, found = expand(root, environ)
    assert found == []
    return {job.name: job.payload for job in jobs}


def with_head(text: str) -> str:
    """The standard template declaration followed by ``text`` (dedented)."""
    return HEAD + textwrap.dedent(text)


def jobs_spec(body: str) -> str:
    """A project with the standard template and these jobs (indented under ``jobs:``)."""
    return HEAD + "jobs:\n" + textwrap.indent(textwrap.dedent(body), "  ")


# --- payloads ---------------------------------------------------------------------------------


def test_a_job_becomes_its_payload(project: MakeProject) -> None:
    root = project(
        jobs_spec(
            """\
            teaser:
              template: promo
              composition: main
              description: for humans only
              templateSrc: https://files.example.com/promo.zip
              settings: {type: video, codec: video_h264_vbr_15mbps, frames: [0, 49]}
              tags: [spring, "{{ job.name }}"]
              priority: 3
              fonts: [Inter-Bold.ttf]
              webhook:
                url: "https://hooks.example.com/{{ job.name }}"
                headers: {Authorization: "${secrets.T}"}
              assets:
                - {type: text, layerName: title, value: "{{ vars.brand }}: new season"}
                - {type: text, layerName: subtitle, value: 2026}
                - {type: data, layerName: background, property: Effects.Fill.Color, value: [1, 0.5, 0]}
                - {type: image, layerName: logo, src: "https://cdn.example.com/{{ job.name }}.png"}
                - {type: audio, layerName: logo, src: "${secrets.AUDIO_URL}"}
            """
        ).replace("version: 1\n", "version: 1\nvars: {brand: Acme}\n")
    )
    jobs, found = expand(root)
    assert found == []
    (job,) = jobs
    assert (job.name, job.template, job.composition, str(job.location), job.origin, job.local_files) == (
        "teaser",
        "promo",
        "main",
        "nexspec.yaml:5:3",
        "nexspec.yaml:5:3",
        (),
    )
    assert job.payload == {
        "settings": {"type": "video", "codec": "video_h264_vbr_15mbps", "frames": [0, 49]},
        "tags": ["spring", "teaser"],
        "priority": 3,
        "fonts": ["Inter-Bold.ttf"],
        "webhook": {"url": "https://hooks.example.com/teaser", "headers": {"Authorization": "${secrets.T}"}},
        "assets": [
            {"type": "text", "layerName": "title", "value": "Acme: new season"},
            {"type": "text", "layerName": "subtitle", "value": 2026},
            {
                "type": "data",
                "layerName": "background",
                "property": "Effects.Fill.Color",
                "value": [1, 0.5, 0],
            },
            {"type": "image", "layerName": "logo", "src": "https://cdn.example.com/teaser.png"},
            {"type": "audio", "layerName": "logo", "src": "${secrets.AUDIO_URL}"},
        ],
        "template": {"id": "promo", "composition": "main", "src": "https://files.example.com/promo.zip"},
    }


def test_defaults_are_merged_into_every_job(project: MakeProject) -> None:
    root = project(
        with_head(
            """\
        defaults:
          template: promo
          settings: {type: video, codec: video_h264_vbr_15mbps}
          tags: [base]
          webhook: {url: "https://hooks.example.com", headers: {A: "${secrets.A}"}}
        jobs:
          plain: {}
          own:
            settings: {quality: draft}
            tags: [own]
            webhook: {url: "https://other.example.com"}
        """
        )
    )
    assert payloads(root) == {
        "plain": {
            "settings": {"type": "video", "codec": "video_h264_vbr_15mbps"},
            "tags": ["base"],
            "webhook": {"url": "https://hooks.example.com", "headers": {"A": "${secrets.A}"}},
            "template": {"id": "promo"},
        },
        "own": {
            "settings": {"type": "video", "codec": "video_h264_vbr_15mbps", "quality": "draft"},
            "tags": ["own"],
            "webhook": {"url": "https://other.example.com", "headers": {"A": "${secrets.A}"}},
            "template": {"id": "promo"},
        },
    }


# --- foreach ----------------------------------------------------------------------------------

ROWS = {
    "data/cities.csv": "city,slug\nLisbon,lisbon\nOslo,oslo\n",
    "data/cities.json": '[{"city": "Lisbon", "slug": "lisbon"}, {"city": "Oslo", "slug": "oslo"}]',
    "data/cities.yaml": "- {city: Lisbon, slug: lisbon}\n- {city: Oslo, slug: oslo}\n",
}


@pytest.mark.parametrize(
    ("foreach", "origins"),
    [
        ("data/cities.csv", ["row 1 of data/cities.csv (line 2)", "row 2 of data/cities.csv (line 3)"]),
        ("data/cities.json", ["row 1 of data/cities.json", "row 2 of data/cities.json"]),
        ("data/cities.yaml", ["row 1 of data/cities.yaml (line 1)", "row 2 of data/cities.yaml (line 2)"]),
        ("[{city: Lisbon, slug: lisbon}, {city: Oslo, slug: oslo}]",
         ["row 1 of nexspec.yaml (line 5)", "row 2 of nexspec.yaml (line 5)"]),
    ],
    ids=["csv", "json", "yaml", "inline"],
)  # fmt: skip
def test_foreach_makes_one_job_per_row(project: MakeProject, foreach: str, origins: list[str]) -> None:
    root = project(
        jobs_spec(
            f"""\
            city-{{{{ row.slug }}}}:
              foreach: {foreach}
              template: promo
              assets:
                - {{type: text, layerName: title, value: "Now in {{{{ row.city }}}}"}}
            """
        ),
        ROWS,
    )
    jobs, found = expand(root)
    assert found == []
    assert [(j.name, j.origin, j.payload["assets"]) for j in jobs] == [
        ("city-lisbon", f"nexspec.yaml:4:3, {origins[0]}",
         [{"type": "text", "layerName": "title", "value": "Now in Lisbon"}]),
        ("city-oslo", f"nexspec.yaml:4:3, {origins[1]}",
         [{"type": "text", "layerName": "title", "value": "Now in Oslo"}]),
    ]  # fmt: skip


def test_row_values_are_data(project: MakeProject) -> None:
    root = project(
        jobs_spec(
            """\
            card-{{ row.n }}:
              foreach: rows.csv
              template: promo
              assets:
                - {type: text, layerName: title, value: "{{ row.title }}"}
                - {type: text, layerName: subtitle, value: "{{ vars.tagline }}"}
            """
        ).replace("version: 1\n", "version: 1\nvars: {tagline: '{{ 6 * 7 }}'}\n"),
        {"rows.csv": "n,title\n1,{{ 7*7 }}\n2,{% raw %}x\n"},
    )
    assert [job["assets"] for job in payloads(root).values()] == [
        [{"type": "text", "layerName": "title", "value": "{{ 7*7 }}"},
         {"type": "text", "layerName": "subtitle", "value": "{{ 6 * 7 }}"}],
        [{"type": "text", "layerName": "title", "value": "{% raw %}x"},
         {"type": "text", "layerName": "subtitle", "value": "{{ 6 * 7 }}"}],
    ]  # fmt: skip


def test_an_empty_foreach_makes_no_jobs(project: MakeProject) -> None:
    root = project(jobs_spec("a:\n  template: promo\n  foreach: []\n"))
    assert expand(root) == ((), [])


@pytest.mark.parametrize(
    ("data", "found"),
    [
        ("city,slug\nLisbon\nOslo,oslo,NO\n",
         [("row has 1 field(s) but the header has 2: missing slug", "rows.csv:2", "", "", ""),
          ("row has 3 field(s) but the header has 2", "rows.csv:3", "", "quote values that contain commas",
           "")]),
        ("city,city\n", [("CSV header repeats column(s): city", "rows.csv:1", "", "", "")]),
    ],
    ids=["widths", "header"],
)  # fmt: skip
def test_bad_rows_are_reported_where_they_are(project: MakeProject, data: str, found: Found) -> None:
    root = project(
        jobs_spec("c-{{ row.slug }}:\n  template: promo\n  foreach: rows.csv\n"), {"rows.csv": data}
    )
    assert problems_of(root) == found


@pytest.mark.parametrize(
    ("foreach", "message"),
    [
        ("../rows.csv", "'../rows.csv' leads out of the project"),
        ("/etc/passwd", "'/etc/passwd' is an absolute path; paths are relative to the spec file"),
        ("linked.csv", "'linked.csv' leads out of the project through a symlink"),
    ],
    ids=["dotdot", "absolute", "symlink-out"],
)
def test_foreach_files_stay_inside(project: MakeProject, tmp_path: Path, foreach: str, message: str) -> None:
    root = project(jobs_spec(f"c-{{{{ row.a }}}}:\n  template: promo\n  foreach: {foreach}\n"))
    (tmp_path / "rows.csv").write_text("a\n1\n")
    (root / "linked.csv").symlink_to(tmp_path / "rows.csv")
    assert problems_of(root) == [(message, "nexspec.yaml:6:14", "jobs.c-{{ row.a }}.foreach", "", "")]


def test_foreach_file_missing(project: MakeProject) -> None:
    root = project(jobs_spec("c-{{ row.a }}:\n  template: promo\n  foreach: data/rows.csv\n"))
    assert problems_of(root) == [("file not found", "data/rows.csv", "", "", "")]


def test_foreach_paths_are_relative_to_their_spec(project: MakeProject) -> None:
    root = project(
        HEAD + "include: [specs/*.yaml]\njobs: {a: {template: promo}}\n",
        {
            "specs/cities.yaml": "version: 1\njobs:\n  c-{{ row.a }}: {template: promo, foreach: rows.csv}\n",
            "specs/rows.csv": "a\nx\n",
        },
    )
    assert list(payloads(root)) == ["a", "c-x"]


# --- undefined values and template problems ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{{ vars.brnd }}", "'brnd' is not defined under vars:"),
        ("{{ env.CAMPAIGN }}", "environment variable 'CAMPAIGN' is declared in env: but not set"),
        ("{{ env.HOME }}", "environment variable 'HOME' is not declared in env:"),
        ("{{ row.city }}", "'row' is undefined: only jobs with foreach: have a row"),
        ("{{ city }}", "'city' is undefined"),
    ],
    ids=["vars", "env-unset", "env-undeclared", "row-outside-foreach", "bare-name"],
)
def test_undefined_values_are_located(project: MakeProject, value: str, message: str) -> None:
    asset = f'{{type: text, layerName: title, value: "{value}"}}'
    spec = jobs_spec(f"a:\n  template: promo\n  assets:\n    - {asset}\n")
    root = project(
        spec.replace("version: 1\n", "version: 1\nvars: {brand: Acme}\nenv: [CDN_BASE, CAMPAIGN]\n")
    )
    assert problems_of(root, {"CDN_BASE": "https://cdn", "HOME": "/root"}) == [
        (message, "nexspec.yaml:9:47", "jobs.a.assets[0].value", "", "in nexspec.yaml:6:3"),
    ]


def test_problems_in_included_files_are_located_there(project: MakeProject) -> None:
    root = project(
        HEAD + "include: [specs/*.yaml]\njobs: {a: {template: promo}}\n",
        {"specs/more.yaml": "version: 1\njobs:\n  b:\n    template: promo\n    assets:\n"
                            "      - {type: text, layerName: title, value: '{{ vars.brand }}'}\n"},
    )  # fmt: skip
    assert problems_of(root) == [
        ("'brand' is not defined under vars:", "specs/more.yaml:6:47", "jobs.b.assets[0].value", "",
         "in specs/more.yaml:3:3"),
    ]  # fmt: skip


def test_a_missing_row_column_names_the_columns(project: MakeProject) -> None:
    root = project(
        jobs_spec(
            """\
            c-{{ row.slug }}:
              template: promo
              foreach: rows.csv
              assets:
                - {type: text, layerName: title, value: "{{ row.cty }}"}
            """
        ),
        {"rows.csv": "city,slug\nLisbon,lisbon\nOslo,oslo\n"},
    )
    field = "jobs.c-{{ row.slug }}.assets[0].value"
    assert problems_of(root) == [
        ("row 1 of rows.csv has no column 'cty' (columns: city, slug)", "nexspec.yaml:8:47", field, "",
         "in nexspec.yaml:4:3, row 1 of rows.csv (line 2)"),
        ("row 2 of rows.csv has no column 'cty' (columns: city, slug)", "nexspec.yaml:8:47", field, "",
         "in nexspec.yaml:4:3, row 2 of rows.csv (line 3)"),
    ]  # fmt: skip


def test_a_missing_column_in_the_name(project: MakeProject) -> None:
    root = project(jobs_spec("c-{{ row.nope }}:\n  template: promo\n  foreach: [{a: 1}]\n"))
    assert problems_of(root) == [
        ("row 1 of nexspec.yaml has no column 'nope' (columns: a)", "nexspec.yaml:4:3",
         "jobs.c-{{ row.nope }}", "", "in nexspec.yaml:4:3, row 1 of nexspec.yaml (line 6)"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{{ ''.__class__.__mro__ }}", "access to attribute '__class__' of 'str' object is unsafe."),
        ("{{ cycler.__init__.__globals__ }}", "access to attribute '__init__' of 'type' object is unsafe."),
        ("{{ ''|attr('__class__') }}", "access to attribute '__class__' of 'str' object is unsafe."),
        ("{{ [].append(1) }}", "access to attribute 'append' of 'list' object is unsafe."),
    ],
    ids=["mro", "globals", "attr", "append"],
)
def test_injection_gets_the_security_hint(project: MakeProject, value: str, message: str) -> None:
    root = project(
        jobs_spec(
            f'a:\n  template: promo\n  assets:\n    - {{type: text, layerName: title, value: "{value}"}}\n'
        )
    )
    assert problems_of(root) == [
        (f"unsafe template: {message}", "nexspec.yaml:7:47", "jobs.a.assets[0].value", SECURITY_HINT,
         "in nexspec.yaml:4:3"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{{ lipsum(10**6) }}", "'lipsum' is undefined"),
        ("{{ range(10**9) | list }}", "range() of 1000000000 items is over 10000"),
        ("{% for i in range(200) %}{% for j in range(200) %}{% endfor %}{% endfor %}",
         "loops ran over 10000 iterations"),
        ("{{ 'a' * 10**9 }}", "repetition would make 1000000000 items"),
        ("{{ 2 ** (10**6) }}", "exponent 1000000 is over 256"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "template recursion is too deep"),
    ],
    ids=["lipsum", "range", "nested-loops", "repetition", "power", "recursion"],
)  # fmt: skip
def test_expensive_templates_are_stopped(project: MakeProject, value: str, message: str) -> None:
    root = project(
        jobs_spec(
            f'a:\n  template: promo\n  assets:\n    - {{type: text, layerName: title, value: "{value}"}}\n'
        )
    )
    assert problems_of(root) == [
        (message, "nexspec.yaml:7:47", "jobs.a.assets[0].value", "", "in nexspec.yaml:4:3")
    ]


def test_a_syntax_error_is_located_on_its_own_line(project: MakeProject) -> None:
    root = project(
        jobs_spec(
            """\
            a:
              template: promo
              assets:
                - type: text
                  layerName: title
                  value: |
                    first line
                    second {{ oops
            b:
              template: promo
              assets:
                - {type: text, layerName: title, value: "{% for %}"}
            """
        )
    )
    assert problems_of(root) == [
        ("template syntax error: unexpected end of template, expected 'end of print statement'.",
         "nexspec.yaml:11", "jobs.a.assets[0].value", "", ""),
        ("template syntax error: Expected an expression, got 'end of statement block'", "nexspec.yaml:15:47",
         "jobs.b.assets[0].value", "", ""),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("key", "rows", "found"),
    [
        ("'{{ row.x }}'", "[{x: a b}, {x: ''}]",
         [(f"job name 'a b' {NAME_RULE} (from nexspec.yaml:4:3, row 1 of nexspec.yaml (line 6))",
           "nexspec.yaml:4:3", "jobs.{{ row.x }}", "", ""),
          (f"job name '' {NAME_RULE} (from nexspec.yaml:4:3, row 2 of nexspec.yaml (line 6))",
           "nexspec.yaml:4:3", "jobs.{{ row.x }}", "", "")]),
        ("'c-{{ row.x'", "[{x: a}]",
         [("template syntax error: unexpected end of template, expected 'end of print statement'.",
           "nexspec.yaml:4:3", "jobs.c-{{ row.x", "", "")]),
    ],
    ids=["invalid-name", "syntax"],
)  # fmt: skip
def test_job_name_problems(project: MakeProject, key: str, rows: str, found: Found) -> None:
    root = project(jobs_spec(f"{key}:\n  template: promo\n  foreach: {rows}\n"))
    assert problems_of(root) == found


# --- names ------------------------------------------------------------------------------------


def test_rows_producing_the_same_name_collide(project: MakeProject) -> None:
    root = project(
        jobs_spec("c-{{ row.x }}:\n  template: promo\n  foreach: rows.csv\n"), {"rows.csv": "x\n1\n2\n1\n"}
    )
    jobs, found = expand(root)
    assert [j.name for j in jobs] == ["c-1", "c-2", "c-1"]
    assert found == [
        ("job name 'c-1' is produced twice: by nexspec.yaml:4:3, row 1 of rows.csv (line 2) and by "
         "nexspec.yaml:4:3, row 3 of rows.csv (line 4)", "nexspec.yaml:4:3", "", UNIQUE_HINT, ""),
    ]  # fmt: skip


def test_jobs_from_different_files_collide(project: MakeProject) -> None:
    root = project(
        HEAD
        + "include: [more.yaml]\njobs:\n  city-{{ row.slug }}: {template: promo, foreach: [{slug: oslo}]}\n",
        {"more.yaml": "version: 1\njobs:\n  city-oslo: {template: promo}\n"},
    )
    assert problems_of(root) == [
        ("job name 'city-oslo' is produced twice: by nexspec.yaml:5:3, row 1 of nexspec.yaml (line 5) and by "
         "more.yaml:3:3", "more.yaml:3:3", "", UNIQUE_HINT, ""),
    ]  # fmt: skip


# --- templates and compositions ---------------------------------------------------------------


def test_unknown_templates(project: MakeProject) -> None:
    root = project(
        jobs_spec(
            """\
            a: {template: promoo}
            b: {template: zzz}
            c: {}
            d:
              template: promo
              assets:
                - {type: job, layerName: logo, template: promt, composition: main}
            """
        )
    )
    assert problems_of(root) == [
        ("unknown template 'promoo'", "nexspec.yaml:4:17", "jobs.a.template", "did you mean 'promo'?", ""),
        ("unknown template 'zzz'", "nexspec.yaml:5:17", "jobs.b.template", "declared templates: promo", ""),
        ("job names no template", "nexspec.yaml:6:3", "jobs.c.template",
         "add template: NAME here or in defaults:", ""),
        ("unknown template 'promt'", "nexspec.yaml:10:48", "jobs.d.assets[0].template",
         "did you mean 'promo'?", ""),
    ]  # fmt: skip


def test_a_template_with_its_own_error_is_not_reported_again(project: MakeProject) -> None:
    root = project(
        "version: 1\ntemplates:\n  broken: {path: missing.json}\n  promo: {path: promo.json}\n"
        "jobs:\n  a: {template: broken}\n  b: {template: promo, assets: [{type: job, layerName: logo, "
        "template: broken, composition: main}]}\n"
    )
    project_, problems = load_project(root)
    assert project_ is not None and project_.invalid_templates == {"broken"}
    assert [p.summary for p in problems] == ["template file 'missing.json' not found"]
    assert expand_jobs(project_, {})[1] == ()


def test_aep_and_zip_templates_need_a_composition(project: MakeProject, aep_bytes: bytes) -> None:
    root = project(
        """\
        version: 1
        templates:
          bare: {path: promo.aep}
          main: {path: promo.aep, composition: main}
          promo: {path: promo.json}
          folder: {path: folder}
        jobs:
          a: {template: bare}
          e: {template: folder}
          b: {template: bare, composition: "main->lower third"}
          c: {template: main}
          d: {template: promo}
        """,
        {"promo.aep": aep_bytes, "folder/project.aep": aep_bytes},
    )
    jobs, found = expand(root)
    assert found == [
        ("job names no composition for aep template 'bare'", "nexspec.yaml:8:3", "jobs.a.composition",
         "add composition: here, or a default composition: under templates.bare", ""),
        ("job names no composition for zip template 'folder'", "nexspec.yaml:9:3", "jobs.e.composition",
         "add composition: here, or a default composition: under templates.folder", ""),
    ]  # fmt: skip
    assert [(j.name, j.composition, j.payload["template"]) for j in jobs] == [
        ("b", "main->lower third", {"id": "bare", "composition": "main->lower third"}),
        ("c", "main", {"id": "main", "composition": "main"}),
        ("d", None, {"id": "promo"}),
    ]


# --- the job schema ---------------------------------------------------------------------------


def test_the_merged_job_is_checked_against_the_cloud_schema(project: MakeProject) -> None:
    root = project(
        with_head(
            """\
        defaults:
          settings: {quality: draft}
        jobs:
          a: {template: promo, preview: true}
          b: {template: promo, settings: {frames: [10, 10]}}
          c: {template: promo, settings: {frames: [10, 5]}}
          d: {template: promo, settings: {codec: "{{ 'image_png' }}"}}
          e: {template: promo, tags: ["{{ 'bad tag' }}"]}
          f: {template: promo, settings: {frames: [0, 1]}}
        """
        )
    )
    jobs, found = expand(root)
    assert found == [
        ("preview: true cannot be combined with settings (a preview uses fast settings)", "nexspec.yaml:6:33",
         "jobs.a.preview", "", ""),
        ("frame range [10, 10] must end after it starts", "nexspec.yaml:7:43", "jobs.b.settings.frames", "",
         ""),
        ("frame range [10, 5] must end after it starts", "nexspec.yaml:8:43", "jobs.c.settings.frames", "",
         ""),
        ("'type' is required", "nexspec.yaml:9:34", "jobs.d.settings", "", ""),
        ("'bad tag' does not match '^[a-zA-Z0-9_-]+$'", "nexspec.yaml:10:31", "jobs.e.tags[0]", "", ""),
    ]  # fmt: skip
    assert [j.name for j in jobs] == ["f"]


def test_schema_problems_of_foreach_rows_name_the_row(project: MakeProject) -> None:
    rows = "[{n: 1, t: ok}, {n: 2, t: not ok}]"
    root = project(
        jobs_spec(f"c-{{{{ row.n }}}}:\n  template: promo\n  foreach: {rows}\n  tags: ['{{{{ row.t }}}}']\n")
    )
    assert problems_of(root) == [
        ("'not ok' does not match '^[a-zA-Z0-9_-]+$'", "nexspec.yaml:7:12", "jobs.c-{{ row.n }}.tags[0]", "",
         "in nexspec.yaml:4:3, row 2 of nexspec.yaml (line 6)"),
    ]  # fmt: skip


# --- local files ------------------------------------------------------------------------------


def test_local_asset_files(project: MakeProject, tmp_path: Path) -> None:
    root = project(
        with_head(
            """\
        include: [specs/*.yaml]
        defaults:
          assets:
            - {type: image, layerName: logo, src: images/logo.png}
        jobs:
          uses-defaults: {template: promo}
        """
        ),
        {
            "images/logo.png": b"png",
            "specs/images/local.png": b"png",
            "specs/more.yaml": "version: 1\njobs:\n  own:\n    template: promo\n    assets:\n"
            "      - {type: image, layerName: logo, src: images/local.png}\n"
            "      - {type: image, layerName: logo, src: 'https://cdn.example.com/x.png'}\n"
            "      - {type: script, src: '${secrets.SCRIPT_URL}'}\n",
        },
    )
    jobs, found = expand(root)
    assert found == []
    assert [(j.name, j.local_files, [a.get("src") for a in j.payload["assets"]]) for j in jobs] == [  # type: ignore[union-attr]
        ("uses-defaults", ("images/logo.png",), ["images/logo.png"]),
        ("own", ("specs/images/local.png",), ["specs/images/local.png", "https://cdn.example.com/x.png",
                                              "${secrets.SCRIPT_URL}"]),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("src", "message", "hint"),
    [
        ("../logo.png", "'../logo.png' leads out of the project", ""),
        ("/etc/passwd", "'/etc/passwd' is an absolute path; paths are relative to the spec file", ""),
        ("linked.png", "'linked.png' leads out of the project through a symlink", ""),
        ("missing.png", "asset file 'missing.png' not found", LOCAL_FILE_HINT),
    ],
    ids=["dotdot", "absolute", "symlink-out", "missing"],
)
def test_local_asset_files_stay_inside(
    project: MakeProject, tmp_path: Path, src: str, message: str, hint: str
) -> None:
    root = project(
        jobs_spec(f"a:\n  template: promo\n  assets:\n    - {{type: image, layerName: logo, src: {src}}}\n")
    )
    (tmp_path / "logo.png").write_bytes(b"png")
    (root / "linked.png").symlink_to(tmp_path / "logo.png")
    assert problems_of(root) == [(message, "nexspec.yaml:7:45", "jobs.a.assets[0].src", hint, "")]


def test_problems_per_job_are_capped(project: MakeProject) -> None:
    assets = "".join(f"    - {{type: image, layerName: logo, src: missing{i}.png}}\n" for i in range(12))
    root = project(jobs_spec("many:\n  template: promo\n  assets:\n" + assets))
    found = problems_of(root)
    assert len(found) == MAX_PROBLEMS_PER_JOB + 1
    assert found[0] == ("asset file 'missing0.png' not found", "nexspec.yaml:7:45", "jobs.many.assets[0].src",
                        LOCAL_FILE_HINT, "")  # fmt: skip
    assert found[-1] == ("2 more problem(s) in job 'many' not shown", "nexspec.yaml:4:3", "", "", "")


# --- binding ----------------------------------------------------------------------------------


def test_bind_swaps_in_ids_and_urls() -> None:
    payload: JsonObject = {
        "template": {"id": "promo", "composition": "main"},
        "assets": [
            {"type": "image", "layerName": "logo", "src": "images/logo.png"},
            {"type": "image", "layerName": "logo", "src": "https://cdn.example.com/a.png"},
            {"type": "audio", "layerName": "logo", "src": "${secrets.URL}"},
            {"type": "job", "layerName": "logo", "template": {"id": "intro", "composition": "main"},
             "assets": [{"type": "video", "layerName": "v", "src": "clips/a.mp4"}]},
        ],
    }  # fmt: skip
    ids = {"promo": "01PROMO", "intro": "01INTRO"}
    assert bind(payload, ids, lambda src: f"http://127.0.0.1/files/{src}") == {
        "template": {"id": "01PROMO", "composition": "main"},
        "assets": [
            {"type": "image", "layerName": "logo", "src": "http://127.0.0.1/files/images/logo.png"},
            {"type": "image", "layerName": "logo", "src": "https://cdn.example.com/a.png"},
            {"type": "audio", "layerName": "logo", "src": "${secrets.URL}"},
            {"type": "job", "layerName": "logo", "template": {"id": "01INTRO", "composition": "main"},
             "assets": [{"type": "video", "layerName": "v", "src": "http://127.0.0.1/files/clips/a.mp4"}]},
        ],
    }  # fmt: skip
    without_urls = bind(payload, ids)["assets"]
    assert isinstance(without_urls, list)
    assert without_urls[0] == {"type": "image", "layerName": "logo", "src": "images/logo.png"}
    assert without_urls[3] == {
        "type": "job",
        "layerName": "logo",
        "template": {"id": "01INTRO", "composition": "main"},
        "assets": [{"type": "video", "layerName": "v", "src": "clips/a.mp4"}],
    }
    assert payload["template"] == {"id": "promo", "composition": "main"}


def test_the_stand_in_template_id_passes_the_cloud_schema(project: MakeProject) -> None:
    assert STAND_IN_TEMPLATE_ID == "0" * 26
    root = project(jobs_spec("a: {template: promo}\n"))
    assert payloads(root) == {"a": {"template": {"id": "promo"}}}
