"""Job fingerprints and inputs: what decides whether a video must be rendered again.

The fingerprint is ``sha256:`` + the sha256 of the canonical JSON of the resolved payload
with the template's digest in place of its remote id, the digest of every project file
the job uses under ``files``, and the delivery credentials left out (webhook header values,
storage keys: rotating a token must not re-render a video). Key order, comments, YAML
style and a re-upload of identical template bytes therefore never change it.

The inputs are the same document flattened to one entry per field, so the lock can
record them and a plan can say exactly which field changed.
"""

from __future__ import annotations

from collections.abc import Mapping

from nexspec.payload import JsonObject, JsonValue, canonical_json, sha256_hex

_DELIVERY_SECRETS = (
    ("webhook", "headers"),
    ("upload", "params", "accessKeyId"),
    ("upload", "params", "accessKeySecret"),
)


def fingerprint_document(payload: JsonObject, files: Mapping[str, str]) -> JsonObject:
    """The document a fingerprint hashes: ``payload`` must have template digests bound."""
    document = _without(payload, _DELIVERY_SECRETS)
    if files:
        document["files"] = dict(sorted(files.items()))
    return document


def fingerprint(document: JsonObject) -> str:
    return "sha256:" + sha256_hex(canonical_json(document))


def inputs(document: JsonObject) -> dict[str, JsonValue]:
    """A fingerprint document as one entry per leaf field; assets are keyed by layer name.

    Only what the fingerprint covers is listed, so every fingerprint change shows up as a
    changed input (credentials are not covered, hence never listed).
    """
    flat: dict[str, JsonValue] = {}
    _flatten(document, "", flat)
    return flat


def _without(payload: JsonObject, paths: tuple[tuple[str, ...], ...]) -> JsonObject:
    out = dict(payload)
    for path in paths:
        out = _drop(out, path)
    return out


def _drop(value: JsonObject, path: tuple[str, ...]) -> JsonObject:
    head, *rest = path
    if head not in value:
        return value
    out = dict(value)
    child = out[head]
    if not rest:
        del out[head]
    elif isinstance(child, dict):
        out[head] = _drop(child, tuple(rest))
    return out


def _flatten(value: JsonValue, prefix: str, out: dict[str, JsonValue]) -> None:
    if isinstance(value, dict) and value and prefix != "files":
        for key in sorted(value):
            _flatten(value[key], f"{prefix}.{key}" if prefix else key, out)
    elif isinstance(value, list) and prefix.endswith("assets") and all(isinstance(a, dict) for a in value):
        for label, asset in _asset_labels(value):
            _flatten(asset, f"{prefix}[{label}]", out)
    elif prefix == "files" and isinstance(value, dict):
        for path in sorted(value):
            out[f"files[{path}]"] = value[path]
    else:
        out[prefix] = value


def _asset_labels(assets: list[JsonValue]) -> list[tuple[str, JsonValue]]:
    names = [a.get("layerName") if isinstance(a, dict) else None for a in assets]
    labelled = []
    for index, (asset, name) in enumerate(zip(assets, names, strict=True)):
        unique = isinstance(name, str) and names.count(name) == 1 and "]" not in name
        labelled.append((str(name) if unique else str(index), asset))
    return labelled
