"""``validate_project``: specs, Jinja and template files checked together, every problem collected."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

from nexspec.commands.validate import STATE_DIR, validate_project
from nexspec.diagnostics import Diagnostic, Location

MakeProject = Callable[..., Path]
Found = list[tuple[str, str, str, str]]

REPACK_HINT = "re-create the archive from inside the template folder"


def found(diagnostics: tuple[Diagnostic, ...]) -> Found:
    return [(d.severity, d.summary, str(d.location), d.hint) for d in diagnostics]


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data)
    return out.getvalue()


def test_a_valid_project(project: MakeProject) -> None:
    root = project(
        """\
        version: 1
        env: [CDN_BASE]
        templates:
          promo: {path: promo.json}
        jobs:
          teaser:
            template: promo
            assets:
              - {type: text, layerName: title, value: Hello}
              - {type: image, layerName: logo, src: "{{ env.CDN_BASE }}/logo.png"}
              - {type: text, layerName: caption, value: Intro, composition: intro}
        """
    )
    result = validate_project(root, environ={"CDN_BASE": "https://cdn.example.com"})
    assert result.diagnostics == ()
    assert result.ok() and result.ok(strict=True)
    state = result.templates["promo"]
    digest = hashlib.sha256((root / "promo.json").read_bytes()).hexdigest()
    assert state.digest is not None and state.digest.value == f"sha256:{digest}"
    assert state.info is not None and [c.name for c in state.info.compositions] == ["main", "intro"]
    (job,) = result.jobs
    assert job.payload["assets"] == [
        {"type": "text", "layerName": "title", "value": "Hello"},
        {"type": "image", "layerName": "logo", "src": "https://cdn.example.com/logo.png"},
        {"type": "text", "layerName": "caption", "value": "Intro", "composition": "intro"},
    ]
    assert (root / STATE_DIR / "cache" / "introspect" / f"{digest}.json").is_file()


def test_every_kind_of_problem_is_collected(project: MakeProject, aep_bytes: bytes) -> None:
    root = project(
        """\
        version: 1
        templates:
          promo: {path: promo.aep, composition: main}
          lottie: {path: promo.json}
        jobs:
          wrong-layer:
            template: promo
            assets:
              - {type: text, layerName: titel, value: x}
              - {type: text, layerName: photo, value: x}
              - {type: text, layerName: name, value: x, composition: "main->lower third"}
          wrong-comp: {template: promo, composition: "main->lower thrid"}
          unknown: {template: promoo}
          undefined:
            template: lottie
            assets:
              - {type: text, layerName: title, value: "{{ vars.nope }}"}
        """,
        {"promo.aep": aep_bytes},
    )
    result = validate_project(root, environ={})
    assert found(result.diagnostics) == [
        ("error", "unknown template 'promoo'", "nexspec.yaml:13:23", "did you mean 'promo'?"),
        ("error", "'nope' is not defined under vars:", "nexspec.yaml:17:47", ""),
        ("error", "layer 'titel' not found in composition 'main'", "nexspec.yaml:9:33",
         "did you mean 'title'?"),
        ("error", "layer 'photo' in composition 'main' is a footage layer, not a text layer",
         "nexspec.yaml:10:33", "text assets replace a text layer's Source Text"),
        ("error", "composition 'lower thrid' not found in the template", "nexspec.yaml:12:46",
         "did you mean 'lower third'?"),
    ]  # fmt: skip
    assert not result.ok()
    assert [j.name for j in result.jobs] == ["wrong-layer", "wrong-comp"]


def test_zip_slip_entries_are_refused(project: MakeProject, aep_bytes: bytes) -> None:
    archive = zip_bytes(
        {
            "promo.aep": aep_bytes,
            "../../evil.sh": b"#!/bin/sh\n",
            "/etc/cron.d/evil": b"x",
            "C:/Windows/evil.dll": b"x",
            "footage\\logo.png": b"x",
        }
    )
    root = project(
        "version: 1\ntemplates: {promo: {path: promo.zip, composition: main}}\njobs: {a: {template: promo}}",
        {"promo.zip": archive},
    )
    result = validate_project(root, environ={})
    assert found(result.diagnostics) == [
        ("error", "archive entry '../../evil.sh' escapes the archive root", "promo.zip", REPACK_HINT),
        ("error", "archive entry '/etc/cron.d/evil' is an absolute path", "promo.zip", REPACK_HINT),
        ("error", "archive entry 'C:/Windows/evil.dll' is an absolute path", "promo.zip", REPACK_HINT),
        ("error", "archive entry 'footage\\logo.png' uses backslashes; zip paths use '/'", "promo.zip",
         REPACK_HINT),
    ]  # fmt: skip
    state = result.templates["promo"]
    assert (state.digest, state.info) == (None, None)
    assert not result.ok()


def test_a_template_that_cannot_be_read_is_a_warning(project: MakeProject) -> None:
    root = project(
        """\
        version: 1
        templates:
          promo: {path: promo.aep, composition: main}
        jobs:
          a:
            template: promo
            assets: [{type: text, layerName: anything, value: x}]
        """,
        {"promo.aep": b"RIFX\x00\x00\x00\x04Egg!"},
    )
    result = validate_project(root, environ={})
    (diagnostic,) = result.diagnostics
    assert (diagnostic.severity, diagnostic.location, diagnostic.hint) == (
        "warning",
        Location("promo.aep"),
        "its compositions and layers are not checked",
    )
    assert diagnostic.summary.startswith(
        "cannot introspect template 'promo': cannot read After Effects project"
    )
    assert result.ok() and not result.ok(strict=True)
    assert result.templates["promo"].info is None and result.templates["promo"].digest is not None


def test_template_lint_errors(project: MakeProject) -> None:
    root = project(
        """\
        version: 1
        templates:
          xml: {path: promo.aep, composition: main}
          empty: {path: folder}
        jobs: {a: {template: xml}}
        """,
        {"promo.aep": b"<?xml version='1.0'?><AfterEffectsProject/>", "folder/notes.txt": "x"},
    )
    assert found(validate_project(root, environ={}).diagnostics) == [
        ("error", "'promo.aep' is not an After Effects project: it is an XML file", "promo.aep",
         "an .aepx (XML) project is not accepted; save it as a binary .aep"),
        ("error", "folder holds no .aep file; the cloud opens exactly one", "folder",
         "collect the project with File > Dependencies > Collect Files, or add a Bodymovin (Lottie) export"),
    ]  # fmt: skip


def test_an_unusable_project_file(project: MakeProject) -> None:
    root = project("version: 1\ntemplates: {promo: {path: promo.json}\n")
    result = validate_project(root, environ={})
    assert (result.project, dict(result.templates), result.jobs) == (None, {}, ())
    assert found(result.diagnostics) == [
        ("error", "invalid YAML: while parsing a flow mapping: did not find expected ',' or '}'",
         "nexspec.yaml:3:1", ""),
    ]  # fmt: skip


def test_a_template_linked_from_outside_the_project(
    project: MakeProject, sample: Callable[[str], Path]
) -> None:
    """Essential controls of this .mogrt are checked in tests/test_check.py, where it is read in place."""
    mogrt = sample("nexrender-ae.mogrt")
    root = project(
        """\
        version: 1
        templates:
          card: {path: card.mogrt}
        jobs:
          a:
            template: card
            assets:
              - {type: essential, layerName: Text, value: Hello}
              - {type: essential, layerName: Txet, value: Hello}
        """
    )
    (root / "card.mogrt").symlink_to(mogrt)
    result = validate_project(root, environ={})
    assert found(result.diagnostics) == [
        ("error", "'card.mogrt' leads out of the project through a symlink", "nexspec.yaml:3:16", ""),
    ]


def test_the_same_job_key_in_two_files(project: MakeProject) -> None:
    root = project(
        "version: 1\ninclude: [more.yaml]\ntemplates: {promo: {path: promo.json}}\n"
        "jobs:\n  city-{{ row.n }}: {template: promo, foreach: [{n: 1}]}\n",
        {"more.yaml": "version: 1\njobs:\n  city-{{ row.n }}: {template: promo, foreach: [{n: 2}]}\n"},
    )
    result = validate_project(root, environ={})
    assert [j.name for j in result.jobs] == ["city-1", "city-2"]
    assert result.diagnostics == ()
