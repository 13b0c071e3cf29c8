"""The local backend's stored records, as frozen values: templates, jobs, fonts, secrets, batches.

``store`` reads and writes them; ``documents`` turns them into the API's JSON shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from nexspec.payload import JsonObject
from nexspec.protocol import JobState
from nexspec.templateinfo import TemplateInfo

# Jobs a worker holds: re-queued when the server starts, since no worker survives a restart.
DOWNLOADING = "render:download"
IN_FLIGHT_STATES = (DOWNLOADING, JobState.RENDERING.value)
ACTIVE_STATES = (JobState.QUEUED.value, JobState.PENDING.value, *IN_FLIGHT_STATES)


class JobKind(StrEnum):
    RENDER = "render"
    JOIN = "join"


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateRecord:
    """A template; ``blob`` is the storage key of its file once uploaded or fetched.

    ``upload_id`` names the one presigned upload URL that is still honoured and
    ``upload_issued`` the second it was signed (its expiry counts from there).
    """

    id: str
    type: str
    display_name: str
    status: str
    created_at: str
    updated_at: str
    error: str | None = None
    src: str | None = None
    upload_id: str | None = None
    upload_issued: int | None = None
    blob: str | None = None
    size: int | None = None
    info: TemplateInfo | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRecord:
    """A job as stored; ``payload`` is the creation body, ``output`` its output's storage key."""

    id: str
    kind: JobKind
    template_id: str | None
    status: str
    payload: JsonObject
    output: str
    created_at: str
    updated_at: str
    parent_id: str | None = None
    batch_id: str | None = None
    batch_index: int | None = None
    progress: float = 0.0
    priority: int = 0
    tags: tuple[str, ...] = ()
    missing_fonts: tuple[str, ...] = ()
    total_assets: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    error_at: str | None = None
    render_duration: float | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FontRecord:
    id: str
    family_name: str
    file_name: str
    created_at: str
    blob: str
    size: int


@dataclass(frozen=True, slots=True)
class SecretRecord:
    id: str
    name: str
    created_at: str


@dataclass(frozen=True, slots=True)
class BatchRecord:
    id: str
    created_at: str
    total: int


@dataclass(frozen=True, slots=True)
class JobQuery:
    """The filters of ``GET /jobs``, already checked."""

    offset: int = 0
    limit: int = 100
    states: tuple[str, ...] = ()
    exclude_states: tuple[str, ...] = ()
    from_date: str | None = None
    to_date: str | None = None
    sort: str = "oldest_first"
    tags: tuple[str, ...] = ()
