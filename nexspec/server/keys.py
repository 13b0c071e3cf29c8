"""The server's own secrets, kept in its data dir with mode 0600: the API token (when none is
given) and the key that signs presigned storage URLs (so URLs survive a restart).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

TOKEN_FILE = "token"
SIGNING_KEY_FILE = "signing.key"
INSTANCE_FILE = "instance"
PORT_FILE = "port"


def read_or_create(path: Path, make: str) -> tuple[str, bool]:
    """The secret stored at ``path``, or ``make`` written there first; and whether it was new.

    Creation is exclusive, so two servers starting at once agree on one value.
    """
    try:
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return text, False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip(), False
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(make + "\n")
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)
    return make, True


def data_dir_token(data_dir: Path) -> tuple[str, bool]:
    """The token stored in the data dir (created on first start); and whether it is new."""
    return read_or_create(data_dir / TOKEN_FILE, secrets.token_urlsafe(32))


def signing_key(data_dir: Path) -> bytes:
    return read_or_create(data_dir / SIGNING_KEY_FILE, secrets.token_hex(32))[0].encode()


def instance_id(data_dir: Path) -> str:
    """This data dir's identity: a lock written against another data dir is not about this one."""
    return read_or_create(data_dir / INSTANCE_FILE, secrets.token_hex(8))[0]


def read_instance(data_dir: Path) -> str | None:
    """The data dir's identity, or ``None`` when no server ever started there."""
    try:
        return (data_dir / INSTANCE_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def preferred_port(data_dir: Path) -> int:
    """The port the embedded server used last time (0: any), so output URLs stay stable."""
    try:
        return int((data_dir / PORT_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return 0


def remember_port(data_dir: Path, port: int) -> None:
    with contextlib.suppress(OSError):
        (data_dir / PORT_FILE).write_text(f"{port}\n", encoding="utf-8")
