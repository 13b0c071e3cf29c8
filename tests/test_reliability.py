"""nexspec's reliability promises, proven against ``nexspec serve`` running as a real process.

- No duplicate renders: ``nexspec apply`` killed with SIGKILL at random points of its run
  (20 trials), then run again: the lock is valid every time, a job the server holds was
  recorded in the lock as an intent before it was created, and the server ends with exactly
  one job per fingerprint.
- Ctrl-C: exit 130, a valid lock recording what was submitted, and a next apply that tracks
  what exists instead of submitting it again.
- Under injected faults (``error_rate=0.2,throttle_rate=0.05,drop_rate=0.05``) an apply of
  200 jobs still finishes, with no duplicates.
- Secrets (the API key, presigned URLs, webhook header values) never appear in any command's
  output, the ``--verbose`` request log, the lock, plan files or ``.nexspec/``.
"""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from live_backend import (
    COMMAND_LIMIT,
    Server,
    clean_env,
    idempotency_prefix,
    idempotency_tags,
    jobs_by_prefix,
    nexspec,
    running_server,
    server_jobs,
    stored_rows,
    write_project,
)

from nexspec.lock import JobStatus, Lock, loads
from nexspec.protocol import UPLOAD_URL_TTL_SECONDS
from nexspec.server.blobs import UrlSigner
from nexspec.server.keys import signing_key
from nexspec.server.stamps import parse_time

TOKEN = "reliability-token-5b1f0c9d7e3a4f21"
EVENT_LIMIT = 120.0  # how long to wait for an apply to reach a point of its run; a hang guard only


# --- an apply as a process we can watch and stop -------------------------------------------


@dataclass(frozen=True)
class Point:
    """A point of an apply's run, recognised from its ``-v`` log and its lock file."""

    name: str
    reached: Callable[[str, str], bool]  # (log, lock text) -> whether the run got there
    jitter: float  # the stop signal goes out after a random delay up to this many seconds


def _logged(marker: str) -> Callable[[str, str], bool]:
    return lambda log, lock: marker in log


# A tracking round lists the project's jobs by its tag (lookups name a job's own tag).
_TRACKING = re.compile(r"GET /api/v2/jobs\?\S*tags=nxs-p-")


# In the order an apply passes them. "Reached" means reached or passed (a later point seen).
POINTS = (
    Point("start", lambda log, lock: True, 0.5),
    Point("template upload", _logged("template promo: uploading"), 0.05),
    Point("template processing", _logged("template promo: processing"), 0.05),
    Point("intents recorded", lambda log, lock: '"status": "submitting"' in lock, 0.03),
    Point("submission", _logged(": submitted, "), 0.03),
    Point("tracking", lambda log, lock: _TRACKING.search(log) is not None, 0.6),
)


def _reached(index: int, log: str, lock: str) -> bool:
    return any(point.reached(log, lock) for point in POINTS[index:])


@dataclass
class Stopped:
    returncode: int
    signalled: bool  # whether the signal went out while the apply was still running
    log: str
    stdout: str


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def apply_until(
    root: Path,
    server: Server,
    point: Point,
    delay: float,
    sig: signal.Signals,
    *args: str,
) -> Stopped:
    """Run ``nexspec apply -v`` until it reaches ``point``, wait ``delay``, then send ``sig``."""
    index = POINTS.index(point)
    log_path, out_path = root.parent / f"{root.name}.apply.log", root.parent / f"{root.name}.apply.out"
    command = [sys.executable, "-m", "nexspec", "apply", str(root), "--api-url", server.api_url]
    command += ["--yes", "-v", *args]
    with log_path.open("wb") as log, out_path.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=log, env=clean_env(NEXRENDER_API_KEY=server.token), cwd=root.parent
        )
    try:
        deadline = time.monotonic() + EVENT_LIMIT
        while process.poll() is None and not _reached(index, _read(log_path), _read(root / "nexspec.lock")):
            if time.monotonic() > deadline:
                raise AssertionError(f"apply never reached {point.name}:\n{_read(log_path)}")
            time.sleep(0.002)
        time.sleep(delay)
        signalled = process.poll() is None
        if signalled:
            process.send_signal(sig)
        process.wait(COMMAND_LIMIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return Stopped(process.returncode, signalled, _read(log_path), _read(out_path))


def apply(root: Path, server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return nexspec(
        "apply", str(root), "--api-url", server.api_url, "--yes", "-v", *args,
        cwd=root.parent, env=clean_env(NEXRENDER_API_KEY=server.token),
    )  # fmt: skip


def read_lock(root: Path) -> tuple[Lock | None, str]:
    """The project's lock, parsed and validated (``loads`` raises on an invalid one)."""
    text = _read(root / "nexspec.lock")
    return (loads(text, "nexspec.lock") if text else None), text


def summary(text: str, keep: int = 12) -> str:
    """Output without per-request and progress lines, and one line for each distinct job message."""
    noisy = (": submitted, ", ": finished", ": render:", ": queued", "nexspec.http: ", "  + ")
    lines: list[str] = []
    repeats: dict[str, int] = {}
    for line in text.splitlines():
        message = line.split(": ", 1)[-1]
        if any(n in line for n in noisy) or (line.startswith(("clip-", "  clip-")) and message in repeats):
            repeats[message] = repeats.get(message, 0) + 1
            continue
        repeats.setdefault(message, 0)
        lines.append(line)
    if len(lines) > 2 * keep:
        lines = [*lines[:keep], f"[... {len(lines) - 2 * keep} lines ...]", *lines[-keep:]]
    return "\n".join(lines)


def one_job_per_fingerprint(lock: Lock, server: Server, jobs: Sequence[Mapping[str, Any]]) -> list[str]:
    """What is wrong with the server's jobs for the lock's fingerprints (empty when nothing is)."""
    grouped = jobs_by_prefix(jobs)
    problems = []
    for name, entry in sorted(lock.backend(server.api_url).jobs.items()):
        found = grouped.get(idempotency_prefix(entry.fingerprint), [])
        if len(found) != 1:
            problems.append(f"{name}: {len(found)} jobs on the server: {[j['id'] for j in found]}")
        elif found[0]["id"] != entry.id:
            problems.append(f"{name}: the lock says {entry.id}, the server holds {found[0]['id']}")
    return problems


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # A little latency keeps every request in flight for a while, so stops land inside them.
    data = tmp_path_factory.mktemp("reliability-server") / "data"
    with running_server(data, token=TOKEN, faults="latency=15ms") as running:
        yield running


# --- 1. SIGKILL at random points ---------------------------------------------------------------


@pytest.mark.parametrize("trial", range(20))
def test_an_apply_killed_at_any_point_renders_every_job_exactly_once(
    trial: int, server: Server, tmp_path: Path
) -> None:
    rng = random.Random(f"sigkill-{trial}")
    point = POINTS[trial % len(POINTS)]
    # Trials alternate between the single-POST path (<= 16 jobs) and the batch path. Tracking
    # trials submit one batch, so the first round sees the jobs queued, not already finished.
    single = (trial // len(POINTS)) % 2 == 0 and point.name != "tracking"
    rows = rng.choice((6, 12)) if single else rng.choice((20, 30))
    root = write_project(tmp_path / "project", rows, label=f"kill trial {trial}")
    delay = rng.uniform(0, point.jitter)

    killed = apply_until(root, server, point, delay, signal.SIGKILL)
    where = f"killed {delay * 1000:.0f} ms after {point.name} ({rows} jobs)"
    assert killed.signalled and killed.returncode == -signal.SIGKILL, (
        f"{where}: the apply was not running any more (exit {killed.returncode}):\n{summary(killed.log)}"
    )
    lock_after_kill, _ = read_lock(root)  # valid, or absent
    jobs_after_kill = server_jobs(server)
    if lock_after_kill is not None:
        known = {job["id"] for job in jobs_after_kill}
        recorded = lock_after_kill.backend(server.api_url).jobs.values()
        assert {entry.id for entry in recorded if entry.id} <= known, f"{where}: the lock names unknown jobs"

    rerun = apply(root, server)
    (tmp_path / "rerun.log").write_text(rerun.stderr, encoding="utf-8")
    assert rerun.returncode == 0, (
        f"{where}; the next apply failed:\n{summary(rerun.stderr)}\n{summary(rerun.stdout, 4)}"
    )
    final, _ = read_lock(root)
    assert final is not None
    section = final.backend(server.api_url)
    assert len(section.jobs) == rows
    assert {entry.status for entry in section.jobs.values()} == {JobStatus.FINISHED}
    assert one_job_per_fingerprint(final, server, server_jobs(server)) == [], where

    # Every job this project had on the server when the apply died was in the lock first.
    ours = {idempotency_prefix(entry.fingerprint) for entry in section.jobs.values()}
    intents = (
        {entry.tag for entry in lock_after_kill.backend(server.api_url).jobs.values()}
        if lock_after_kill
        else set()
    )
    unrecorded = [
        (job["id"], tag)
        for job in jobs_after_kill
        for tag in idempotency_tags(job)
        if tag.rsplit("-", 1)[0] + "-" in ours and tag not in intents
    ]
    assert unrecorded == [], f"{where}: jobs created without an intent in the lock"


# --- 4. Ctrl-C ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point_name", "rows", "parallelism"),
    [("template processing", 20, 8), ("submission", 12, 1), ("tracking", 24, 8)],
)
def test_ctrl_c_exits_130_records_what_was_submitted_and_the_next_apply_resumes(
    point_name: str, rows: int, parallelism: int, server: Server, tmp_path: Path
) -> None:
    point = next(p for p in POINTS if p.name == point_name)
    root = write_project(tmp_path / "project", rows, label=f"ctrl-c during {point_name}")

    stopped = apply_until(root, server, point, 0.0, signal.SIGINT, "--parallelism", str(parallelism))
    assert stopped.signalled, f"the apply ended before {point_name}:\n{summary(stopped.log)}"
    assert stopped.returncode == 130, summary(stopped.log)
    assert "interrupted" in stopped.log
    interrupted, _ = read_lock(root)
    assert interrupted is not None
    section = interrupted.backend(server.api_url)
    on_server = [j for j in server_jobs(server) if section.project_tag in (j.get("tags") or ())]

    # What the server accepted is in the lock with its id; only requests that were in flight
    # when Ctrl-C arrived (at most --parallelism of them) may be recorded as intents only.
    recorded_ids = {entry.id for entry in section.jobs.values()}
    intents = {entry.tag for entry in section.jobs.values() if entry.status is JobStatus.SUBMITTING}
    unrecorded = [j for j in on_server if j["id"] not in recorded_ids]
    assert all(set(idempotency_tags(j)) & intents for j in unrecorded), "jobs created without an intent"
    assert len(unrecorded) <= parallelism, (
        f"{len(unrecorded)} of the {len(on_server)} jobs the server accepted are missing from the lock "
        f"(--parallelism {parallelism}); the lock says "
        f"{sorted((e.status.value, e.id is not None) for e in section.jobs.values())}"
    )

    # The next plan tracks every job the lock knows was submitted, and re-renders none.
    planned = nexspec(
        "plan", str(root), "--api-url", server.api_url, "--format", "json",
        cwd=tmp_path, env=clean_env(NEXRENDER_API_KEY=server.token),
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    actions = {job["name"]: job["action"] for job in json.loads(planned.stdout)["jobs"]}
    for name, entry in section.jobs.items():
        assert actions[name] in {"track", "unchanged"}, (name, entry.status, actions[name])

    resumed = apply(root, server)
    assert resumed.returncode == 0, summary(resumed.stderr)
    final, _ = read_lock(root)
    assert final is not None
    final_jobs = final.backend(server.api_url).jobs
    assert {entry.status for entry in final_jobs.values()} == {JobStatus.FINISHED}
    assert len(final_jobs) == rows
    # Nothing that existed was submitted again: the same ids, one job per fingerprint.
    assert {j["id"] for j in on_server} <= {entry.id for entry in final_jobs.values()}
    assert one_job_per_fingerprint(final, server, server_jobs(server)) == []


# --- 2. 200 jobs under injected faults -----------------------------------------------------------


FAULTS = "error_rate=0.2,throttle_rate=0.05,drop_rate=0.05"


# Each seed fixes the server's sequence of faults. Seed 1 faults the first request (the
# template's creation); seeds 6 and 12 fail the batch submission with a 5xx, an unknown
# outcome, so all 200 jobs are looked up by their idempotency tags, under the same faults,
# before the batch is sent again.
@pytest.mark.parametrize("seed", [1, 6, 12])
def test_200_jobs_against_a_faulty_server_finish_without_duplicates(seed: int, tmp_path: Path) -> None:
    with running_server(tmp_path / "data", token=TOKEN, faults=f"{FAULTS},seed={seed}") as faulty:
        root = write_project(tmp_path / "project", 200, label=f"faults seed {seed}")
        result = apply(root, faulty)
        lock, _ = read_lock(root)
        jobs = server_jobs(faulty)
        requests = faulty.metrics()
    assert lock is not None
    duplicates = {p: [j["id"] for j in js] for p, js in jobs_by_prefix(jobs).items() if len(js) > 1}
    assert duplicates == {}
    assert result.returncode == 0, (
        f"the apply did not finish (exit {result.returncode}); requests served: {requests}\n"
        f"{summary(result.stderr)}\n{summary(result.stdout, 4)}"
    )
    section = lock.backend(faulty.api_url)
    assert len(section.jobs) == 200
    assert {entry.status for entry in section.jobs.values()} == {JobStatus.FINISHED}
    assert len(jobs) == 200
    assert one_job_per_fingerprint(lock, faulty, jobs) == []


# --- 3. secrets --------------------------------------------------------------------------------


HOOK_SECRET = "hook-secret-7d0c2e94b1a6f853"


@dataclass
class Receiver:
    url: str
    calls: list[dict[str, str]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A loopback webhook endpoint recording the headers of every call."""
    calls: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            calls.append(dict(self.headers))
            self.send_response(204)
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{httpd.server_address[1]}/hooks/render", calls)
    finally:
        httpd.shutdown()
        httpd.server_close()


def presigned_urls(server: Server) -> list[str]:
    """Every presigned URL the server issued (template uploads, job outputs), from its own data."""
    signer = UrlSigner(signing_key(server.data_dir))
    urls = []
    for row in stored_rows(server.data_dir, "SELECT id, upload_id, upload_issued FROM templates"):
        key = f"templates/{row['id']}/{row['upload_id']}"
        issued, ttl = row["upload_issued"], UPLOAD_URL_TTL_SECONDS
        urls.append(signer.sign("PUT", key, issued=issued, expires_in=ttl, template_id=row["id"]))
    for row in stored_rows(server.data_dir, "SELECT output, created_at FROM jobs"):
        issued = int(parse_time(row["created_at"]).timestamp())
        urls.append(signer.sign("GET", row["output"], issued=issued, expires_in=None))
    return [server.root_url + signed.path_and_query for signed in urls]


def test_secrets_never_reach_output_logs_lock_or_plan_files(tmp_path: Path, receiver: Receiver) -> None:
    write_project(
        tmp_path / "project",
        3,
        label="secrets",
        env=["HOOK_TOKEN"],
        defaults={
            "webhook": {
                "url": receiver.url,
                "headers": {"Authorization": "Bearer {{ env.HOOK_TOKEN }}", "X-Team": "${secrets.TEAM}"},
            }
        },
    )
    with running_server(tmp_path / "server-data", token=TOKEN) as server:
        env = clean_env(NEXRENDER_API_KEY=server.token, HOOK_TOKEN=HOOK_SECRET)
        api = ("--api-url", server.api_url)
        outputs: dict[str, subprocess.CompletedProcess[str]] = {}

        def run(label: str, *args: str) -> subprocess.CompletedProcess[str]:
            result = nexspec(*args, cwd=tmp_path, env=env)
            outputs[label] = result
            return result

        run("validate", "validate", "project")
        run("validate --format json", "validate", "project", "--format", "json")
        run("validate --format github", "validate", "project", "--format", "github")
        rendered = run("render", "render", "project")
        run("render --format yaml", "render", "project", "--format", "yaml")
        run("plan --out", "plan", "project", *api, "-v", "--out", "plan.json")
        run("plan --format markdown", "plan", "project", *api, "-v", "--format", "markdown")
        first = run("apply plan.json", "apply", "plan.json", *api, "--yes", "-v", "--download", "renders")
        again = run(
            "apply --replace --format json",
            "apply", "project", *api, "--yes", "-v", "--replace", "clip-001", "--format", "json",
        )  # fmt: skip
        run("status", "status", "project", *api, "-v")
        run("plan --refresh", "plan", "project", *api, "-v", "--refresh", "--all")
        run("plan --refresh --format json", "plan", "project", *api, "-v", "--refresh", "--format", "json")
        urls = presigned_urls(server)
        requests = server.metrics()
        outputs_by_api = {j["id"]: j["outputUrl"] for j in server_jobs(server)}
        deadline = time.monotonic() + EVENT_LIMIT
        while not receiver.calls and time.monotonic() < deadline:
            time.sleep(0.05)
    server_log = server.log.read_text(encoding="utf-8")

    # The secrets were really used: every command ran, the webhook got the header, and the
    # presigned URLs computed here are the ones the server hands out.
    assert {label: r.returncode for label, r in outputs.items()} == dict.fromkeys(outputs, 0), {
        label: r.stderr[-500:] for label, r in outputs.items() if r.returncode
    }
    assert "(sensitive)" in rendered.stdout
    assert "Apply complete: 3 finished" in first.stdout
    assert '"type": "summary"' in again.stdout
    assert any(call.get("Authorization") == f"Bearer {HOOK_SECRET}" for call in receiver.calls)
    assert set(outputs_by_api.values()) <= set(urls)
    # One template upload URL (never superseded by a fresh one) and four outputs (clip-001 twice).
    assert not any(route.endswith("/upload") for route in requests)
    assert len(urls) == 1 + 4
    signatures = [parse_qs(urlsplit(url).query)["X-Amz-Signature"][0] for url in urls]

    secrets = {"the API key": TOKEN, "the webhook header value": HOOK_SECRET}
    secrets.update({f"presigned URL {url}": url for url in urls})
    secrets.update(
        {f"the signature of {url}": signature for url, signature in zip(urls, signatures, strict=True)}
    )
    texts = {f"{label}: stdout": r.stdout for label, r in outputs.items()}
    texts.update({f"{label}: stderr": r.stderr for label, r in outputs.items()})
    texts["nexspec serve's output"] = server_log
    files = [p for p in tmp_path.rglob("*") if p.is_file() and server.data_dir not in p.parents]
    files = [p for p in files if not p.name.endswith(".serve.log")]
    assert {"nexspec.lock", "plan.json"} <= {p.name for p in files}
    assert any(".nexspec" in p.parts for p in files)
    texts.update({str(p.relative_to(tmp_path)): p.read_bytes().decode("latin-1") for p in files})

    leaks = [
        f"{what} in {where}"
        for what, secret in secrets.items()
        for where, text in texts.items()
        if secret in text
    ]
    assert leaks == []
