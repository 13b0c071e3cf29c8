"""Webhook deliveries against a loopback receiver: bodies, headers, secrets, retries."""

from __future__ import annotations

import json
from typing import Any

import httpx
from backend_kit import Peer, job_for, wait_job, wait_until


def _logged(api: httpx.Client, job_id: str, count: int) -> str:
    return wait_until(
        lambda: api.get(f"/jobs/{job_id}/logs").text, lambda text: text.count("WEBHOOK:") >= count
    )


def test_retries_with_backoff_until_success(api: httpx.Client, template: dict[str, Any], peer: Peer) -> None:
    peer.statuses[:] = [500, 503]
    webhook = {"url": f"{peer.url}/hook?sig=abc", "method": "PUT"}
    job = api.post("/jobs", json=job_for(template["id"], webhook=webhook)).json()
    wait_job(api, job["id"])
    calls = peer.wait_calls(3)
    assert [c["method"] for c in calls] == ["PUT"] * 3
    log = _logged(api, job["id"], 3)
    assert f"WEBHOOK: PUT {peer.url}/hook attempt 1/4: HTTP 500" in log
    assert "attempt 2/4: HTTP 503" in log and "attempt 3/4: HTTP 200" in log
    assert "sig=abc" not in log


def test_gives_up_after_three_retries(api: httpx.Client, template: dict[str, Any], peer: Peer) -> None:
    peer.statuses[:] = [500] * 10
    job = api.post("/jobs", json=job_for(template["id"], webhook={"url": f"{peer.url}/hook"})).json()
    wait_job(api, job["id"])
    log = _logged(api, job["id"], 4)
    assert "attempt 4/4: HTTP 500" in log
    assert len(peer.calls) == 4


def test_unreachable_receiver_is_retried(api: httpx.Client, template: dict[str, Any]) -> None:
    job = api.post("/jobs", json=job_for(template["id"], webhook={"url": "http://127.0.0.1:9/x"})).json()
    log = _logged(api, job["id"], 4)
    assert "attempt 4/4: ConnectError" in log


def test_custom_body_and_secret_headers(api: httpx.Client, template: dict[str, Any], peer: Peer) -> None:
    api.put("/secrets", json={"name": "HOOK_TOKEN", "value": "hook-s3cret"})
    webhook = {
        "url": f"{peer.url}/hook",
        "headers": {"Authorization": "Bearer ${secrets.HOOK_TOKEN}", "X-Missing": "${secrets.NOPE}"},
        "custom": True,
        "data": {"campaign": "spring"},
    }
    job = api.post("/jobs", json=job_for(template["id"], webhook=webhook)).json()
    call = peer.wait_calls(1)[0]
    assert json.loads(call["body"]) == {"campaign": "spring"}
    assert call["headers"]["Authorization"] == "Bearer hook-s3cret"
    assert "X-Missing" not in call["headers"]
    log = _logged(api, job["id"], 1)
    assert "hook-s3cret" not in log
    assert "webhook header 'X-Missing' not sent: Secret 'NOPE' not found" in log


def test_job_body_with_data_merged(api: httpx.Client, template: dict[str, Any], peer: Peer) -> None:
    webhook = {"url": f"{peer.url}/hook", "data": {"k": 1}}
    job = api.post("/jobs", json=job_for(template["id"], webhook=webhook)).json()
    body = json.loads(peer.wait_calls(1)[0]["body"])
    assert body["id"] == job["id"] and body["status"] == "finished" and body["data"] == {"k": 1}
    assert body["stats"]["renderDuration"] is not None


def test_errors_fire_webhooks_too(api: httpx.Client, template: dict[str, Any], peer: Peer) -> None:
    assets = [{"type": "text", "layerName": "nope", "value": "x"}]
    api.post("/jobs", json=job_for(template["id"], assets=assets, webhook={"url": f"{peer.url}/h"}))
    body = json.loads(peer.wait_calls(1)[0]["body"])
    assert body["status"] == "error" and "Layer 'nope' not found" in body["stats"]["error"]
