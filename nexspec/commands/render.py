"""``nexspec render``: the fully resolved job payloads, exactly what would be submitted.

The template's digest stands in for its remote id, and secret values (webhook header
values, storage keys) are shown as ``(sensitive)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from nexspec.commands.validate import Validation, validate_project
from nexspec.diagnostics import error
from nexspec.errors import SpecError, UsageError
from nexspec.jobs import bind
from nexspec.payload import JsonObject
from nexspec.redaction import redact_payload


def render_payloads(
    root: Path, *, environ: Mapping[str, str], job: str | None = None
) -> dict[str, JsonObject]:
    """Job name → payload, in spec order; raises ``SpecError`` when the project is invalid."""
    validation = validate_project(root, environ=environ)
    if not validation.ok():
        raise SpecError(validation.diagnostics)
    ids = _digests(validation)
    payloads = {j.name: redact_payload(bind(j.payload, ids)) for j in validation.jobs}
    if job is None:
        return payloads
    if job not in payloads:
        raise UsageError(f"no job named '{job}' (run `nexspec render` to list them)")
    return {job: payloads[job]}


def _digests(validation: Validation) -> dict[str, str]:
    ids = {}
    for name, state in validation.templates.items():
        if state.digest is None:
            raise SpecError([error(f"template '{name}' has no digest", state.spec.location)])
        ids[name] = state.digest.value
    return ids
