"""The lock file: canonical bytes, validation on read, atomic writes, the apply guard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nexspec.errors import LockError
from nexspec.lock import BackendLock, JobEntry, JobStatus, Lock, TemplateEntry, digest, dumps, loads
from nexspec.lockfile import apply_guard, force_unlock, lock_holder, read_lock, write_lock

D = "sha256:" + "1" * 64
LOCK = Lock(
    {
        "local": BackendLock(
            "nxs-p-abc",
            {
                "promo": TemplateEntry(
                    D, "01J0TEMPLATE00000000000000", "lottie", "uploaded", "2026-11-29T04:00:00.000Z"
                )
            },
            {
                "teaser": JobEntry(
                    D,
                    "promo",
                    JobStatus.FINISHED,
                    "nxs-111-1",
                    1,
                    "01J0JOB0000000000000000000",
                    "http://127.0.0.1:8765/_storage/outputs/x.mp4",
                    7.5,
                    None,
                    "2026-11-29T04:00:01.000Z",
                    "2026-11-29T04:00:09.000Z",
                    {"assets[title].value": "Hi"},
                )
            },
        )
    }
)
GOLDEN = """\
{
  "_comment": "Maintained by `nexspec apply`; commit it, do not edit it by hand.",
  "backends": {
    "local": {
      "jobs": {
        "teaser": {
          "attempt": 1,
          "fingerprint": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
          "finished_at": "2026-11-29T04:00:09.000Z",
          "id": "01J0JOB0000000000000000000",
          "inputs": {
            "assets[title].value": "Hi"
          },
          "output_url": "http://127.0.0.1:8765/_storage/outputs/x.mp4",
          "render_duration": 7.5,
          "status": "finished",
          "submitted_at": "2026-11-29T04:00:01.000Z",
          "tag": "nxs-111-1",
          "template": "promo"
        }
      },
      "project_tag": "nxs-p-abc",
      "templates": {
        "promo": {
          "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
          "id": "01J0TEMPLATE00000000000000",
          "status": "uploaded",
          "type": "lottie",
          "uploaded_at": "2026-11-29T04:00:00.000Z"
        }
      }
    }
  },
  "lockfile_version": 1
}
"""


def test_dumps_is_canonical_and_round_trips() -> None:
    assert dumps(LOCK) == GOLDEN
    assert loads(GOLDEN) == LOCK
    assert dumps(loads(GOLDEN)) == GOLDEN


def test_digest_names_an_absent_lock() -> None:
    assert digest(None) == "absent"
    assert digest(GOLDEN) == digest(GOLDEN) != digest(GOLDEN + " ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{",
            "nexspec.lock:1: not valid JSON (Expecting property name enclosed in double quotes); "
            "restore it from version control",
        ),
        (
            '{"lockfile_version": 9, "backends": {}}',
            "nexspec.lock: lockfile_version 9 is newer than this nexspec understands (1); upgrade nexspec",
        ),
        (
            '{"lockfile_version": 1}',
            "nexspec.lock: invalid lock file at (top level): 'backends' is a required property",
        ),
        (
            GOLDEN.replace('"status": "finished"', '"status": "done"'),
            "nexspec.lock: invalid lock file at backends/local/jobs/teaser/status: 'done' is not one of "
            "['submitting', 'queued', 'pending', 'rendering', 'finished', 'error', 'manually_cancelled']",
        ),
    ],
)
def test_bad_locks_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(LockError) as caught:
        loads(text)
    assert str(caught.value) == message


def test_read_and_write(tmp_path: Path) -> None:
    path = tmp_path / "nexspec.lock"
    assert read_lock(path) == (Lock(), None)
    assert write_lock(path, LOCK) == GOLDEN
    assert read_lock(path) == (LOCK, GOLDEN)
    assert [p.name for p in tmp_path.iterdir()] == ["nexspec.lock"]  # no temp file left behind
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_the_apply_guard_excludes_a_second_holder(tmp_path: Path) -> None:
    state = tmp_path / ".nexspec"
    with apply_guard(state, command="apply"):
        holder = lock_holder(state)
        assert holder is not None and holder["command"] == "apply" and holder["pid"] == os.getpid()
        other = subprocess.run(
            [
                sys.executable,
                "-c",
                "from nexspec.lockfile import apply_guard\nfrom pathlib import Path\n"
                f"with apply_guard(Path({str(state)!r})): pass",
            ],
            capture_output=True,
            text=True,
        )
        assert other.returncode == 1
        assert "another nexspec apply holds this project's lock (" in other.stderr
        assert "run `nexspec apply --force-unlock` if it is stuck" in other.stderr
    assert lock_holder(state) is None
    with apply_guard(state):
        pass


def test_force_unlock_reports_the_holder(tmp_path: Path) -> None:
    state = tmp_path / ".nexspec"
    state.mkdir()
    (state / "apply.lock.json").write_text(json.dumps({"owner": "ci", "host": "runner-7", "pid": 1}))
    assert force_unlock(state) == {"owner": "ci", "host": "runner-7", "pid": 1}
    assert force_unlock(state) is None
