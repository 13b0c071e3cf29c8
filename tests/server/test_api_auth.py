"""Authentication, error shapes and the server's own routes."""

from __future__ import annotations

import httpx
import pytest
from backend_kit import TOKEN, client

from nexspec.server.embedded import EmbeddedServer


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["missing", "wrong", "no-scheme", "basic"],
)
@pytest.mark.parametrize("path", ["/templates", "/jobs", "/fonts", "/secrets"])
def test_api_routes_need_the_bearer_token(server: EmbeddedServer, headers: dict[str, str], path: str) -> None:
    response = httpx.get(server.base_url + path, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}


def test_v3_routes_need_the_token_too(server: EmbeddedServer) -> None:
    response = httpx.get(server.root_url + "/api/v3/templates")
    assert response.status_code == 401


def test_every_response_carries_a_request_id(server: EmbeddedServer, api: httpx.Client) -> None:
    ids = {api.get("/jobs").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3
    assert httpx.get(server.base_url + "/jobs").headers["x-request-id"]


def test_unknown_api_route_is_a_json_404(api: httpx.Client) -> None:
    response = api.get("/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}


def test_wrong_method_is_a_json_405(api: httpx.Client) -> None:
    response = api.delete("/jobs")
    assert response.status_code == 405
    assert "error" in response.json()


def test_malformed_json_body_is_400(api: httpx.Client) -> None:
    response = api.post("/jobs", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "Request body is not valid JSON"}


def test_health_and_metrics_need_no_token(server: EmbeddedServer) -> None:
    health = httpx.get(server.root_url + "/_nexspec/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    with client(server) as api:
        before = httpx.get(server.root_url + "/_nexspec/metrics").json()
        for _ in range(3):
            api.get("/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV")
        after = httpx.get(server.root_url + "/_nexspec/metrics").json()
    route = "GET /api/v2/jobs/{id}"
    assert after["requests"][route] - before["requests"].get(route, 0) == 3
    assert after["total"] >= before["total"] + 4


def test_token_is_created_in_the_data_dir_when_none_is_given(data_dir) -> None:  # type: ignore[no-untyped-def]
    from nexspec.server.embedded import start_embedded

    with start_embedded(data_dir, workers=1) as running:
        stored = (data_dir / "token").read_text().strip()
        assert running.token == stored
        assert (data_dir / "token").stat().st_mode & 0o777 == 0o600
        assert (
            httpx.get(running.base_url + "/jobs", headers={"Authorization": f"Bearer {stored}"}).status_code
            == 200
        )
    with start_embedded(data_dir, workers=1) as again:
        assert again.token == stored
