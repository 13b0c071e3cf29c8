"""``nexspec status``: refresh the lock from the backend and report every job."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from nexspec.backend import BackendChoice, connect
from nexspec.commands.validate import state_dir
from nexspec.errors import LockHeldError
from nexspec.lock import BackendLock, JobEntry
from nexspec.lockfile import LOCK_FILE, apply_guard, lock_holder, read_lock, write_lock
from nexspec.plan import RemoteJob, observed
from nexspec.tracking import snapshot


@dataclass(frozen=True, slots=True)
class StatusReport:
    backend: str
    jobs: Mapping[str, JobEntry]
    changed: int
    holder: Mapping[str, object] | None = None


def refresh_status(root: Path, choice: BackendChoice, *, environ: Mapping[str, str]) -> StatusReport:
    """Ask the backend about every job in the lock, record what changed, report all of them.

    While an apply runs it owns the lock file: a remote backend is then only read (the
    report names the apply's holder). The embedded backend cannot be: a second one on the
    same data dir would take over the running apply's jobs.
    """
    state = state_dir(root)
    try:
        with apply_guard(state, command="status"):
            return _report(root, choice, environ, record=True)
    except LockHeldError:
        if choice.is_local:
            raise
    return replace(_report(root, choice, environ, record=False), holder=lock_holder(state))


def _report(root: Path, choice: BackendChoice, environ: Mapping[str, str], *, record: bool) -> StatusReport:
    lock, _ = read_lock(root / LOCK_FILE)
    backend = lock.backend(choice.key)
    if not backend.jobs:
        return StatusReport(choice.key, {}, 0)
    with connect(choice, root, environ) as connection:
        remote = snapshot(connection.client, backend)
    updated, changed = _refreshed(backend, remote.jobs)
    if changed and record:
        write_lock(root / LOCK_FILE, lock.with_backend(choice.key, updated))
    return StatusReport(choice.key, updated.jobs, changed)


def _refreshed(backend: BackendLock, remote: Mapping[str, RemoteJob | None]) -> tuple[BackendLock, int]:
    changed = 0
    for name, entry in backend.jobs.items():
        if entry.id is None or entry.id not in remote:
            continue
        update = observed(entry, remote[entry.id])
        if update != entry:
            backend = backend.with_job(name, update)
            changed += 1
    return backend, changed
