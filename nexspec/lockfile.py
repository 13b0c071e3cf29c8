"""The lock file on disk, and the guard that stops two applies from racing.

Reading validates (``nexspec.lock.loads``); writing is atomic, so an interrupted apply
leaves the previous or the new lock, both valid. The apply guard is an OS file lock
(released by the kernel if the process dies) plus a small record of who holds it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock

from nexspec.atomicfile import write_atomic
from nexspec.errors import LockError, LockHeldError
from nexspec.lock import Lock, dumps, loads

LOCK_FILE = "nexspec.lock"


def read_lock(path: Path) -> tuple[Lock, str | None]:
    """The lock and its exact text (``None`` when there is no lock file yet)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Lock(), None
    except (OSError, UnicodeDecodeError) as exc:
        raise LockError(f"{path.name}: cannot read the lock file: {exc}") from None
    return loads(text, path.name), text


def write_lock(path: Path, lock: Lock) -> str:
    """Write the lock atomically; returns the text written."""
    text = dumps(lock)
    try:
        write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise LockError(f"{path.name}: cannot write the lock file: {exc.strerror}") from None
    return text


@contextmanager
def apply_guard(state_dir: Path, *, timeout: float = 0.0, command: str = "apply") -> Iterator[None]:
    """Hold the project's apply lock for the duration of the block."""
    state_dir.mkdir(parents=True, exist_ok=True)
    guard = filelock.FileLock(state_dir / "apply.lock")
    info = state_dir / "apply.lock.json"
    try:
        guard.acquire(timeout=timeout)
    except filelock.Timeout:
        raise LockHeldError(_held_message(info)) from None
    try:
        write_atomic(info, json.dumps(_owner(command)).encode("utf-8"))
        yield
    finally:
        info.unlink(missing_ok=True)
        guard.release()


def lock_holder(state_dir: Path) -> dict[str, object] | None:
    """Who holds the apply lock, as recorded when it was taken."""
    try:
        data = json.loads((state_dir / "apply.lock.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def force_unlock(state_dir: Path) -> dict[str, object] | None:
    """Break the apply lock (for a lock left by a machine that is gone); returns its holder."""
    holder = lock_holder(state_dir)
    (state_dir / "apply.lock.json").unlink(missing_ok=True)
    (state_dir / "apply.lock").unlink(missing_ok=True)
    return holder


def _owner(command: str) -> dict[str, object]:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    user = os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"
    return {
        "owner": user,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started_at": now,
        "command": command,
    }


def _held_message(info: Path) -> str:
    holder = lock_holder(info.parent)
    who = ""
    if holder is not None:
        who = f" ({holder.get('owner')} on {holder.get('host')}, pid {holder.get('pid')}"
        who += f", since {holder.get('started_at')})"
    return (
        f"another nexspec apply holds this project's lock{who}; "
        "wait for it, or run `nexspec apply --force-unlock` if it is stuck"
    )
