"""``nexspec serve`` as a user runs it, and the embedded server's clean shutdown."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from backend_kit import TOKEN, client, job_for, upload_template, wait_job

from nexspec.server.embedded import start_embedded

SERVE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from nexspec.commands.serve import serve

    if __name__ == "__main__":
        sys.exit(serve(host="127.0.0.1", port=0, data_dir=Path(sys.argv[1]), token=None,
                       workers=1, faults="latency=1ms", render_fast=True, max_upload_bytes=None,
                       echo=lambda s: print(s, flush=True),
                       warn=lambda s: print(s, file=sys.stderr, flush=True),
                       environ={}))
    """
)


def test_serve_prints_how_to_connect_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    script = tmp_path / "serve.py"
    script.write_text(SERVE)
    data = tmp_path / "data"
    process = subprocess.Popen(
        [sys.executable, str(script), str(data)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line.rstrip())
            if line.startswith("Press Ctrl-C"):
                break
        text = "\n".join(lines)
        url = next(x for x in lines if x.startswith("nexspec local backend: ")).split(": ", 1)[1]
        token = (data / "token").read_text().strip()
        assert token not in text
        assert f"token:   created in {data / 'token'} (mode 0600)" in text
        assert "faults:  latency=1ms (on /api routes)" in text
        response = httpx.get(url + "/jobs", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        rest, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert "nexspec local backend stopped." in rest


def _workers() -> set[int]:
    return {p.pid for p in multiprocessing.active_children() if p.name.startswith("nexspec-") and p.pid}


def test_embedded_server_ends_its_worker_processes(tmp_path: Path) -> None:
    others = _workers()  # those of servers other tests keep running
    with start_embedded(tmp_path, token=TOKEN, workers=2) as running, client(running) as api:
        template = upload_template(api)
        wait_job(api, api.post("/jobs", json=job_for(template["id"])).json()["id"])
        mine = _workers() - others
        assert mine
    assert not _workers() & mine
    for pid in mine:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
