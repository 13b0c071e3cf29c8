"""State survives a restart, and a job that was rendering when the server stopped is re-queued."""

from __future__ import annotations

import contextlib
from pathlib import Path

import av
import httpx
from backend_kit import TOKEN, Peer, client, job_for, upload_template, wait_job
from lottie_docs import png_uri

from nexspec.server.embedded import start_embedded


def _png() -> bytes:
    import base64

    return base64.b64decode(png_uri().split(",", 1)[1])


def test_job_in_flight_is_requeued_and_finishes(data_dir: Path, peer: Peer) -> None:
    asset = {"type": "image", "layerName": "photo", "src": f"{peer.url}/hold/photo.png"}
    with start_embedded(data_dir, token=TOKEN, workers=1) as first, client(first) as api:
        template = upload_template(api)
        job = api.post("/jobs", json=job_for(template["id"], assets=[asset])).json()
        assert peer.held.wait(30)
        assert api.get(f"/jobs/{job['id']}").json()["status"] == "render:download"
    # The server, its dispatcher and its worker are gone; the held request can now end.
    peer.files["photo.png"] = _png()
    peer.gate.set()
    with start_embedded(data_dir, token=TOKEN, workers=1) as second, client(second) as api:
        assert api.get(f"/templates/{template['id']}").json()["status"] == "uploaded"
        done = wait_job(api, job["id"])
        assert done["status"] == "finished", done
        log = api.get(f"/jobs/{job['id']}/logs").text
        assert "re-queued: the server stopped during the render" in log
        out = data_dir / "out.mp4"
        out.write_bytes(httpx.get(done["outputUrl"]).content)
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.width == 320
    assert not any((data_dir / "tmp").iterdir())


def test_partial_upload_leaves_nothing_behind(data_dir: Path) -> None:
    with start_embedded(data_dir, token=TOKEN, workers=1) as running, client(running) as api:
        created = api.post("/templates", json={"type": "lottie", "displayName": "P"}).json()
        url = created["uploadInfo"]["url"]

        def body() -> object:
            yield b"{" * 1024
            raise ConnectionResetError("client went away")

        with contextlib.suppress(httpx.HTTPError, ConnectionResetError):
            httpx.put(url, content=body())
        assert api.get(f"/templates/{created['id']}").json()["status"] == "awaiting_upload"
    blobs = data_dir / "blobs" / "templates"
    assert not blobs.exists() or not any(p.is_file() for p in blobs.rglob("*"))
