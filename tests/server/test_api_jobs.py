"""Job creation checks, render outcomes and errors, logs, nested jobs and joins."""

from __future__ import annotations

from typing import Any

import av
import httpx
import pytest
from backend_kit import Peer, job_for, upload_template, wait_job, wait_until
from lottie_docs import lottie_bytes

from nexspec.server.embedded import EmbeddedServer

UNKNOWN = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "template"),
        ({"template": {"composition": "main"}}, "template.id"),
        ({"template": {"id": "lowercase-not-an-id"}}, "template.id"),
        ({"template": {"id": UNKNOWN}, "assets": [{"type": "text", "value": "x"}]}, "assets[0].layerName"),
        ({"template": {"id": UNKNOWN}, "assets": [{"type": "image", "layerName": "l"}]}, "assets[0].src"),
        ({"template": {"id": UNKNOWN}, "assets": [{"type": "data", "layerName": "l"}]}, "assets[0].property"),
        ({"template": {"id": UNKNOWN}, "assets": [{"layerName": "l"}]}, "assets[0].type"),
        ({"template": {"id": UNKNOWN}, "settings": {"type": "gif"}}, "settings.type"),
        ({"template": {"id": UNKNOWN}, "settings": {"type": "image"}}, "settings.frames"),
        ({"template": {"id": UNKNOWN}, "settings": {"codec": "h264"}}, "settings.codec"),
        ({"template": {"id": UNKNOWN}, "preview": True, "settings": {"type": "video"}}, "settings"),
        ({"template": {"id": UNKNOWN}, "webhook": {"method": "POST"}}, "webhook.url"),
        ({"template": {"id": UNKNOWN}, "webhook": {"url": "http://x", "method": "PATCH"}}, "webhook.method"),
        ({"template": {"id": UNKNOWN}, "upload": {"params": {"bucket": "b"}}}, "upload.params.region"),
    ],
)
def test_malformed_payloads_are_400_with_details(
    api: httpx.Client, payload: dict[str, Any], field: str
) -> None:
    response = api.post("/jobs", json=payload)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"]
    assert field in [d["field"] for d in body["details"]], body["details"]
    assert all(set(d) == {"field", "message"} for d in body["details"])


def test_unknown_template_is_404(api: httpx.Client) -> None:
    response = api.post("/jobs", json=job_for(UNKNOWN))
    assert response.status_code == 404
    assert UNKNOWN in response.json()["error"]


def test_template_not_yet_uploaded_is_400(api: httpx.Client) -> None:
    waiting = api.post("/templates", json={"type": "lottie", "displayName": "W"}).json()
    response = api.post("/jobs", json=job_for(waiting["id"]))
    assert response.status_code == 400
    assert "not ready" in response.json()["error"]


def test_unknown_job_is_404(api: httpx.Client) -> None:
    for path in (f"/jobs/{UNKNOWN}", f"/jobs/{UNKNOWN}/logs", "/jobs/not-an-id"):
        response = api.get(path)
        assert response.status_code == 404 and "error" in response.json()
    assert api.get("/jobs/not-an-id/logs").status_code == 400


def test_join_on_an_unknown_template_is_404(api: httpx.Client) -> None:
    child = {"type": "job", "template": {"id": UNKNOWN, "composition": "main"}}
    response = api.post("/jobs/join", json={"assets": [child]})
    assert response.status_code == 404 and UNKNOWN in response.json()["error"]


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (
            {"assets": [{"type": "text", "layerName": "nope", "value": "x"}]},
            "Layer 'nope' not found in composition 'main'",
        ),
        ({"template": {"composition": "other"}}, "Composition 'other' not found"),
        (
            {"assets": [{"type": "image", "layerName": "title", "src": "http://127.0.0.1:9/none.png"}]},
            "Asset failed to download",
        ),
        (
            {"assets": [{"type": "text", "layerName": "title", "value": "${secrets.NOPE}"}]},
            "Secret 'NOPE' not found",
        ),
        ({"settings": {"type": "video", "frames": [0, 500]}}, "outside the composition"),
    ],
    ids=["layer", "composition", "download", "secret", "frames"],
)
def test_render_failures_end_in_error_with_the_clouds_words(
    api: httpx.Client, template: dict[str, Any], job: dict[str, Any], message: str
) -> None:
    payload = job_for(template["id"], **{k: v for k, v in job.items() if k != "template"})
    payload["template"].update(job.get("template", {}))
    created = api.post("/jobs", json=payload)
    assert created.status_code == 201, created.text
    failed = wait_job(api, created.json()["id"])
    assert failed["status"] == "error"
    assert message in failed["stats"]["error"]
    assert failed["stats"]["errorAt"] and failed["stats"]["finishedAt"] is None
    assert httpx.get(failed["outputUrl"]).status_code == 404
    assert "ERROR:" in api.get(f"/jobs/{failed['id']}/logs").text


def test_progress_rises_and_states_are_reported(api: httpx.Client, template: dict[str, Any]) -> None:
    job = api.post("/jobs", json=job_for(template["id"])).json()
    seen: list[tuple[str, float]] = []

    def probe() -> dict[str, Any]:
        current = api.get(f"/jobs/{job['id']}").json()
        seen.append((current["status"], current["progress"]))
        return current

    wait_until(probe, lambda j: j["status"] == "finished")
    progress = [p for _, p in seen]
    assert progress == sorted(progress) and progress[-1] == 100
    assert {s for s, _ in seen} <= {"queued", "render:download", "render:dorender", "finished"}


def test_image_output_and_assets_from_data_and_file_urls(
    server: EmbeddedServer, api: httpx.Client, template: dict[str, Any], tmp_path: Any
) -> None:
    text_file = tmp_path / "note.txt"
    text_file.write_text("from a file")
    payload = job_for(
        template["id"],
        settings={"type": "image", "frames": 3, "codec": "image_png"},
        assets=[
            {"type": "static", "src": text_file.as_uri(), "name": "note.txt"},
            {"type": "static", "src": "data:text/plain;base64,aGVsbG8=", "name": "hello.txt"},
        ],
    )
    created = api.post("/jobs", json=payload).json()
    assert created["outputUrl"].split("?")[0].endswith(".png")
    finished = wait_job(api, created["id"])
    assert finished["status"] == "finished", finished
    image = httpx.get(finished["outputUrl"])
    assert image.headers["content-type"] == "image/png" and image.content.startswith(b"\x89PNG")


def test_missing_fonts_are_reported(api: httpx.Client, template: dict[str, Any]) -> None:
    created = api.post("/jobs", json=job_for(template["id"], fonts=["Nowhere-Bold.ttf"])).json()
    assert created["missingFonts"] == ["Nowhere-Bold.ttf"]
    assert api.get(f"/jobs/{created['id']}").json()["missingFonts"] == ["Nowhere-Bold.ttf"]


def test_nested_job_children_first_parent_pending(api: httpx.Client, template: dict[str, Any]) -> None:
    nested = {
        "type": "job",
        "layerName": "photo",
        "template": {"id": template["id"], "composition": "main"},
        "assets": [{"type": "text", "layerName": "title", "value": "inner"}],
    }
    created = api.post("/jobs", json=job_for(template["id"], assets=[nested, {**nested}]))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "pending"
    assert [c["status"] for c in body["children"]] == ["queued", "queued"]
    parent = wait_job(api, body["id"])
    assert parent["status"] == "finished", parent
    children = [api.get(f"/jobs/{c['id']}").json() for c in body["children"]]
    assert all(c["status"] == "finished" for c in children)
    assert all(c["stats"]["finishedAt"] <= parent["stats"]["startedAt"] for c in children)


def test_nested_child_failure_fails_the_parent(api: httpx.Client, template: dict[str, Any]) -> None:
    nested = {
        "type": "job",
        "layerName": "photo",
        "template": {"id": template["id"], "composition": "missing"},
    }
    body = api.post("/jobs", json=job_for(template["id"], assets=[nested])).json()
    parent = wait_job(api, body["id"])
    assert parent["status"] == "error"
    assert "Composition 'missing' not found" in parent["stats"]["error"]


def test_join_concatenates_videos_and_children(
    server: EmbeddedServer, api: httpx.Client, template: dict[str, Any], tmp_path: Any
) -> None:
    first = wait_job(api, api.post("/jobs", json=job_for(template["id"])).json()["id"])
    video = tmp_path / "first.mp4"
    video.write_bytes(httpx.get(first["outputUrl"]).content)
    body = {
        "assets": [
            {"type": "video", "src": video.as_uri()},
            {"type": "job", "template": {"id": template["id"], "composition": "main"}, "assets": []},
        ],
        "settings": {"preset": "mp4"},
    }
    created = api.post("/jobs/join", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending" and len(created.json()["children"]) == 1
    joined = wait_job(api, created.json()["id"])
    assert joined["status"] == "finished", joined
    assert joined["templateId"] is None
    out = tmp_path / "joined.mp4"
    out.write_bytes(httpx.get(joined["outputUrl"]).content)
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 50


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "assets"), ({"assets": [{"type": "image", "src": "x"}]}, "assets[0].type"),
     ({"assets": [{"type": "video"}]}, "assets[0].src"),
     ({"assets": [{"type": "video", "src": "x"}], "settings": {"preset": "mov"}}, "settings.preset"),
     ({"assets": [{"type": "video", "src": "x"}], "webhook": {}}, "webhook.url")],
)  # fmt: skip
def test_join_validation(api: httpx.Client, body: dict[str, Any], field: str) -> None:
    response = api.post("/jobs/join", json=body)
    assert response.status_code == 400
    assert field in [d["field"] for d in response.json()["details"]]


def test_render_fast_renders_one_frame(data_dir: Any) -> None:
    from backend_kit import client

    from nexspec.server.embedded import start_embedded

    with start_embedded(data_dir, token="t" * 20, workers=1, render_fast=True) as fast:
        with client(fast, "t" * 20) as api:
            template = upload_template(api, lottie_bytes())
            jobs = [
                wait_job(api, api.post("/jobs", json=job_for(template["id"])).json()["id"]) for _ in range(2)
            ]
            assert [j["status"] for j in jobs] == ["finished", "finished"]
            # The second job reuses the first one's one-frame output, after the same checks.
            assert "reused the one-frame output" in api.get(f"/jobs/{jobs[1]['id']}/logs").text
            wrong = {"type": "text", "layerName": "nope", "value": "x"}
            failed = wait_job(
                api, api.post("/jobs", json=job_for(template["id"], assets=[wrong])).json()["id"]
            )
            assert failed["stats"]["error"] == "Layer 'nope' not found in composition 'main'"
            out = data_dir / "fast.mp4"
            out.write_bytes(httpx.get(jobs[1]["outputUrl"]).content)
        with av.open(str(out)) as container:
            assert sum(1 for _ in container.decode(video=0)) == 1


def test_secret_in_asset_value_is_substituted_and_never_logged(
    api: httpx.Client, template: dict[str, Any], peer: Peer
) -> None:
    name = "TITLE_SECRET_JOBS"
    api.put("/secrets", json={"name": name, "value": "s3cr3t-title"})
    job = api.post(
        "/jobs",
        json=job_for(
            template["id"], assets=[{"type": "text", "layerName": "title", "value": f"${{secrets.{name}}}"}]
        ),
    ).json()
    done = wait_job(api, job["id"])
    assert done["status"] == "finished"
    assert done["assets"][0]["value"] == f"${{secrets.{name}}}"
    assert "s3cr3t-title" not in api.get(f"/jobs/{job['id']}/logs").text


def test_clean_room_template_src_is_fetched_at_render_time(api: httpx.Client, tmp_path: Any) -> None:
    placeholder = api.post("/templates", json={"type": "lottie", "displayName": "clean room"}).json()
    source = tmp_path / "clean.json"
    source.write_bytes(lottie_bytes(name="main"))
    payload = {"template": {"id": placeholder["id"], "composition": "main", "src": source.as_uri()}}
    created = api.post("/jobs", json=payload)
    assert created.status_code == 201, created.text
    done = wait_job(api, created.json()["id"])
    assert done["status"] == "finished", done
    assert "Fetching template from file://" in api.get(f"/jobs/{done['id']}/logs").text
