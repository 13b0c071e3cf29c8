"""The server's parts on their own: URL signing, secret references, the store, the documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexspec.server.blobs import BlobStore, UrlSigner, check_key
from nexspec.server.documents import composition_ids, layers_v3
from nexspec.server.interpolation import MissingSecret, scrub, substitute, substitute_json, used_values
from nexspec.server.problems import StorageProblem
from nexspec.server.records import JobKind, JobQuery, JobRecord
from nexspec.server.stamps import is_ulid, new_id, now, parse_time
from nexspec.server.store import DuplicateName, Store
from nexspec.templateinfo import Composition, Layer, LayerKind, TemplateInfo, TemplateKind

KEY = "templates/01ARZ3NDEKTSV4RRFFQ69G5FAV/01ARZ3NDEKTSV4RRFFQ69G5FAW"


def _query(path_and_query: str) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(path_and_query.split("?", 1)[1]))


def test_signer_round_trip_and_expiry() -> None:
    signer = UrlSigner(b"k" * 32)
    url = signer.sign("PUT", KEY, issued=1_000_000, expires_in=3600, template_id="T")
    query = _query(url.path_and_query)
    signer.verify("PUT", KEY, query, now=1_000_000 + 3599)
    with pytest.raises(StorageProblem, match="expired"):
        signer.verify("PUT", KEY, query, now=1_000_000 + 3601)
    for method, key in (("GET", KEY), ("PUT", KEY[:-1] + "X")):
        with pytest.raises(StorageProblem) as problem:
            signer.verify(method, key, query, now=1_000_000)
        assert problem.value.code == "SignatureDoesNotMatch"
    with pytest.raises(StorageProblem) as other_key:
        UrlSigner(b"j" * 32).verify("PUT", KEY, query, now=1_000_000)
    assert other_key.value.status == 403


def test_outputs_never_expire() -> None:
    signer = UrlSigner(b"k" * 32)
    url = signer.sign("GET", "outputs/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4", issued=0, expires_in=None)
    signer.verify("GET", "outputs/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4", _query(url.path_and_query), now=10**10)


@pytest.mark.parametrize(
    "key", ["../token", "templates/x/y", "outputs/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4/../../x", "fonts/a.ttf", ""]
)
def test_keys_are_checked_before_any_path_is_built(key: str, tmp_path: Path) -> None:
    with pytest.raises(StorageProblem):
        check_key(key)
    with pytest.raises(StorageProblem):
        BlobStore(tmp_path).path(key)


def test_secret_references() -> None:
    secrets = {"A": "alpha-value", "B": "beta"}
    assert substitute("x ${secrets.A} ${secrets.B}", secrets) == "x alpha-value beta"
    assert substitute_json({"k": ["${secrets.A}", 3]}, secrets) == {"k": ["alpha-value", 3]}
    with pytest.raises(MissingSecret, match="Secret 'C' not found"):
        substitute("${secrets.C}", secrets)
    assert sorted(used_values({"v": "${secrets.A}"}, secrets)) == ["alpha-value"]
    assert scrub(["got alpha-value here"], ["alpha-value"]) == ["got (sensitive) here"]


def test_ids_and_times() -> None:
    ids = [new_id() for _ in range(100)]
    assert ids == sorted(ids) and len(set(ids)) == 100 and all(is_ulid(i) for i in ids)
    stamp = now()
    assert stamp.endswith("Z") and parse_time(stamp).tzinfo is not None


def _job(job_id: str, status: str, parent: str | None = None, priority: int = 0) -> JobRecord:
    at = now()
    return JobRecord(
        id=job_id, kind=JobKind.RENDER, template_id=None, status=status, payload={},
        output=f"outputs/{job_id}.mp4", created_at=at, updated_at=at, parent_id=parent,
        priority=priority,
    )  # fmt: skip


def test_store_claims_by_priority_and_requeues(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    try:
        low, high = new_id(), new_id()
        store.insert_jobs([_job(low, "queued"), _job(high, "queued", priority=5)])
        claimed = store.claim_next_job(now())
        assert claimed is not None and claimed.id == high and claimed.status == "render:download"
        assert store.requeue_in_flight(now()) == [high]
        assert store.list_jobs(JobQuery(states=("queued",))) == store.get_jobs([low, high])
        assert store.cancel_jobs([low, high], now()) == [low, high]
        assert store.cancel_jobs([low], now()) == []
    finally:
        store.close()


def test_store_secrets_are_unique(tmp_path: Path) -> None:
    from nexspec.server.records import SecretRecord

    store = Store(tmp_path / "db")
    try:
        store.insert_secret(SecretRecord(new_id(), "S", now()), "v")
        with pytest.raises(DuplicateName):
            store.insert_secret(SecretRecord(new_id(), "S", now()), "w")
        assert store.secret_values() == {"S": "v"}
    finally:
        store.close()


def test_v3_ids_fall_back_to_positions_when_not_numeric() -> None:
    layer = Layer("t", LayerKind.NULL, 1)
    info = TemplateInfo(
        kind=TemplateKind.LOTTIE,
        compositions=(
            Composition("main", 10, 10, 25, 1, (layer,), ""),
            Composition("pre", 10, 10, 25, 1, (), "comp_0"),
        ),
    )
    assert composition_ids(info) == [1, 2]
    (only,) = layers_v3(info)
    assert only["composition_id"] == 1 and only["aeid"] == 1 and only["width"] == 0
