"""Template routes: creation shapes, validation, processing outcomes, v2 and v3 reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from backend_kit import job_for, upload_template, wait_job, wait_template
from lottie_docs import lottie, lottie_bytes, zipped

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
ULID_LIKE = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def test_create_answers_all_three_client_shapes(api: httpx.Client) -> None:
    body = api.post("/templates", json={"type": "zip", "displayName": "Shapes"}).json()
    # OAS: a flat Template with uploadInfo
    assert body["id"] and body["status"] == "awaiting_upload" and body["uploadInfo"]["url"]
    assert body["compositions"] == [] and body["layers"] == [] and body["error"] is None
    # current: {template, uploadInfo}; legacy: {id, uploadUrl}
    assert body["template"]["id"] == body["id"]
    assert body["uploadUrl"] == body["uploadInfo"]["url"]
    assert body["uploadInfo"]["fields"] == {"Content-Type": "application/octet-stream"}
    assert body["uploadInfo"]["key"] == f"templates/{body['id']}/" + body["uploadInfo"]["key"].rsplit("/")[-1]
    assert "X-Amz-Expires=3600" in body["uploadInfo"]["url"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"displayName": "x"}, "type"),
        ({"type": "psd", "displayName": "x"}, "type"),
        ({"type": "aep"}, "displayName"),
        ({"type": "aep", "displayName": ""}, "displayName"),
        ({"type": "aep", "displayName": "x", "src": 3}, "src"),
    ],
)
def test_create_validation(api: httpx.Client, payload: dict[str, Any], field: str) -> None:
    response = api.post("/templates", json=payload)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] and field in [d["field"] for d in body["details"]]


def test_get_patch_list_delete(api: httpx.Client) -> None:
    template_id = api.post("/templates", json={"type": "aep", "displayName": "Old"}).json()["id"]
    renamed = api.patch(f"/templates/{template_id}", json={"displayName": "New"})
    assert renamed.status_code == 200 and renamed.json()["displayName"] == "New"
    assert api.patch(f"/templates/{template_id}", json={"type": "zip", "displayName": "X"}).status_code == 400
    assert template_id in [t["id"] for t in api.get("/templates").json()]
    assert api.get(f"/templates/{template_id}").json()["displayName"] == "New"
    assert api.delete(f"/templates/{template_id}").status_code == 204
    assert api.get(f"/templates/{template_id}").status_code == 404
    assert api.delete(f"/templates/{template_id}").status_code == 404
    assert api.patch(f"/templates/{template_id}", json={"displayName": "X"}).status_code == 404


def test_unknown_template_is_404_everywhere(api: httpx.Client) -> None:
    for call in (
        lambda: api.get(f"/templates/{ULID_LIKE}"),
        lambda: api.put(f"/templates/{ULID_LIKE}/upload"),
        lambda: api.get(f"/templates/{ULID_LIKE}/download"),
        lambda: api.get(f"/templates/{ULID_LIKE}/../{ULID_LIKE}"),
    ):
        response = call()
        assert response.status_code == 404
        assert "error" in response.json()


def test_download_is_410_before_upload_and_serves_the_file_after(api: httpx.Client) -> None:
    pending = api.post("/templates", json={"type": "lottie", "displayName": "D"}).json()
    assert api.get(f"/templates/{pending['id']}/download").status_code == 410
    data = lottie_bytes(name="download")
    uploaded = upload_template(api, data)
    url = api.get(f"/templates/{uploaded['id']}/download").json()["url"]
    fetched = httpx.get(url)
    assert fetched.status_code == 200 and fetched.content == data


def test_fresh_upload_url_invalidates_the_older_one(api: httpx.Client) -> None:
    created = api.post("/templates", json={"type": "lottie", "displayName": "Fresh"}).json()
    old_url = created["uploadInfo"]["url"]
    fresh = api.put(f"/templates/{created['id']}/upload")
    assert fresh.status_code == 200
    info = fresh.json()
    assert set(info) >= {"url", "method", "expiresIn", "key"} and info["url"] != old_url
    refused = httpx.put(old_url, content=lottie_bytes())
    assert refused.status_code == 403
    assert b"<Code>AccessDenied</Code>" in refused.content
    assert httpx.put(info["url"], content=lottie_bytes()).status_code == 200
    assert wait_template(api, created["id"])["status"] == "uploaded"


def test_replacing_the_file_reprocesses_it(api: httpx.Client) -> None:
    first = upload_template(api, lottie_bytes(name="first"))
    url = api.put(f"/templates/{first['id']}/upload").json()["url"]
    assert httpx.put(url, content=lottie_bytes(name="second")).status_code == 200
    again = wait_template(api, first["id"])
    assert again["status"] == "uploaded" and again["compositions"] == ["second"]


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        ("aep", zipped({"a.txt": b"x"}), "is not an After Effects project: it is a zip archive"),
        ("zip", b"RIFX\x00\x00\x00\x00", "is not a zip archive"),
        ("zip", zipped({"a.aep": b"RIFX", "b.aep": b"RIFX"}), "holds 2 .aep files"),
        ("lottie", b"PNG not json", "is not a Bodymovin (Lottie) export"),
        ("lottie", b'{"v": "5"}', "lacks"),
        ("aep", b"RIFX\x00\x00\x00\x10garbage-after-effects", "cannot read After Effects project"),
        ("mogrt", zipped({"definition.json": b"{}"}), "holds no project.aegraphic"),
    ],
    ids=["aep-is-zip", "zip-is-aep", "two-projects", "lottie-not-json", "lottie-not-bodymovin",
         "aep-unparseable", "mogrt-incomplete"],
)  # fmt: skip
def test_bad_files_end_in_error_with_a_message(
    api: httpx.Client, kind: str, data: bytes, message: str
) -> None:
    result = upload_template(api, data, kind=kind, name="Broken")
    assert result["status"] == "error"
    assert message in result["error"]


def test_lottie_zip_is_accepted(api: httpx.Client) -> None:
    archive = zipped({"anim/data.json": lottie_bytes(name="zipped"), "anim/readme.txt": b"hi"})
    result = upload_template(api, archive, name="Zipped")
    assert result["status"] == "uploaded", result
    assert result["compositions"] == ["zipped"]


def test_job_renders_from_a_zipped_lottie(api: httpx.Client) -> None:
    archive = zipped({"pack/main.json": lottie_bytes(name="main")})
    template = upload_template(api, archive)
    job = api.post("/jobs", json=job_for(template["id"])).json()
    assert wait_job(api, job["id"])["status"] == "finished"


def test_v3_reads(v3: httpx.Client, template: dict[str, Any]) -> None:
    got = v3.get(f"/templates/{template['id']}").json()
    assert set(got) == {"id", "type", "displayName", "status", "createdAt", "updatedAt"}
    assert template["id"] in [t["id"] for t in v3.get("/templates").json()]
    assert v3.get("/templates/not-a-ulid").status_code == 400
    assert v3.get(f"/templates/{ULID_LIKE}").status_code == 404
    assert v3.get(f"/templates/{ULID_LIKE}/compositions").status_code == 404
    assert v3.get("/templates/bad-id/layers").status_code == 400
    comps = v3.get(f"/templates/{template['id']}/compositions").json()
    assert comps == [
        {"aeid": comps[0]["aeid"], "name": "main", "width": 320, "height": 180, "duration": 1.0,
         "frame_rate": 25.0, "data": comps[0]["data"]}
    ]  # fmt: skip
    assert isinstance(comps[0]["aeid"], str)
    layers = v3.get(f"/templates/{template['id']}/layers").json()
    assert [layer["name"] for layer in layers] == ["title", "subtitle", "photo", "background"]
    for layer in layers:
        assert isinstance(layer["aeid"], int) and isinstance(layer["composition_id"], int)
        assert str(layer["composition_id"]) == comps[0]["aeid"]
        assert {"top", "left", "width", "height", "start_time", "in_point", "out_point", "layer_type",
                "source_type", "source_comp_id", "parent_id", "data"} <= set(layer)  # fmt: skip
    assert layers[0]["layer_type"] == "TextLayer"


def test_v3_pagination(v3: httpx.Client, template: dict[str, Any]) -> None:
    path = f"/templates/{template['id']}/layers"
    assert [x["name"] for x in v3.get(path, params={"limit": 2}).json()] == ["title", "subtitle"]
    assert [x["name"] for x in v3.get(path, params={"limit": 2, "offset": 2}).json()] == [
        "photo",
        "background",
    ]
    assert v3.get(path, params={"offset": 4}).json() == []
    assert len(v3.get(path, params={"limit": 5000}).json()) == 4  # capped, not refused
    for bad in ({"limit": 0}, {"limit": "x"}, {"offset": -1}):
        assert v3.get(path, params=bad).status_code == 400
    assert v3.get(f"/templates/{template['id']}/compositions", params={"limit": 1}).status_code == 200


@pytest.mark.skipif(
    not (SAMPLES / "nexrender-mogrt-test.aep").is_file(), reason="shared .aep samples are absent"
)
def test_real_aep_is_introspected(api: httpx.Client, v3: httpx.Client) -> None:
    result = upload_template(api, (SAMPLES / "nexrender-mogrt-test.aep").read_bytes(), kind="aep")
    assert result["status"] == "uploaded", result
    comps = v3.get(f"/templates/{result['id']}/compositions").json()
    layers = v3.get(f"/templates/{result['id']}/layers").json()
    assert comps and all(isinstance(c["aeid"], str) for c in comps)
    assert layers and all(isinstance(x["aeid"], int) for x in layers)
    assert {str(x["composition_id"]) for x in layers} <= {c["aeid"] for c in comps}
    assert set(result["layers"]) == {x["name"] for x in layers}


def test_server_side_fetch_with_src(api: httpx.Client, peer: Any) -> None:
    peer.files["remote.json"] = lottie_bytes(name="remote")
    created = api.post(
        "/templates", json={"type": "lottie", "displayName": "R", "src": f"{peer.url}/remote.json"}
    ).json()
    assert created["status"] == "downloading" and created["uploadInfo"] is None
    done = wait_template(api, created["id"])
    assert done["status"] == "uploaded" and done["compositions"] == ["remote"]
    missing = api.post(
        "/templates", json={"type": "lottie", "displayName": "M", "src": f"{peer.url}/missing.json"}
    ).json()
    failed = wait_template(api, missing["id"])
    assert failed["status"] == "error" and "(404)" in failed["error"]


def test_generated_lottie_has_the_asked_size() -> None:
    doc = lottie()
    assert doc["w"] == 320 and doc["h"] == 180


def _aep(path: Path) -> bytes:
    import py_aep

    app = py_aep.new()
    comp = app.project.root_folder.add_comp("main", 320, 180, 1.0, 1.0, 25.0)
    comp.add_solid([0.1, 0.2, 0.5], "background", 320, 180, 1.0)
    title = comp.add_text("Hello")
    title.name = "title"
    app.project.save(str(path))
    return path.read_bytes()


def test_aep_written_by_py_aep_is_introspected_and_rendered(
    api: httpx.Client, v3: httpx.Client, tmp_path: Path
) -> None:
    result = upload_template(api, _aep(tmp_path / "made.aep"), kind="aep", name="Made")
    assert result["status"] == "uploaded", result
    assert result["compositions"] == ["main"] and set(result["layers"]) == {"title", "background"}
    comps = v3.get(f"/templates/{result['id']}/compositions").json()
    assert comps[0]["name"] == "main" and comps[0]["width"] == 320 and comps[0]["frame_rate"] == 25
    good = api.post(
        "/jobs", json=job_for(result["id"], assets=[{"type": "text", "layerName": "title", "value": "Hi"}])
    )
    assert wait_job(api, good.json()["id"])["status"] == "finished"
    bad = api.post(
        "/jobs", json=job_for(result["id"], assets=[{"type": "text", "layerName": "nope", "value": "x"}])
    )
    failed = wait_job(api, bad.json()["id"])
    assert failed["status"] == "error"
    assert failed["stats"]["error"] == "Layer 'nope' not found in composition 'main'"
