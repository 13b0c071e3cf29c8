"""Faults on demand: parsing, and what a client sees from a faulty server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from backend_kit import TOKEN, client

from nexspec.server.config import Faults, parse_duration, parse_faults
from nexspec.server.embedded import EmbeddedServer, start_embedded


def test_parse_faults() -> None:
    faults = parse_faults("latency=25ms,error_rate=0.1,throttle_rate=0.05,drop_rate=0.02")
    assert faults == Faults(latency=0.025, error_rate=0.1, throttle_rate=0.05, drop_rate=0.02)
    assert (
        faults.active and faults.describe() == "latency=25ms,error_rate=0.1,throttle_rate=0.05,drop_rate=0.02"
    )
    assert parse_faults("") == Faults() and not parse_faults(None).active
    assert parse_faults("retry_after=7,seed=3,error_rate=1") == Faults(error_rate=1.0, retry_after=7, seed=3)
    assert parse_duration("0.5s") == 0.5 and parse_duration("2") == 2.0


@pytest.mark.parametrize("text", ["latency=fast", "error_rate=2", "drop=0.1", "error_rate", "seed=x"])
def test_parse_faults_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_faults(text)


def _faulty(tmp: Path, faults: str) -> Iterator[EmbeddedServer]:
    with start_embedded(tmp, token=TOKEN, workers=1, faults=faults) as running:
        yield running


@pytest.fixture
def throttled(tmp_path: Path) -> Iterator[EmbeddedServer]:
    yield from _faulty(tmp_path, "throttle_rate=1,retry_after=3")


@pytest.fixture
def erroring(tmp_path: Path) -> Iterator[EmbeddedServer]:
    yield from _faulty(tmp_path, "error_rate=1,seed=1")


@pytest.fixture
def dropping(tmp_path: Path) -> Iterator[EmbeddedServer]:
    yield from _faulty(tmp_path, "drop_rate=1")


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[EmbeddedServer]:
    yield from _faulty(tmp_path, "latency=20ms,error_rate=0.5,seed=7")


def test_throttling_answers_429_with_retry_after(throttled: EmbeddedServer) -> None:
    with client(throttled) as api:
        response = api.get("/jobs")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3" and "error" in response.json()
    assert httpx.get(throttled.root_url + "/_nexspec/health").status_code == 200  # not faulted
    counts = httpx.get(throttled.root_url + "/_nexspec/metrics").json()["requests"]
    assert counts["GET /api/v2/jobs"] == 1


def test_errors_are_5xx(erroring: EmbeddedServer) -> None:
    with client(erroring) as api:
        statuses = {api.get("/jobs").status_code for _ in range(20)}
    assert statuses <= {500, 502, 503} and len(statuses) > 1


def test_dropped_connections_close_without_a_response(dropping: EmbeddedServer) -> None:
    with client(dropping) as api, pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.post("/templates", json={"type": "aep", "displayName": "dropped"})
    # The request was handled before its answer was lost: the template exists.
    from nexspec.server.store import Store

    store = Store(dropping.data_dir / "nexspec.db")
    try:
        assert [t.display_name for t in store.list_templates()] == ["dropped"]
    finally:
        store.close()


def test_storage_routes_are_never_faulted(erroring: EmbeddedServer) -> None:
    response = httpx.put(erroring.root_url + "/_storage/templates/x/y", content=b"")
    assert response.status_code == 400 and b"<Code>InvalidURI</Code>" in response.content


def test_seeded_faults_mix_successes_and_failures(slow: EmbeddedServer) -> None:
    with client(slow) as api:
        statuses = [api.get("/secrets").status_code for _ in range(30)]
    assert 200 in statuses and any(s >= 500 for s in statuses)
