"""The HTTP client against a real local backend, and against MockTransport for the failures a
real server cannot produce on demand: exact messages, retry counts, backoff and what is re-sent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import uploads
from server.lottie_docs import lottie_bytes

from nexspec.client import ApiClient, RetryPolicy, UploadInfo
from nexspec.errors import ApiError, ApiUnreachable
from nexspec.server.embedded import EmbeddedServer, start_embedded

Counts = Callable[[EmbeddedServer], dict[str, int]]
UNKNOWN_ID = "01J0000000000000000000000Z"
REQUEST_ID = re.compile(r"\(request id [0-9A-Z]{26}\)$")
ATTEMPTS = 4
TOKEN = "client-test-token-0123456789"


def connect(server: EmbeddedServer, sleeps: list[float], *, token: str | None = None) -> ApiClient:
    client = ApiClient.connect(server.base_url, token or server.token, retry=RetryPolicy(attempts=ATTEMPTS))
    client.sleep = sleeps.append
    return client


@contextmanager
def faulty(tmp_path: Path, faults: str) -> Iterator[EmbeddedServer]:
    """A fresh local backend injecting ``faults`` into every /api request."""
    with start_embedded(tmp_path / "faulty", token=TOKEN, workers=1, faults=faults) as server:
        yield server


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mocked(handler: Callable[[httpx.Request], httpx.Response]) -> tuple[ApiClient, list[float]]:
    sleeps: list[float] = []
    http = httpx.Client(base_url="http://api.test/api/v2/", transport=httpx.MockTransport(handler))
    return ApiClient(http, retry=RetryPolicy(attempts=ATTEMPTS), sleep=sleeps.append), sleeps


def uploaded_template(client: ApiClient, tmp_path: Path) -> str:
    source = tmp_path / "promo.json"
    source.write_bytes(lottie_bytes())
    return uploads.uploaded_template(client, source, "client test")


# --- errors from a real server ---------------------------------------------------------------


def test_an_error_names_the_request_the_servers_message_and_its_request_id(
    local_server: EmbeddedServer,
) -> None:
    sleeps: list[float] = []
    with connect(local_server, sleeps) as client, pytest.raises(ApiError) as caught:
        client.create_job({"template": {"id": UNKNOWN_ID, "composition": "main"}})
    error = caught.value
    assert str(error) == (
        f"POST /jobs failed: 404 Not Found: Template {UNKNOWN_ID} not found (request id {error.request_id})"
    )
    assert REQUEST_ID.search(str(error))
    assert (error.status, error.method, error.path, error.outcome_unknown) == (404, "POST", "jobs", False)
    assert sleeps == []


def test_validation_details_are_part_of_the_message(local_server: EmbeddedServer) -> None:
    with connect(local_server, []) as client, pytest.raises(ApiError) as caught:
        client.create_job({"assets": []})
    assert str(caught.value) == (
        "POST /jobs failed: 400 Bad Request: Validation failed (template: is required) "
        f"(request id {caught.value.request_id})"
    )


def test_a_wrong_token_is_a_401_and_is_not_retried(local_server: EmbeddedServer) -> None:
    sleeps: list[float] = []
    with connect(local_server, sleeps, token="wrong") as client, pytest.raises(ApiError) as caught:
        client.get_job(UNKNOWN_ID)
    assert str(caught.value) == (
        f"GET /jobs/{UNKNOWN_ID} failed: 401 Unauthorized: Unauthorized "
        f"(request id {caught.value.request_id})"
    )
    assert "wrong" not in str(caught.value)
    assert sleeps == []


def test_an_unknown_job_or_template_is_none(local_server: EmbeddedServer) -> None:
    with connect(local_server, []) as client:
        assert client.get_job(UNKNOWN_ID) is None
        assert client.get_template(UNKNOWN_ID) is None
        assert client.delete_template(UNKNOWN_ID) is False


def test_a_batch_reports_each_rejected_job(local_server: EmbeddedServer, tmp_path: Path) -> None:
    with connect(local_server, []) as client:
        template_id = uploaded_template(client, tmp_path)
        items = client.create_batch(
            [
                {"template": {"id": template_id, "composition": "main"}},
                {"template": {"id": UNKNOWN_ID, "composition": "main"}},
            ]
        )
    assert [(item.index, item.error) for item in items] == [
        (0, None),
        (1, f"Template {UNKNOWN_ID} not found"),
    ]
    assert items[0].job is not None and items[0].job.status == "queued"


# --- retries on a real server ----------------------------------------------------------------


def test_429_is_retried_after_the_servers_retry_after(tmp_path: Path, request_counts: Counts) -> None:
    sleeps: list[float] = []
    with faulty(tmp_path, "throttle_rate=1,retry_after=7") as server:
        with connect(server, sleeps) as client, pytest.raises(ApiError) as caught:
            client.get_job(UNKNOWN_ID)
        counted = request_counts(server)
    assert sleeps == [7.0] * (ATTEMPTS - 1)
    assert str(caught.value) == (
        f"GET /jobs/{UNKNOWN_ID} failed: 429 Too Many Requests: Too many requests "
        f"(request id {caught.value.request_id})"
    )
    assert counted == {"GET /api/v2/jobs/{id}": ATTEMPTS}


def test_a_throttled_post_was_not_processed_so_it_is_sent_again(
    tmp_path: Path, request_counts: Counts
) -> None:
    sleeps: list[float] = []
    with faulty(tmp_path, "throttle_rate=1,retry_after=2") as server:
        with connect(server, sleeps) as client, pytest.raises(ApiError) as caught:
            client.create_job({"template": {"id": UNKNOWN_ID}})
        counted = request_counts(server)
    assert sleeps == [2.0] * (ATTEMPTS - 1)
    assert caught.value.outcome_unknown is False
    assert counted == {"POST /api/v2/jobs": ATTEMPTS}


def test_5xx_on_a_read_is_retried_with_exponential_backoff_and_jitter(
    tmp_path: Path, request_counts: Counts
) -> None:
    sleeps: list[float] = []
    with faulty(tmp_path, "error_rate=1,seed=3") as server:
        with connect(server, sleeps) as client, pytest.raises(ApiError) as caught:
            client.get_template(UNKNOWN_ID)
        counted = request_counts(server)
    policy = RetryPolicy()
    assert len(sleeps) == ATTEMPTS - 1
    for attempt, slept in enumerate(sleeps, start=1):
        full = policy.base_delay * 2 ** (attempt - 1)
        assert full / 2 <= slept <= full
    assert re.fullmatch(
        rf"GET /templates/{UNKNOWN_ID} failed: 50[023] [A-Za-z ]+: "
        r"Internal server error \(injected fault\) \(request id [0-9A-Z]{26}\)",
        str(caught.value),
    )
    assert counted == {"GET /api/v2/templates/{id}": ATTEMPTS}


def test_a_post_whose_response_was_lost_is_never_sent_twice(tmp_path: Path, request_counts: Counts) -> None:
    """The server handled the request and dropped the connection: did the job get created?"""
    sleeps: list[float] = []
    with faulty(tmp_path, "drop_rate=1") as server:
        with connect(server, sleeps) as client, pytest.raises(ApiUnreachable) as caught:
            client.create_job({"template": {"id": UNKNOWN_ID}})
        counted = request_counts(server)
    assert str(caught.value) == "POST /jobs: the connection was dropped"
    assert caught.value.outcome_unknown is True
    assert sleeps == []
    assert counted == {"POST /api/v2/jobs": 1}


def test_a_read_whose_response_was_lost_is_retried(tmp_path: Path, request_counts: Counts) -> None:
    sleeps: list[float] = []
    with faulty(tmp_path, "drop_rate=1") as server:
        with connect(server, sleeps) as client, pytest.raises(ApiUnreachable) as caught:
            client.list_jobs(tags="nxs-p-x")
        counted = request_counts(server)
    assert str(caught.value) == "GET /jobs: the connection was dropped"
    assert caught.value.outcome_unknown is False
    assert len(sleeps) == ATTEMPTS - 1
    assert counted == {"GET /api/v2/jobs": ATTEMPTS}


def test_a_refused_connection_is_retried_even_for_a_post() -> None:
    """Nothing reached the server, so sending the POST again cannot create anything twice."""
    sleeps: list[float] = []
    url = f"http://127.0.0.1:{closed_port()}/api/v2"
    with (
        ApiClient.connect(url, "token", retry=RetryPolicy(attempts=ATTEMPTS)) as client,
        pytest.raises(ApiUnreachable) as caught,
    ):
        client.sleep = sleeps.append
        client.create_job({"template": {"id": UNKNOWN_ID}})
    assert str(caught.value) == "POST /jobs: connection refused or host unreachable"
    assert caught.value.outcome_unknown is False
    assert len(sleeps) == ATTEMPTS - 1


# --- failures only a mock can produce on demand ------------------------------------------------


def test_500_on_a_post_is_not_retried_and_its_outcome_is_unknown() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500, json={"error": "boom"}, headers={"X-Request-Id": "req-500"})

    client, sleeps = mocked(handler)
    with pytest.raises(ApiError) as caught:
        client.create_job({"template": {"id": UNKNOWN_ID}})
    assert str(caught.value) == "POST /jobs failed: 500 Internal Server Error: boom (request id req-500)"
    assert caught.value.outcome_unknown is True
    assert (len(calls), sleeps) == (1, [])


def test_500_on_a_batch_is_not_retried_either() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503, text="Service Unavailable")

    client, sleeps = mocked(handler)
    with pytest.raises(ApiError) as caught:
        client.create_batch([{"template": {"id": UNKNOWN_ID}}])
    assert str(caught.value) == "POST /batches failed: 503 Service Unavailable: Service Unavailable"
    assert caught.value.outcome_unknown is True
    assert (len(calls), sleeps) == (1, [])


def test_a_read_timeout_retries_a_get_but_not_a_post() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadTimeout("timed out", request=request)

    client, sleeps = mocked(handler)
    with pytest.raises(ApiUnreachable) as read:
        client.get_job(UNKNOWN_ID)
    assert str(read.value) == f"GET /jobs/{UNKNOWN_ID}: timed out waiting for the response"
    assert (calls, len(sleeps)) == (["GET"] * ATTEMPTS, ATTEMPTS - 1)

    calls.clear()
    with pytest.raises(ApiUnreachable) as write:
        client.create_job({"template": {"id": UNKNOWN_ID}})
    assert str(write.value) == "POST /jobs: timed out waiting for the response"
    assert write.value.outcome_unknown is True
    assert calls == ["POST"]


class Truncated(httpx.SyncByteStream):
    """A body cut off after its first bytes: the connection dropped mid-response."""

    def __iter__(self) -> Iterator[bytes]:
        yield b'{"id": "01J0'
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


def test_a_connection_dropped_mid_response() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if request.method == "GET" and len(calls) == 1:
            return httpx.Response(200, stream=Truncated())
        if request.method == "GET":
            return httpx.Response(200, json={"id": UNKNOWN_ID, "status": "finished", "stats": {}})
        return httpx.Response(201, stream=Truncated())

    client, sleeps = mocked(handler)
    job = client.get_job(UNKNOWN_ID)
    assert job is not None and job.status == "finished"
    assert (calls, len(sleeps)) == (["GET", "GET"], 1)

    with pytest.raises(ApiUnreachable) as caught:
        client.create_job({"template": {"id": UNKNOWN_ID}})
    assert str(caught.value) == "POST /jobs: the connection was dropped"
    assert caught.value.outcome_unknown is True
    assert calls == ["GET", "GET", "POST"]


def test_malformed_json() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        status = 201 if request.method == "POST" else 200
        return httpx.Response(status, text='{"id": "01J', headers={"X-Request-Id": "req-json"})

    client, sleeps = mocked(handler)
    with pytest.raises(ApiError) as read:
        client.get_job(UNKNOWN_ID)
    assert str(read.value) == f"GET /jobs/{UNKNOWN_ID}: the response is not JSON (request id req-json)"
    assert read.value.outcome_unknown is False

    # The server said 201: the job exists, whatever the body says. Its outcome is unknown.
    with pytest.raises(ApiError) as created:
        client.create_job({"template": {"id": UNKNOWN_ID}})
    assert str(created.value) == "POST /jobs: the response is not JSON (request id req-json)"
    assert created.value.outcome_unknown is True
    assert sleeps == []


def test_a_json_document_of_the_wrong_shape() -> None:
    client, _ = mocked(lambda request: httpx.Response(200, json=["not", "an", "object"]))
    with pytest.raises(ApiError) as caught:
        client.get_template(UNKNOWN_ID)
    assert str(caught.value) == f"GET /templates/{UNKNOWN_ID}: expected a JSON object"


# --- presigned uploads and downloads --------------------------------------------------------


def test_the_upload_goes_without_the_api_key_and_is_processed(
    local_server: EmbeddedServer, tmp_path: Path, request_counts: Counts
) -> None:
    sent: list[httpx.Request] = []
    with connect(local_server, []) as client:
        client.storage.event_hooks["request"].append(sent.append)
        template_id = uploaded_template(client, tmp_path)
    assert [(r.method, urlsplit(str(r.url)).path.startswith("/_storage/")) for r in sent] == [("PUT", True)]
    headers = sent[0].headers
    assert "authorization" not in headers
    assert local_server.token not in repr(headers.multi_items())
    assert headers["content-length"] == str(len(lottie_bytes()))
    # The storage route refuses any bearer token: that the upload was taken proves there was none.
    with connect(local_server, []) as client:
        remote = client.get_template(template_id)
    assert remote is not None and remote.status == "uploaded"


def test_upload_errors_never_show_the_presigned_query(local_server: EmbeddedServer, tmp_path: Path) -> None:
    source = tmp_path / "promo.json"
    source.write_bytes(lottie_bytes())
    with connect(local_server, []) as client:
        created = client.create_template("lottie", "tampered")
        assert created.upload is not None
        url = created.upload.url.replace("X-Amz-Signature=", "X-Amz-Signature=00")
        with pytest.raises(ApiError) as caught:
            client.upload(UploadInfo(url, "PUT", {}), source)
    host = local_server.root_url
    assert str(caught.value) == f"upload to {host} failed: 403 Forbidden (SignatureDoesNotMatch)"
    assert repr(created.upload) == "UploadInfo(url=<redacted>, method='PUT')"


def test_an_unreachable_upload_host_is_retried_then_named_without_its_query(tmp_path: Path) -> None:
    source = tmp_path / "promo.json"
    source.write_bytes(b"{}")
    host = f"http://127.0.0.1:{closed_port()}"
    info = UploadInfo(f"{host}/_storage/t/1?X-Amz-Signature=secret-signature", "PUT", {})
    sleeps: list[float] = []
    client = ApiClient(httpx.Client(), retry=RetryPolicy(attempts=ATTEMPTS), sleep=sleeps.append)
    with client, pytest.raises(ApiUnreachable) as caught:
        client.upload(info, source)
    assert str(caught.value) == f"upload to {host} failed: connection refused or host unreachable"
    assert len(sleeps) == ATTEMPTS - 1


def finished_output(client: ApiClient, tmp_path: Path) -> str:
    template_id = uploaded_template(client, tmp_path)
    created = client.create_job({"template": {"id": template_id, "composition": "main"}})
    for _ in range(6000):
        job = client.get_job(created.id)
        if job is not None and job.status in {"finished", "error"}:
            assert job.status == "finished", job
            assert job.output_url is not None
            return job.output_url
        time.sleep(0.01)
    raise AssertionError("the job did not end")


def test_download_is_atomic_and_skipped_when_the_same_size_is_there(
    local_server: EmbeddedServer, tmp_path: Path
) -> None:
    with connect(local_server, []) as client:
        url = finished_output(client, tmp_path)
        target = tmp_path / "renders" / "teaser.mp4"
        assert client.download(url, target) is True
        data = target.read_bytes()
        assert data[4:8] == b"ftyp"
        assert client.download(url, target) is False
        assert target.read_bytes() == data
        target.write_bytes(b"truncated")
        assert client.download(url, target) is True
        assert target.read_bytes() == data
    assert sorted(p.name for p in target.parent.iterdir()) == ["teaser.mp4"]


def test_download_errors_never_show_the_presigned_query(local_server: EmbeddedServer, tmp_path: Path) -> None:
    url = f"{local_server.root_url}/_storage/outputs/{UNKNOWN_ID}.mp4?X-Amz-Signature=secret-signature"
    with connect(local_server, []) as client, pytest.raises(ApiError) as caught:
        client.download(url, tmp_path / "out.mp4")
    assert re.fullmatch(
        rf"download from {local_server.root_url} failed: 40[34] [A-Za-z ]+", str(caught.value)
    )
    assert not (tmp_path / "out.mp4").exists()


def test_an_unreachable_download_host_is_retried_then_named_without_its_query(tmp_path: Path) -> None:
    host = f"http://127.0.0.1:{closed_port()}"
    sleeps: list[float] = []
    client = ApiClient(httpx.Client(), retry=RetryPolicy(attempts=ATTEMPTS), sleep=sleeps.append)
    with client, pytest.raises(ApiUnreachable) as caught:
        client.download(f"{host}/_storage/outputs/x.mp4?X-Amz-Signature=secret", tmp_path / "x.mp4")
    assert str(caught.value) == f"download from {host} failed: connection refused or host unreachable"
    assert len(sleeps) == ATTEMPTS - 1
    assert list(tmp_path.iterdir()) == []


# --- the retry policy itself --------------------------------------------------------------------


def test_retry_delays_grow_exponentially_with_jitter_and_are_capped() -> None:
    policy = RetryPolicy(attempts=10, base_delay=0.5, max_delay=4.0)
    for attempt, full in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = {policy.delay(attempt, None) for _ in range(50)}
        assert all(full / 2 <= d <= full for d in delays)
        assert len(delays) > 1  # jittered
    assert policy.delay(1, 3.0) == 3.0
    assert policy.delay(1, 60.0) == 4.0  # a Retry-After beyond the cap waits the cap
