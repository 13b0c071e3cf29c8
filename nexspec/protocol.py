"""The Nexrender Cloud API v2 wire contract shared by nexspec's client and its local backend.

Routes, states and limits live here once, so the client and the server cannot drift
apart (neither imports the other). Facts follow the public contract: terminal job
states, cancellable states, batch and list limits, the template upload flow.
"""

from __future__ import annotations

import re
from enum import StrEnum

API_PREFIX = "/api/v2"
API_V3_PREFIX = "/api/v3"
DEFAULT_CLOUD_URL = "https://api.nexrender.com/api/v2"

ULID_PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
MAX_BATCH_JOBS = 1000
MAX_LIST_LIMIT = 1000
V3_DEFAULT_LIMIT = 300
MAX_TEMPLATE_BYTES = 2 * 1024**3
MAX_FONT_BYTES = 40 * 1024**2
UPLOAD_URL_TTL_SECONDS = 3600
# Jobs nexspec submits carry this tag, derived from the job's fingerprint, so that an
# ambiguous failure can be resolved by looking the job up instead of submitting it twice.
IDEMPOTENCY_TAG_PREFIX = "nxs-"
IDEMPOTENCY_TAG_LENGTH = 20


class JobState(StrEnum):
    """Job states as the API reports them. Any other value means "still in progress"."""

    QUEUED = "queued"
    PENDING = "pending"
    RENDERING = "render:dorender"
    FINISHED = "finished"
    ERROR = "error"
    CANCELLED = "manually_cancelled"


TERMINAL_STATES = frozenset({JobState.FINISHED, JobState.ERROR, JobState.CANCELLED})
CANCELLABLE_STATES = frozenset({JobState.QUEUED, JobState.PENDING})


class TemplateState(StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"
    DOWNLOADING = "downloading"
    PROCESSING = "processing"
    UPLOADED = "uploaded"
    ERROR = "error"


TEMPLATE_TYPES = ("aep", "zip", "mogrt")
# The local backend also renders Bodymovin (Lottie) templates; the Cloud does not.
LOCAL_TEMPLATE_TYPES = (*TEMPLATE_TYPES, "lottie")

JOB_LIST_SORTS = ("random", "newest_first", "oldest_first", "priority")
OUTPUT_EXTENSIONS = {"video": "mp4", "image": "png", "aep": "zip"}


def idempotency_tag(fingerprint: str, attempt: int) -> str:
    """The tag of the ``attempt``-th submission of the job with this fingerprint: a retry is
    never mistaken for the earlier, failed submission."""
    return f"{IDEMPOTENCY_TAG_PREFIX}{fingerprint.removeprefix('sha256:')[:IDEMPOTENCY_TAG_LENGTH]}-{attempt}"
