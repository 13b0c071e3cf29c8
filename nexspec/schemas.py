"""The JSON Schemas nexspec ships, loaded once: specs, the Cloud job payload, the lock file.

The schema files live in the project's ``schema/`` folder, which the wheel installs as
``nexspec/_schema``; both places are looked up so an editable install and a wheel behave
the same.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

SPEC_SCHEMA = "nexspec.schema.json"
JOB_SCHEMA = "nexrender-job.schema.json"
LOCK_SCHEMA = "lock.schema.json"
SPEC_SCHEMA_ID = "https://nexspec.dev/schema/v1/nexspec.schema.json"


def schema_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_schema", here.parent / "schema"):
        if (candidate / SPEC_SCHEMA).is_file():
            return candidate
    raise FileNotFoundError("nexspec's schema files are missing from this installation")


def schema_text(name: str) -> str:
    return (schema_dir() / name).read_text(encoding="utf-8")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text(name))
    return schema


@functools.cache
def spec_validator(*, fragment: bool = False) -> jsonschema.Draft202012Validator:
    """A validator for the project file, or (``fragment``) for an included spec file."""
    schema = load_schema(SPEC_SCHEMA)
    registry: Registry[Any] = Registry().with_resource(SPEC_SCHEMA_ID, Resource.from_contents(schema))
    target = {"$ref": f"{SPEC_SCHEMA_ID}#/$defs/fragment"} if fragment else schema
    return jsonschema.Draft202012Validator(target, registry=registry)


@functools.cache
def job_validator() -> jsonschema.Draft7Validator:
    """The slow, explaining validator for job payloads (every error, with its path)."""
    return jsonschema.Draft7Validator(load_schema(JOB_SCHEMA))


@functools.cache
def fast_job_check() -> Callable[[Any], Any]:
    """A compiled job-payload check that raises on the first error (about 50× faster).

    Valid payloads, the common case, pass here; only invalid ones are handed to
    ``job_validator`` to be explained.
    """
    import fastjsonschema

    check: Callable[[Any], Any] = fastjsonschema.compile(load_schema(JOB_SCHEMA))
    return check


# Compiling the fast check costs about 75 ms: worth it only once a run has many payloads.
COMPILE_AFTER = 64
_checked = itertools.count()


def job_errors(payload: object) -> Iterator[jsonschema.ValidationError]:
    """Every schema error of a job payload; nothing for a valid one."""
    if next(_checked) < COMPILE_AFTER:
        yield from job_validator().iter_errors(payload)
        return
    try:
        fast_job_check()(payload)
    except Exception:
        yield from job_validator().iter_errors(payload)
