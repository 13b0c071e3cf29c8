"""``render_payloads``: the exact payloads that would be submitted, with secrets masked."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from nexspec.commands.render import render_payloads
from nexspec.errors import EXIT_USAGE, SpecError, UsageError

MakeProject = Callable[..., Path]

SPEC = """\
version: 1
env: [BRAND]
templates:
  promo: {path: promo.json}
jobs:
  teaser:
    template: promo
    webhook:
      url: https://hooks.example.com/renders
      headers: {Authorization: Bearer abc123, X-Token: "${secrets.HOOK}"}
    upload:
      provider: s3
      params: {region: eu-west-1, bucket: renders, accessKeyId: AKIA123, accessKeySecret: "${secrets.S3}"}
    assets:
      - {type: text, layerName: title, value: "{{ env.BRAND }}"}
      - {type: image, layerName: logo, src: images/logo.png}
  city-{{ row.slug }}:
    template: promo
    foreach: [{slug: oslo}, {slug: lisbon}]
"""


@pytest.fixture
def root(project: MakeProject) -> Path:
    return project(SPEC, {"images/logo.png": b"png"})


def digest(root: Path) -> str:
    return "sha256:" + hashlib.sha256((root / "promo.json").read_bytes()).hexdigest()


def test_payloads_in_spec_order_with_secrets_masked(root: Path) -> None:
    payloads = render_payloads(root, environ={"BRAND": "Acme"})
    assert list(payloads) == ["teaser", "city-oslo", "city-lisbon"]
    assert payloads["teaser"] == {
        "webhook": {
            "url": "https://hooks.example.com/renders",
            "headers": {"Authorization": "(sensitive)", "X-Token": "${secrets.HOOK}"},
        },
        "upload": {
            "provider": "s3",
            "params": {"region": "eu-west-1", "bucket": "renders", "accessKeyId": "(sensitive)",
                       "accessKeySecret": "${secrets.S3}"},
        },
        "assets": [
            {"type": "text", "layerName": "title", "value": "Acme"},
            {"type": "image", "layerName": "logo", "src": "images/logo.png"},
        ],
        "template": {"id": digest(root)},
    }  # fmt: skip
    assert payloads["city-oslo"] == {"template": {"id": digest(root)}}


def test_one_job(root: Path) -> None:
    assert render_payloads(root, environ={"BRAND": "Acme"}, job="city-lisbon") == {
        "city-lisbon": {"template": {"id": digest(root)}}
    }


def test_an_unknown_job_is_a_usage_error(root: Path) -> None:
    with pytest.raises(UsageError) as caught:
        render_payloads(root, environ={"BRAND": "Acme"}, job="city-paris")
    assert str(caught.value) == "no job named 'city-paris' (run `nexspec render` to list them)"
    assert caught.value.exit_code == EXIT_USAGE


def test_an_invalid_project_raises_its_diagnostics(root: Path) -> None:
    with pytest.raises(SpecError) as caught:
        render_payloads(root, environ={})
    assert str(caught.value) == "1 error(s) in the specs"
    assert [(d.summary, str(d.location)) for d in caught.value.diagnostics] == [
        ("environment variable 'BRAND' is declared in env: but not set", "nexspec.yaml:15:47"),
    ]


def test_warnings_do_not_stop_rendering(project: MakeProject) -> None:
    root = project(
        "version: 1\ntemplates: {promo: {path: promo.aep, composition: main}}\njobs: {a: {template: promo}}",
        {"promo.aep": b"RIFX\x00\x00\x00\x04Egg!"},
    )
    digest = "sha256:" + hashlib.sha256(b"RIFX\x00\x00\x00\x04Egg!").hexdigest()
    assert render_payloads(root, environ={}) == {"a": {"template": {"id": digest, "composition": "main"}}}
