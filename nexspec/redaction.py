"""Secrets kept out of output, logs, the lock and plan files.

A webhook's header values and an upload's storage keys are credentials. A value that is
only a ``${secrets.NAME}`` reference is safe to show (the Cloud substitutes it); any other
value is replaced by ``(sensitive)``.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from nexspec.payload import JsonObject, JsonValue

SENSITIVE = "(sensitive)"
_REFERENCE = re.compile(r"^\$\{secrets\.[A-Za-z0-9_-]+\}$")
_SECRET_PARAMS = frozenset({"accessKeyId", "accessKeySecret"})


def is_reference(value: JsonValue) -> bool:
    return isinstance(value, str) and bool(_REFERENCE.match(value))


def _mask(value: JsonValue) -> JsonValue:
    return value if is_reference(value) else SENSITIVE


def redact_payload(payload: JsonObject) -> JsonObject:
    """The payload with every credential value masked; the input is not modified."""
    out = dict(payload)
    webhook = out.get("webhook")
    if isinstance(webhook, dict) and isinstance(webhook.get("headers"), dict):
        headers = webhook["headers"]
        assert isinstance(headers, dict)
        out["webhook"] = {**webhook, "headers": {k: _mask(v) for k, v in headers.items()}}
    upload = out.get("upload")
    if isinstance(upload, dict) and isinstance(upload.get("params"), dict):
        params = upload["params"]
        assert isinstance(params, dict)
        masked = {k: _mask(v) if k in _SECRET_PARAMS else v for k, v in params.items()}
        out["upload"] = {**upload, "params": masked}
    return out


def secret_values(payload: JsonObject) -> list[str]:
    """The literal credential values in a payload (for scrubbing logs)."""
    found: list[str] = []
    webhook = payload.get("webhook")
    if isinstance(webhook, dict) and isinstance(webhook.get("headers"), dict):
        headers = webhook["headers"]
        assert isinstance(headers, dict)
        found += [v for v in headers.values() if isinstance(v, str) and not is_reference(v)]
    upload = payload.get("upload")
    if isinstance(upload, dict) and isinstance(upload.get("params"), dict):
        params = upload["params"]
        assert isinstance(params, dict)
        found += [
            v for k, v in params.items() if k in _SECRET_PARAMS and isinstance(v, str) and not is_reference(v)
        ]
    return found


_SIGNATURE_PARAMS = ("x-amz-signature", "x-amz-credential", "signature", "x-goog-signature", "sig", "token")


def public_url(url: str | None) -> str | None:
    """A URL safe to print and store: a presigned URL loses its query string (the credential)."""
    if not url:
        return url
    parts = urlsplit(url)
    names = {name.lower() for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    if names & set(_SIGNATURE_PARAMS):
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return url
