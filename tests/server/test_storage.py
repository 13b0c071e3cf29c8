"""The presigned storage routes: signatures, expiry, limits, headers, path traversal."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from backend_kit import TOKEN, job_for
from lottie_docs import lottie_bytes

from nexspec.server.blobs import UrlSigner
from nexspec.server.embedded import EmbeddedServer
from nexspec.server.keys import signing_key


@pytest.fixture
def upload_url(api: httpx.Client) -> str:
    created = api.post("/templates", json={"type": "lottie", "displayName": "S"}).json()
    url: str = created["uploadInfo"]["url"]
    return url


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def _code(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/xml")
    text = response.text
    return text.split("<Code>")[1].split("</Code>")[0]


@pytest.mark.parametrize(
    "change",
    [{"X-Amz-Signature": "0" * 64}, {"X-Amz-Expires": "999999"}, {"X-Amz-Date": "20990101T000000Z"},
     {"x-amz-meta-templateid": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}],
    ids=["signature", "expires", "date", "meta"],
)  # fmt: skip
def test_tampered_urls_are_403(upload_url: str, change: dict[str, str]) -> None:
    response = httpx.put(_with(upload_url, **change), content=b"{}")
    assert response.status_code == 403
    assert _code(response) == "SignatureDoesNotMatch"


def test_missing_signature_is_403(upload_url: str) -> None:
    response = httpx.put(upload_url.split("?")[0], content=b"{}")
    assert response.status_code == 403 and _code(response) == "AccessDenied"


def test_expired_url_is_403(server: EmbeddedServer, api: httpx.Client) -> None:
    created = api.post("/templates", json={"type": "lottie", "displayName": "E"}).json()
    key = created["uploadInfo"]["key"]
    signer = UrlSigner(signing_key(server.data_dir))
    stale = signer.sign(
        "PUT", key, issued=int(time.time()) - 7200, expires_in=3600, template_id=created["id"]
    )
    response = httpx.put(server.root_url + stale.path_and_query, content=b"{}")
    assert response.status_code == 403
    assert _code(response) == "AccessDenied" and "expired" in response.text


def test_get_signature_does_not_allow_put(api: httpx.Client, template: dict[str, Any]) -> None:
    url = api.get(f"/templates/{template['id']}/download").json()["url"]
    response = httpx.put(url, content=b"{}")
    assert response.status_code == 403 and _code(response) == "SignatureDoesNotMatch"


def test_body_over_the_limit_is_entity_too_large(upload_url: str) -> None:
    response = httpx.put(upload_url, content=b"x" * (4 * 1024**2 + 1))
    assert response.status_code == 400 and _code(response) == "EntityTooLarge"


def test_streamed_body_over_the_limit_is_entity_too_large(upload_url: str) -> None:
    def chunks() -> Any:
        for _ in range(5):
            yield b"x" * 1024**2

    response = httpx.put(upload_url, content=chunks())
    assert response.status_code == 400 and _code(response) == "EntityTooLarge"


@pytest.mark.parametrize("header", ["x-amz-meta-custom", "x-amz-checksum-crc32", "X-Amz-Date"])
def test_unsigned_amz_headers_are_malformed(upload_url: str, header: str) -> None:
    response = httpx.put(upload_url, content=b"{}", headers={header: "AAAAAA=="})
    assert response.status_code == 400 and _code(response) == "MalformedSecurityHeader"


def test_bearer_token_is_not_accepted_on_storage(upload_url: str) -> None:
    response = httpx.put(upload_url, content=lottie_bytes(), headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400 and _code(response) == "InvalidArgument"


@pytest.mark.parametrize(
    "path",
    [
        "/_storage/templates/../../token",
        "/_storage/%2e%2e/%2e%2e/token",
        "/_storage/templates/..%2F..%2Ftoken",
        "/_storage/outputs/..%2Fnexspec.db",
        "/_storage/signing.key",
        "/_storage/outputs/01ARZ3NDEKTSV4RRFFQ69G5FAV.sh",
    ],
)
def test_path_traversal_in_storage_keys(server: EmbeddedServer, path: str) -> None:
    secret = signing_key(server.data_dir)
    with httpx.Client() as raw:
        request = raw.build_request("GET", server.root_url + "/")
        request.url = httpx.URL(server.root_url).copy_with(raw_path=path.encode())
        response = raw.send(request)
    assert response.status_code in (400, 403, 404)
    assert secret not in response.content and TOKEN.encode() not in response.content
    assert b"SQLite" not in response.content


@pytest.mark.parametrize("path", ["/templates/..%2F..%2Ftoken", "/jobs/..%2Fnexspec.db", "/jobs/%2e%2e"])
def test_path_traversal_in_api_ids(api: httpx.Client, path: str) -> None:
    request = api.build_request("GET", "/")
    request.url = request.url.copy_with(raw_path=("/api/v2" + path).encode())
    response = api.send(request)
    assert response.status_code == 404 and "error" in response.json()


def test_output_is_404_until_finished_then_served(api: httpx.Client, template: dict[str, Any]) -> None:
    job = api.post(
        "/jobs", json=job_for(template["id"], assets=[{"type": "text", "layerName": "nope", "value": "x"}])
    )
    url = job.json()["outputUrl"]
    response = httpx.get(url)
    assert response.status_code == 404 and _code(response) == "NoSuchKey"
    assert httpx.get(_with(url, **{"X-Amz-Signature": "f" * 64})).status_code == 403
