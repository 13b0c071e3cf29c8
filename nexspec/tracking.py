"""Watching jobs until they end, in few requests: a round is at most ``ceil(N / 1000) + 1``.

Every job nexspec submits carries the project's tag, so one listing of that tag (1,000
jobs per page, newest first, so that the project's older jobs come last) reports all of
them; only a job the listing misses is fetched on its own. The interval between rounds
backs off while nothing changes. ``snapshot`` is the same listing used by
``plan --refresh`` and ``status``, without a budget.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from nexspec.client import ApiClient
from nexspec.lock import BackendLock
from nexspec.plan import Remote, RemoteJob
from nexspec.protocol import MAX_LIST_LIMIT

# Server clocks and ours may disagree; look a little further back than the earliest job.
CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class PollPolicy:
    initial: float = 1.0
    maximum: float = 10.0
    factor: float = 1.5

    def next(self, current: float, changed: bool) -> float:
        return self.initial if changed else min(self.maximum, current * self.factor)


@dataclass(frozen=True, slots=True)
class Tracked:
    """A job being watched: its lock name, remote id and when it was submitted."""

    name: str
    id: str
    submitted_at: str | None


def round_budget(jobs: int) -> int:
    """Requests one tracking round may use for ``jobs`` jobs (the documented bound)."""
    return math.ceil(jobs / MAX_LIST_LIMIT) + 1


def poll_round(
    client: ApiClient,
    project_tag: str,
    jobs: Iterable[Tracked],
    *,
    budget: int | None = None,
    turn: int = 0,
) -> dict[str, RemoteJob | None]:
    """The current state of tracked jobs, by id (``None``: the backend does not know it).

    The listing stops once it showed every job, after ``ceil(N / 1000)`` pages at most;
    the jobs it missed are fetched one by one. With a ``budget``, no more requests than
    that are made: single fetches stop when it is spent, starting at the ``turn``-th
    missed job so that each gets its turn, and a job left out is absent from the result.
    """
    wanted = {job.id: job for job in jobs}
    if not wanted:
        return {}
    seen: dict[str, RemoteJob | None] = {}
    used = 0
    if project_tag:
        pages = math.ceil(len(wanted) / MAX_LIST_LIMIT)
        since = _since(job.submitted_at for job in wanted.values())
        for page in _pages(client, project_tag, since):
            used += 1
            seen.update((remote.id, remote) for remote in page if remote.id in wanted)
            if len(seen) == len(wanted) or used >= pages:
                break
    missing = [job_id for job_id in wanted if job_id not in seen]
    if budget is not None and missing:
        start = turn % len(missing)
        missing = (missing[start:] + missing[:start])[: max(budget - used, 0)]
    for job_id in missing:
        seen[job_id] = client.get_job(job_id)
    return seen


def _pages(client: ApiClient, tag: str, since: str | None) -> Iterator[list[RemoteJob]]:
    """The project's jobs, newest first: the tracked ones are the project's latest."""
    offset = 0
    while True:
        page = client.list_jobs(tags=tag, from_date=since, offset=offset, sort="newest_first")
        yield page
        if len(page) < MAX_LIST_LIMIT:
            return
        offset += len(page)


def _since(timestamps: Iterable[str | None]) -> str | None:
    parsed = [_parse(t) for t in timestamps]
    if not parsed or any(p is None for p in parsed):
        return None
    earliest = min(p for p in parsed if p is not None) - CLOCK_SKEW
    return earliest.strftime("%Y-%m-%dT%H:%M:%S.") + f"{earliest.microsecond // 1000:03d}Z"


def _parse(timestamp: str | None) -> dt.datetime | None:
    if not timestamp:
        return None
    try:
        return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def snapshot(client: ApiClient, lock: BackendLock) -> Remote:
    """What the backend says about every template and job id in the lock (for ``--refresh``)."""
    templates = {entry.id: client.get_template(entry.id) for entry in lock.templates.values()}
    tracked = [Tracked(name, entry.id, entry.submitted_at) for name, entry in lock.jobs.items() if entry.id]
    return Remote(templates=templates, jobs=poll_round(client, lock.project_tag, tracked))


def wait_rounds(
    round_: Callable[[], bool],
    *,
    done: Callable[[], bool],
    policy: PollPolicy = PollPolicy(),
    deadline: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Run ``round_`` (which says whether anything changed) until ``done``; ``False`` on timeout."""
    interval = policy.initial
    while not done():
        if deadline is not None and clock() >= deadline:
            return False
        changed = round_()
        if done():
            break
        interval = policy.next(interval, changed)
        pause = interval if deadline is None else max(0.0, min(interval, deadline - clock()))
        sleep(pause)
    return True


def now_iso() -> str:
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def by_name(tracked: Iterable[Tracked]) -> Mapping[str, Tracked]:
    return {t.id: t for t in tracked}
