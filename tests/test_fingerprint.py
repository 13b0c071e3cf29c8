"""Fingerprints change with what is rendered and with nothing else."""

from __future__ import annotations

from nexspec.fingerprint import fingerprint, fingerprint_document, inputs
from nexspec.redaction import SENSITIVE, public_url, redact_payload, secret_values

PAYLOAD = {
    "template": {"id": "sha256:" + "1" * 64, "composition": "main"},
    "assets": [
        {"type": "text", "layerName": "title", "value": "Summer sale"},
        {"type": "image", "layerName": "logo", "src": "images/logo.png"},
    ],
    "webhook": {"url": "https://hooks.example.com/x", "headers": {"Authorization": "Bearer s3cret"}},
    "upload": {
        "provider": "s3",
        "params": {"bucket": "b", "region": "r", "accessKeyId": "AKIA", "accessKeySecret": "shh"},
    },
}
FILES = {"images/logo.png": "sha256:" + "2" * 64}


def fp(payload: dict, files: dict[str, str] = FILES) -> str:  # type: ignore[type-arg]
    return fingerprint(fingerprint_document(payload, files))


def test_key_order_does_not_matter() -> None:
    reordered = dict(reversed(list(PAYLOAD.items())))
    assert fp(reordered) == fp(PAYLOAD)


def test_credentials_do_not_count_but_content_does() -> None:
    rotated = {**PAYLOAD, "webhook": {**PAYLOAD["webhook"], "headers": {"Authorization": "Bearer new"}}}  # type: ignore[dict-item]
    assert fp(rotated) == fp(PAYLOAD)
    edited = {
        **PAYLOAD,
        "assets": [{"type": "text", "layerName": "title", "value": "Winter sale"}, PAYLOAD["assets"][1]],
    }  # type: ignore[index]
    assert fp(edited) != fp(PAYLOAD)
    assert fp(PAYLOAD, {"images/logo.png": "sha256:" + "3" * 64}) != fp(PAYLOAD)


def test_inputs_list_every_covered_field_and_no_secret() -> None:
    flat = inputs(fingerprint_document(PAYLOAD, FILES))
    assert flat == {
        "assets[logo].layerName": "logo",
        "assets[logo].src": "images/logo.png",
        "assets[logo].type": "image",
        "assets[title].layerName": "title",
        "assets[title].type": "text",
        "assets[title].value": "Summer sale",
        "files[images/logo.png]": FILES["images/logo.png"],
        "template.composition": "main",
        "template.id": PAYLOAD["template"]["id"],  # type: ignore[index]
        "upload.params.bucket": "b",
        "upload.params.region": "r",
        "upload.provider": "s3",
        "webhook.url": "https://hooks.example.com/x",
    }


def test_redaction_masks_literal_credentials_but_shows_references() -> None:
    payload = {**PAYLOAD, "webhook": {"url": "u", "headers": {"A": "Bearer s3cret", "B": "${secrets.HOOK}"}}}
    redacted = redact_payload(payload)
    assert redacted["webhook"] == {"url": "u", "headers": {"A": SENSITIVE, "B": "${secrets.HOOK}"}}
    assert redacted["upload"]["params"]["accessKeySecret"] == SENSITIVE  # type: ignore[index]
    assert sorted(secret_values(payload)) == ["AKIA", "Bearer s3cret", "shh"]
    assert payload["webhook"]["headers"]["A"] == "Bearer s3cret"  # type: ignore[index]  # input untouched


def test_public_url_drops_presigned_queries_only() -> None:
    signed = "https://x.r2.dev/out/job.mp4?X-Amz-Algorithm=AWS4&X-Amz-Signature=abc&X-Amz-Expires=3600"
    assert public_url(signed) == "https://x.r2.dev/out/job.mp4"
    assert public_url("https://cdn.example.com/out/job.mp4?v=2") == "https://cdn.example.com/out/job.mp4?v=2"
    assert public_url(None) is None
