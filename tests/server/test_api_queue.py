"""Queue control with the only worker held busy: cancel and cascades, priority, batches,
listing filters, and what active jobs forbid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from backend_kit import TOKEN, Peer, client, job_for, upload_template, wait_job, wait_until
from lottie_docs import lottie_bytes

from nexspec.server.embedded import EmbeddedServer, start_embedded

UNKNOWN = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
FONT = Path(__file__).resolve().parents[2] / "nexspec" / "fonts" / "DejaVuSans.ttf"


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    with start_embedded(tmp_path_factory.mktemp("queue"), token=TOKEN, workers=1) as running:
        yield running


@pytest.fixture
def qapi(single: EmbeddedServer) -> Iterator[httpx.Client]:
    with client(single) as http:
        yield http


@pytest.fixture(scope="module")
def qtemplate(single: EmbeddedServer) -> dict[str, Any]:
    with client(single) as http:
        return upload_template(http)


@pytest.fixture
def busy(qapi: httpx.Client, qtemplate: dict[str, Any], peer: Peer) -> Iterator[dict[str, Any]]:
    """A job that holds the only worker (its asset download waits on the peer's gate)."""
    asset = {"type": "image", "layerName": "photo", "src": f"{peer.url}/hold/photo.png"}
    job = qapi.post("/jobs", json=job_for(qtemplate["id"], assets=[asset])).json()
    assert peer.held.wait(30)
    yield job
    peer.gate.set()
    wait_job(qapi, job["id"])


def _queued(qapi: httpx.Client, template_id: str, **extra: Any) -> dict[str, Any]:
    created = qapi.post("/jobs", json=job_for(template_id, **extra))
    assert created.status_code == 201, created.text
    return created.json()


def test_in_flight_job_is_not_cancellable(qapi: httpx.Client, busy: dict[str, Any]) -> None:
    assert qapi.get(f"/jobs/{busy['id']}").json()["status"] == "render:download"
    response = qapi.patch(f"/jobs/{busy['id']}/cancel")
    assert response.status_code == 409 and "error" in response.json()


def test_cancel_one(qapi: httpx.Client, qtemplate: dict[str, Any], busy: dict[str, Any]) -> None:
    job = _queued(qapi, qtemplate["id"])
    response = qapi.patch(f"/jobs/{job['id']}/cancel")
    assert response.status_code == 200
    assert [(j["id"], j["status"]) for j in response.json()] == [(job["id"], "manually_cancelled")]
    assert qapi.patch(f"/jobs/{job['id']}/cancel").status_code == 409
    assert qapi.patch(f"/jobs/{UNKNOWN}/cancel").status_code == 404
    assert qapi.patch("/jobs/not-an-id/cancel").status_code == 400


def test_cancel_many_is_all_or_nothing(
    qapi: httpx.Client, qtemplate: dict[str, Any], busy: dict[str, Any]
) -> None:
    a, b = _queued(qapi, qtemplate["id"]), _queued(qapi, qtemplate["id"])
    assert qapi.post("/jobs/cancel", json={"jobs": [a["id"], UNKNOWN]}).status_code == 404
    assert qapi.post("/jobs/cancel", json={"jobs": [a["id"], busy["id"]]}).status_code == 409
    assert qapi.get(f"/jobs/{a['id']}").json()["status"] == "queued"
    for bad in ({"jobs": []}, {"jobs": [a["id"], a["id"]]}, {"jobs": ["x"]}, {}, {"jobs": [UNKNOWN] * 1001}):
        assert qapi.post("/jobs/cancel", json=bad).status_code == 400
    response = qapi.post("/jobs/cancel", json={"jobs": [a["id"], b["id"]]})
    assert response.status_code == 200
    assert {j["id"] for j in response.json()} == {a["id"], b["id"]}


def _nested(template_id: str) -> dict[str, Any]:
    return {"type": "job", "layerName": "photo", "template": {"id": template_id, "composition": "main"}}


def test_cancelling_a_child_cancels_parent_and_siblings(
    qapi: httpx.Client, qtemplate: dict[str, Any], busy: dict[str, Any]
) -> None:
    parent = _queued(qapi, qtemplate["id"], assets=[_nested(qtemplate["id"]), _nested(qtemplate["id"])])
    first, second = (c["id"] for c in parent["children"])
    response = qapi.patch(f"/jobs/{first}/cancel")
    assert response.status_code == 200
    assert {j["id"] for j in response.json()} == {parent["id"], first, second}
    assert all(j["status"] == "manually_cancelled" for j in response.json())


def test_cancelling_a_parent_cancels_its_children(
    qapi: httpx.Client, qtemplate: dict[str, Any], busy: dict[str, Any]
) -> None:
    parent = _queued(qapi, qtemplate["id"], assets=[_nested(qtemplate["id"])])
    response = qapi.post("/jobs/cancel", json={"jobs": [parent["id"]]})
    assert {j["id"] for j in response.json()} == {parent["id"], parent["children"][0]["id"]}


def test_priority_order(qapi: httpx.Client, qtemplate: dict[str, Any], peer: Peer) -> None:
    asset = {"type": "image", "layerName": "photo", "src": f"{peer.url}/hold/photo.png"}
    blocker = _queued(qapi, qtemplate["id"], assets=[asset])
    assert peer.held.wait(30)
    low = _queued(qapi, qtemplate["id"], priority=0)
    high = _queued(qapi, qtemplate["id"], priority=10)
    peer.gate.set()
    done = [wait_job(qapi, j["id"]) for j in (blocker, low, high)]
    assert done[2]["stats"]["startedAt"] <= done[1]["stats"]["startedAt"]


def test_template_and_font_in_use_cannot_be_deleted(
    single: EmbeddedServer, qapi: httpx.Client, busy: dict[str, Any]
) -> None:
    template = upload_template(qapi, lottie_bytes())
    with FONT.open("rb") as font:
        uploaded = qapi.post("/fonts", files={"font": ("InUse.ttf", font, "font/ttf")}).json()
    job = _queued(qapi, template["id"], fonts=["InUse.ttf"])
    assert job["missingFonts"] == []
    assert qapi.delete(f"/templates/{template['id']}").status_code == 409
    assert qapi.delete(f"/fonts/{uploaded['id']}").status_code == 409
    qapi.patch(f"/jobs/{job['id']}/cancel")
    assert qapi.delete(f"/fonts/{uploaded['id']}").status_code == 204
    assert qapi.delete(f"/templates/{template['id']}").status_code == 204


def test_logs_are_404_until_the_job_starts(
    qapi: httpx.Client, qtemplate: dict[str, Any], busy: dict[str, Any]
) -> None:
    job = _queued(qapi, qtemplate["id"])
    response = qapi.get(f"/jobs/{job['id']}/logs")
    assert response.status_code == 404 and "error" in response.json()
    qapi.patch(f"/jobs/{job['id']}/cancel")


# --- batches -------------------------------------------------------------------------------


def test_batch_with_partial_failure(
    qapi: httpx.Client, qtemplate: dict[str, Any], busy: dict[str, Any]
) -> None:
    jobs = [
        job_for(qtemplate["id"]),
        {"template": {}},
        job_for(UNKNOWN),
        job_for(qtemplate["id"], tags=["b"]),
    ]
    response = qapi.post("/batches", json={"jobs": jobs})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "partial" and body["totalJobs"] == 4 and body["successCount"] == 2
    assert [j["index"] for j in body["jobs"]] == [0, 3]
    assert all(j["status"] == "queued" and j["outputUrl"] for j in body["jobs"])
    assert [(e["index"], e["errorCode"]) for e in body["errors"]] == [
        (1, "VALIDATION_ERROR"),
        (2, "TEMPLATE_NOT_FOUND"),
    ]
    status = qapi.get(f"/batches/{body['batchId']}").json()
    assert status["status"] == "processing"
    assert status["stats"] == {"total": 2, "finished": 0, "error": 0, "pending": 2}
    cancel = qapi.post(f"/batches/{body['batchId']}/cancel")
    assert cancel.status_code == 200
    cancelled = cancel.json()
    assert cancelled["status"] == "cancelled" and cancelled["cancelledCount"] == 2
    assert [j["result"] for j in cancelled["jobs"]] == ["cancelled", "cancelled"]
    assert len(cancelled["cancelledJobs"]) == 2
    again = qapi.post(f"/batches/{body['batchId']}/cancel").json()
    assert again["status"] == "unchanged" and again["skippedCount"] == 2
    final = qapi.get(f"/batches/{body['batchId']}").json()
    assert final["stats"]["pending"] == 0 and final["status"] == "error"


def test_batch_that_fails_entirely_is_400(qapi: httpx.Client) -> None:
    response = qapi.post("/batches", json={"jobs": [{"template": {}}, job_for(UNKNOWN)]})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error" and body["successCount"] == 0 and len(body["errors"]) == 2


@pytest.mark.parametrize("jobs", [[], None, "x", [{"template": {}}] * 1001])
def test_batch_size_limits(qapi: httpx.Client, jobs: Any) -> None:
    assert qapi.post("/batches", json={"jobs": jobs}).status_code == 400


def test_batch_lookups(qapi: httpx.Client) -> None:
    assert qapi.get("/batches/not-an-id").status_code == 400
    assert qapi.get(f"/batches/{UNKNOWN}").status_code == 404
    assert qapi.post(f"/batches/{UNKNOWN}/cancel").status_code == 404


def test_batch_of_a_thousand_jobs(
    qapi: httpx.Client, qtemplate: dict[str, Any], busy: dict[str, Any]
) -> None:
    jobs = [job_for(qtemplate["id"], tags=["thousand"]) for _ in range(1000)]
    body = qapi.post("/batches", json={"jobs": jobs}).json()
    assert body["status"] == "created" and body["successCount"] == 1000
    assert len(qapi.get("/jobs", params={"tags": "thousand", "limit": 1000}).json()) == 1000
    assert qapi.post(f"/batches/{body['batchId']}/cancel").json()["cancelledCount"] == 1000


# --- listing -------------------------------------------------------------------------------


def test_list_filters_and_pagination(
    qapi: httpx.Client, qtemplate: dict[str, Any], busy: dict[str, Any]
) -> None:
    made = [_queued(qapi, qtemplate["id"], tags=["listing", f"n{i}"], priority=i) for i in range(5)]
    ids = [m["id"] for m in made]

    def listed(**params: Any) -> list[str]:
        response = qapi.get("/jobs", params={"tags": "listing", **params})
        assert response.status_code == 200, response.text
        return [j["id"] for j in response.json()]

    assert listed() == ids
    assert listed(sort="newest_first") == ids[::-1]
    assert listed(sort="priority") == ids[::-1]
    assert sorted(listed(sort="random")) == sorted(ids)
    assert listed(limit=2) == ids[:2] and listed(limit=2, **{"from": 2}) == ids[2:4]
    assert listed(tags="listing,n3") == [ids[3]]
    assert listed(states="queued") == ids and listed(exclude_states="queued") == []
    assert listed(states="finished,error") == []
    created = qapi.get(f"/jobs/{ids[2]}").json()["stats"]["createdAt"]
    assert set(listed(from_date=created)) >= set(ids[2:])
    assert set(listed(to_date=created)) <= set(ids[:3])
    minimal = qapi.get("/jobs", params={"tags": "listing", "minimal": "true"}).json()[0]
    assert "assets" not in minimal and "totalAssets" not in minimal["stats"]
    full = qapi.get("/jobs", params={"tags": "listing"}).json()[0]
    assert full["stats"]["totalAssets"] == 0 and full["tags"] == ["listing", "n0"]
    qapi.post("/jobs/cancel", json={"jobs": ids})
    assert listed(states="manually_cancelled") == ids


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 1001}, {"limit": "x"}, {"from": -1}, {"sort": "oldest"},
     {"minimal": "yes"}, {"from_date": "yesterday"}, {"to_date": "2025-13-01"}, {"tags": "a b"}],
)  # fmt: skip
def test_list_rejects_bad_parameters(qapi: httpx.Client, params: dict[str, Any]) -> None:
    response = qapi.get("/jobs", params=params)
    assert response.status_code == 400
    assert "error" in response.json()


def test_waiting_for_terminal_state_of_cancelled_job(
    qapi: httpx.Client, qtemplate: dict[str, Any], busy: dict[str, Any]
) -> None:
    job = _queued(qapi, qtemplate["id"])
    qapi.patch(f"/jobs/{job['id']}/cancel")
    final = wait_until(lambda: qapi.get(f"/jobs/{job['id']}").json(), lambda j: j["status"] != "queued")
    assert final["status"] == "manually_cancelled" and final["stats"]["errorAt"]
