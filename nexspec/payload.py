"""Job payloads as JSON values: canonical form, fingerprints, redaction and field diffs.

A payload is exactly what is sent to ``POST /api/v2/jobs``. Canonical JSON (sorted keys,
no insignificant whitespace, UTF-8) makes its hash independent of key order and
formatting in the specs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]
JsonObject = dict[str, JsonValue]
FieldPath = tuple[str | int, ...]


def canonical_json(value: object) -> str:
    """The one text form of a JSON value: sorted keys, compact separators, non-ASCII kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def format_path(path: FieldPath) -> str:
    """``('jobs', 'teaser', 'assets', 0, 'value')`` as ``jobs.teaser.assets[0].value``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def get_path(value: object, path: FieldPath) -> object:
    for part in path:
        value = _child(value, part)
    return value


def _child(value: object, part: str | int) -> object:
    if isinstance(part, int) and isinstance(value, Sequence) and not isinstance(value, str):
        return value[part]
    if isinstance(part, str) and isinstance(value, Mapping):
        return value[part]
    raise KeyError(part)
