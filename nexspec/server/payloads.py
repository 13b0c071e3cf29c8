"""Request bodies and query strings checked as the cloud checks them, into plain values.

Every failure is an ``ApiProblem``: 400 with ``details[]`` for a malformed body, 400 with
a message for a bad query parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jsonschema

from nexspec.payload import JsonObject, JsonValue, format_path
from nexspec.protocol import (
    JOB_LIST_SORTS,
    LOCAL_TEMPLATE_TYPES,
    MAX_BATCH_JOBS,
    MAX_LIST_LIMIT,
    V3_DEFAULT_LIMIT,
)
from nexspec.schemas import job_errors
from nexspec.server.problems import ApiProblem, Detail, bad_request
from nexspec.server.records import JobQuery
from nexspec.server.stamps import format_time, is_ulid, parse_time

DEFAULT_JOB_LIMIT = 100
_REQUIRED = re.compile(r"^'(.+)' is a required property$")
_TAGS = re.compile(r"^[a-zA-Z0-9_-]+(,[a-zA-Z0-9_-]+)*$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
JOIN_PRESETS = ("mp4",)


def require_object(body: object) -> JsonObject:
    if not isinstance(body, dict):
        raise bad_request("Validation failed", [Detail("body", "must be a JSON object")])
    return body


# --- templates -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateCreation:
    type: str
    display_name: str
    src: str | None


def template_creation(body: object) -> TemplateCreation:
    data = require_object(body)
    details: list[Detail] = []
    kind = data.get("type")
    if kind not in LOCAL_TEMPLATE_TYPES:
        allowed = ", ".join(LOCAL_TEMPLATE_TYPES)
        details.append(Detail("type", f"must be one of {allowed}"))
    name = data.get("displayName")
    if not isinstance(name, str) or not name.strip():
        details.append(Detail("displayName", "is required and must be a non-empty string"))
    src = data.get("src")
    if src is not None and (not isinstance(src, str) or not src):
        details.append(Detail("src", "must be a URL"))
    if details:
        raise bad_request("Validation failed", details)
    assert isinstance(kind, str) and isinstance(name, str)
    return TemplateCreation(kind, name.strip(), src if isinstance(src, str) else None)


def template_patch(body: object) -> str:
    data = require_object(body)
    extra = sorted(set(data) - {"displayName"})
    details = [Detail(key, "cannot be changed; only displayName can") for key in extra]
    name = data.get("displayName")
    if not isinstance(name, str) or not name.strip():
        details.append(Detail("displayName", "is required and must be a non-empty string"))
    if details:
        raise bad_request("Validation failed", details)
    assert isinstance(name, str)
    return name.strip()


# --- jobs ----------------------------------------------------------------------------------


def job_payload(body: object) -> JsonObject:
    """The job body, or 400 with every schema problem as ``details[]``."""
    data = require_object(body)
    details = job_details(data)
    if details:
        raise bad_request("Validation failed", details)
    return data


def job_details(data: JsonObject) -> list[Detail]:
    details: list[Detail] = []
    both = data.get("preview") is True and "settings" in data
    if both:
        details.append(Detail("settings", "cannot be combined with preview: true"))
    for error in sorted(job_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        if both and list(error.absolute_path) == ["preview"]:
            continue
        details.append(_detail(error))
    return details


def _detail(error: jsonschema.ValidationError) -> Detail:
    path = format_path(tuple(error.absolute_path))
    missing = _REQUIRED.match(error.message) if error.validator == "required" else None
    if missing:
        return Detail(f"{path}.{missing[1]}" if path else missing[1], "is required")
    return Detail(path or "body", error.message)


def job_ids(body: object) -> list[str]:
    """``{"jobs": [...]}``: 1 to 1,000 unique job ids."""
    data = require_object(body)
    ids = data.get("jobs")
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_BATCH_JOBS:
        raise bad_request("Validation failed", [Detail("jobs", f"must list 1 to {MAX_BATCH_JOBS} job ids")])
    bad = [i for i, v in enumerate(ids) if not isinstance(v, str) or not is_ulid(v)]
    if bad:
        raise bad_request("Validation failed", [Detail(f"jobs[{i}]", "must be a job id (ULID)") for i in bad])
    if len(set(ids)) != len(ids):
        raise bad_request("Validation failed", [Detail("jobs", "must not repeat a job id")])
    return [str(v) for v in ids]


def batch_jobs(body: object) -> list[JsonValue]:
    data = require_object(body)
    jobs = data.get("jobs")
    if not isinstance(jobs, list) or not 1 <= len(jobs) <= MAX_BATCH_JOBS:
        raise bad_request("Validation failed", [Detail("jobs", f"must hold 1 to {MAX_BATCH_JOBS} jobs")])
    return jobs


def join_details(data: JsonObject) -> list[Detail]:
    """Problems of a ``POST /jobs/join`` body (``JoinJobCreation``)."""
    details: list[Detail] = []
    assets = data.get("assets")
    if not isinstance(assets, list) or not assets:
        return [Detail("assets", "must list at least one video or job")]
    for index, asset in enumerate(assets):
        details += _join_asset(index, asset)
    settings = data.get("settings")
    if settings is not None and (
        not isinstance(settings, dict) or settings.get("preset", "mp4") not in JOIN_PRESETS
    ):
        details.append(Detail("settings.preset", "must be mp4"))
    for key in ("webhook", "upload"):
        if key in data:
            wrapper: JsonObject = {"template": {"id": "0" * 26}, key: data[key]}
            details += [d for d in job_details(wrapper) if d.field.startswith(key)]
    return details


def _join_asset(index: int, asset: JsonValue) -> list[Detail]:
    where = f"assets[{index}]"
    if not isinstance(asset, dict) or asset.get("type") not in ("video", "job"):
        return [Detail(f"{where}.type", "must be video or job")]
    if asset["type"] == "video":
        src = asset.get("src")
        return [] if isinstance(src, str) and src else [Detail(f"{where}.src", "is required")]
    child = {key: value for key, value in asset.items() if key not in ("type", "layerName")}
    return [Detail(f"{where}.{d.field}", d.message) for d in job_details(child)]


# --- queries -------------------------------------------------------------------------------


def job_query(params: Mapping[str, str]) -> tuple[JobQuery, bool]:
    """The filters of ``GET /jobs`` and whether ``minimal`` was asked for."""
    minimal = params.get("minimal", "false")
    if minimal not in ("true", "false"):
        raise bad_request("minimal must be 'true' or 'false'")
    sort = params.get("sort", "oldest_first")
    if sort not in JOB_LIST_SORTS:
        raise bad_request(f"sort must be one of {', '.join(JOB_LIST_SORTS)}")
    tags = params.get("tags")
    if tags is not None and not _TAGS.match(tags):
        raise bad_request("tags must be a comma-separated list of letters, digits, '-' and '_'")
    query = JobQuery(
        offset=_integer(params, "from", 0, low=0),
        limit=_integer(params, "limit", DEFAULT_JOB_LIMIT, low=1, high=MAX_LIST_LIMIT),
        states=_csv(params.get("states")),
        exclude_states=_csv(params.get("exclude_states")),
        from_date=_date(params, "from_date"),
        to_date=_date(params, "to_date"),
        sort=sort,
        tags=_csv(tags),
    )
    return query, minimal == "true"


def page(params: Mapping[str, str]) -> tuple[int, int]:
    """``limit`` (default 300, capped at 1,000) and ``offset`` of the v3 lists."""
    limit = min(_integer(params, "limit", V3_DEFAULT_LIMIT, low=1), MAX_LIST_LIMIT)
    return limit, _integer(params, "offset", 0, low=0)


def _integer(params: Mapping[str, str], name: str, default: int, *, low: int, high: int | None = None) -> int:
    text = params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise bad_request(f"{name} must be a whole number") from None
    if value < low or (high is not None and value > high):
        span = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise bad_request(f"{name} must be {span}")
    return value


def _csv(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip()) if text else ()


def _date(params: Mapping[str, str], name: str) -> str | None:
    text = params.get(name)
    if text is None:
        return None
    try:
        return format_time(parse_time(text))
    except ValueError:
        raise bad_request(f"{name} must be an ISO-8601 date or date-time") from None


# --- secrets -------------------------------------------------------------------------------


def secret_creation(body: object) -> tuple[str, str]:
    data = require_object(body)
    details: list[Detail] = []
    name, value = data.get("name"), data.get("value")
    if not isinstance(name, str) or not _SECRET_NAME.match(name):
        details.append(Detail("name", "is required: letters, digits, '-' and '_'"))
    if not isinstance(value, str) or not value:
        details.append(Detail("value", "is required and must be a non-empty string"))
    if details:
        raise bad_request("Validation failed", details)
    assert isinstance(name, str) and isinstance(value, str)
    return name, value


def check_id(value: str, what: str) -> str:
    """A v3 or cancel id must be a ULID: 400 otherwise (v2 routes answer 404 instead)."""
    if not is_ulid(value):
        raise ApiProblem(400, f"Invalid {what} id")
    return value


def asset_list(payload: JsonObject) -> Sequence[JsonValue]:
    assets = payload.get("assets")
    return assets if isinstance(assets, list) else []
