"""The cloud's quickstart, request by request, against the local backend over loopback."""

from __future__ import annotations

import json

import av
import httpx
from backend_kit import Peer, wait_job, wait_template, wait_until
from lottie_docs import lottie_bytes

from nexspec.server.embedded import EmbeddedServer


def test_quickstart_flow(server: EmbeddedServer, api: httpx.Client, peer: Peer) -> None:
    created = api.post("/templates", json={"type": "lottie", "displayName": "Quickstart"})
    assert created.status_code == 201
    body = created.json()
    template_id = body["id"]
    assert body["status"] == "awaiting_upload"
    upload = body["uploadInfo"]
    assert upload["method"] == "PUT" and upload["expiresIn"] == 3600

    put = httpx.put(
        upload["url"], content=lottie_bytes(), headers={"Content-Type": "application/octet-stream"}
    )
    assert put.status_code == 200
    assert put.headers["etag"].startswith('"')

    template = wait_template(api, template_id)
    assert template["status"] == "uploaded", template
    assert template["compositions"] == ["main"]
    assert set(template["layers"]) == {"title", "subtitle", "photo", "background"}

    job = api.post(
        "/jobs",
        json={
            "template": {"id": template_id, "composition": "main"},
            "assets": [
                {"type": "data", "layerName": "title", "property": "Source Text", "value": "Hello"},
                {"type": "data", "layerName": "subtitle", "property": "Source Text", "value": "World"},
            ],
            "webhook": {"url": f"{peer.url}/hook", "headers": {"X-Kind": "quickstart"}},
        },
    )
    assert job.status_code == 201, job.text
    created_job = job.json()
    assert created_job["status"] == "queued"
    assert created_job["missingFonts"] == []
    output_url = created_job["outputUrl"]
    assert httpx.get(output_url).status_code in (200, 404)  # known at once, served once finished

    finished = wait_job(api, created_job["id"])
    assert finished["status"] == "finished", finished
    assert finished["progress"] == 100
    stats = finished["stats"]
    assert stats["totalAssets"] == 2
    assert isinstance(stats["renderDuration"], float)
    assert stats["startedAt"] and stats["finishedAt"] and stats["errorAt"] is None
    assert stats["createdAt"].endswith("Z") and len(stats["createdAt"]) == len("2025-05-05T16:25:59.961Z")
    assert finished["outputUrl"] == output_url

    video = httpx.get(output_url)
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    with av.open(_file(video.content, server)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (320, 180)
        assert stream.codec_context.name == "h264"
        assert sum(1 for _ in container.decode(video=0)) == 25

    call = peer.wait_calls(1)[0]
    assert call["method"] == "POST"
    assert call["headers"]["X-Kind"] == "quickstart"
    delivered = json.loads(call["body"])
    assert delivered["id"] == created_job["id"] and delivered["status"] == "finished"

    log = api.get(f"/jobs/{created_job['id']}/logs")
    assert log.status_code == 200
    assert log.headers["content-type"].startswith("text/plain")
    assert log.headers["x-content-type-options"] == "nosniff"
    assert f'filename="{created_job["id"]}.log"' in log.headers["content-disposition"]
    assert "Hello" in log.text
    logged = wait_until(
        lambda: api.get(f"/jobs/{created_job['id']}/logs").text, lambda text: "WEBHOOK:" in text
    )
    assert f"WEBHOOK: POST {peer.url}/hook attempt 1/4: HTTP 200" in logged


def _file(content: bytes, server: EmbeddedServer) -> str:
    path = server.data_dir / "quickstart-output.mp4"
    path.write_bytes(content)
    return str(path)
