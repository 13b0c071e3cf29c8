"""``${secrets.NAME}`` references in job payloads, resolved against the secret library.

Substitution happens as late as possible (when a render starts, when a webhook is sent),
and the resolved values never reach a log: log lines are scrubbed of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from nexspec.payload import JsonValue

REFERENCE = re.compile(r"\$\{secrets\.([A-Za-z0-9_-]+)\}")
MASK = "(sensitive)"


class MissingSecret(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"Secret '{name}' not found")
        self.name = name


def substitute(text: str, secrets: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match[1]
        if name not in secrets:
            raise MissingSecret(name)
        return secrets[name]

    return REFERENCE.sub(value, text)


def substitute_json(value: JsonValue, secrets: Mapping[str, str]) -> JsonValue:
    """Every string inside ``value`` with its references resolved."""
    if isinstance(value, str):
        return substitute(value, secrets)
    if isinstance(value, list):
        return [substitute_json(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: substitute_json(item, secrets) for key, item in value.items()}
    return value


def used_values(value: JsonValue, secrets: Mapping[str, str]) -> list[str]:
    """The values of the secrets ``value`` refers to (what a log must never show)."""
    names: set[str] = set()
    _collect(value, names)
    return [secrets[name] for name in names if name in secrets]


def _collect(value: JsonValue, names: set[str]) -> None:
    if isinstance(value, str):
        names.update(REFERENCE.findall(value))
    elif isinstance(value, list):
        for item in value:
            _collect(item, names)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, names)


def scrub(lines: Iterable[str], values: Iterable[str]) -> list[str]:
    """``lines`` with every secret value replaced by ``(sensitive)``."""
    secrets = sorted({v for v in values if len(v) >= 3}, key=len, reverse=True)
    out = []
    for line in lines:
        for secret in secrets:
            line = line.replace(secret, MASK)
        out.append(line)
    return out
