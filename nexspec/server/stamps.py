"""IDs and timestamps as the API writes them: ULIDs, and ISO-8601 UTC with milliseconds.

IDs are made strictly increasing within one process, so that "oldest first" is also the
order in which records were created, even within one millisecond.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from ulid import ULID

from nexspec.protocol import ULID_PATTERN

_lock = threading.Lock()
_last = 0


def new_id() -> str:
    global _last
    with _lock:
        value = max(int(ULID()), _last + 1)
        _last = value
    return str(ULID.from_int(value))


def is_ulid(text: str) -> bool:
    return bool(ULID_PATTERN.match(text))


def format_time(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now() -> str:
    return format_time(datetime.now(UTC))


def parse_time(text: str) -> datetime:
    """An ISO-8601 date or date-time; one without a zone is taken as UTC."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def seconds_between(start: str, end: str) -> float:
    return (parse_time(end) - parse_time(start)).total_seconds()
