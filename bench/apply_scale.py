"""`nexspec apply` of 2,000 jobs against a slow API, beside a job-by-job baseline.

Every side runs, in one run of this script, against its own fresh `nexspec serve`
subprocess on loopback started with the same flags: `--render-fast` (one-frame renders of
a tiny 160x90 Lottie slate, the server's cheapest setting, so that the client is what is
measured) and `--faults latency=20ms` (20 ms added to every /api request, as a remote API
would). Each side uploads the same template the same way (POST /templates, PUT to the
presigned URL, polls until `uploaded`) and submits the same 2,000 payloads (those
`nexspec render` prints for the project, with the template's id filled in):

- nexspec: `nexspec apply PROJECT --api-url URL --yes` (NEXRENDER_API_KEY set) on a project
  holding the template and a 2,000-row `foreach` with one text asset per row, as a
  subprocess: start-up, validation, planning and every lock write included;
- baseline: what the official CLI does per job (`nexrender job submit --wait`): POST /jobs,
  then GET /jobs/{id} at once and every 2 s until finished, error or manually_cancelled;
  run once one job at a time (the CLI in a loop) and once eight jobs at a time (modest
  concurrency: nexspec's default `--parallelism`), with one keep-alive httpx client;
- server alone: the same jobs queued by two direct POST /batches, then one cheap check
  every 0.1 s: the time the server needs to render them all, which no client can beat.

Requests are counted by the server itself (`/_nexspec/metrics` before and after each side,
the metrics route left out). Prints each side's wall time and requests, then per baseline
the ratios. With one-frame renders the nexspec side is bound by the server's render
throughput, and the baseline's cost per job is two latency-bound requests, so each line
also gives the time each client spends beyond the server-alone floor and the highest
wall-time ratio any client could reach against that baseline on this machine.
Targets: at least 10x faster and at least 100x fewer requests.

    python bench/apply_scale.py [--jobs 2000] [--baseline-concurrency 1 8] [--interval 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from slate_template import SLATE

TOKEN = "bench-apply-scale-token-0123456789"
LATENCY = "20ms"
TERMINAL = {"finished", "error", "manually_cancelled"}
SPEC = """\
version: 1
templates:
  slate:
    path: templates/slate.json
    displayName: Slate
    composition: main
jobs:
  "slate-{{ row.n }}":
    foreach: data/rows.csv
    template: slate
    assets:
      - {type: text, layerName: title, value: "Row {{ row.n }}"}
"""


def build_project(root: Path, rows: int) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "data").mkdir()
    template = root / "templates" / "slate.json"
    template.write_text(json.dumps(SLATE))
    (root / "nexspec.yaml").write_text(SPEC)
    (root / "data" / "rows.csv").write_text("n\n" + "".join(f"{i:05d}\n" for i in range(rows)))
    return template


def nexspec(*args: str) -> list[str]:
    return [sys.executable, "-m", "nexspec", *args]


# --- the server --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[str]
    root: str

    @property
    def api(self) -> str:
        return self.root + "/api/v2"

    def counts(self) -> Counter[str]:
        requests = httpx.get(self.root + "/_nexspec/metrics").json()["requests"]
        return Counter({k: v for k, v in requests.items() if "/_nexspec/" not in k})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(data: Path) -> Iterator[Server]:
    port = free_port()
    process = subprocess.Popen(
        nexspec("serve", "--port", str(port), "--data", str(data), "--token", TOKEN,
                "--render-fast", "--faults", f"latency={LATENCY}"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    started = False
    for line in process.stdout:
        if line.startswith("Press Ctrl-C"):
            started = True
            break
    if not started:
        process.wait(10)
        raise RuntimeError(f"nexspec serve did not start (exit code {process.returncode})")
    threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
    try:
        yield Server(process, f"http://127.0.0.1:{port}")
    finally:
        process.send_signal(2)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _parse(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Span:
    jobs: int
    finished: int
    first_created: float
    last_created: float
    last_ended: float

    @property
    def seconds(self) -> float:
        return self.last_ended - self.first_created


def server_span(server: Server) -> Span:
    """What the server recorded for every job (read after the request counts were taken)."""
    jobs: list[dict[str, Any]] = []
    with httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {TOKEN}"}) as api:
        while True:
            page = api.get("jobs", params={"from": len(jobs), "limit": 1000}).json()
            jobs += page
            if len(page) < 1000:
                break
    stats = [job["stats"] for job in jobs if isinstance(job.get("stats"), dict)]
    created = [_parse(s["createdAt"]) for s in stats]
    ended = [_parse(s.get("finishedAt") or s.get("errorAt") or s["updatedAt"]) for s in stats]
    finished = sum(1 for job in jobs if job.get("status") == "finished")
    return Span(len(jobs), finished, min(created), max(created), max(ended))


# --- the clients --------------------------------------------------------------------------------


def run_nexspec(project: Path, server: Server, log: Path) -> float:
    env = {**os.environ, "NEXRENDER_API_KEY": TOKEN}
    env.pop("NEXRENDER_BASE_URL", None)
    env.pop("CI", None)
    started = time.perf_counter()
    with log.open("w") as out:
        code = subprocess.run(
            nexspec("apply", str(project), "--api-url", server.api, "--yes"),
            stdout=out, stderr=subprocess.STDOUT, env=env, check=False,
        ).returncode  # fmt: skip
    elapsed = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(
            f"nexspec apply exited {code}:\n" + "".join(log.read_text().splitlines(True)[-20:])
        )
    return elapsed


def rendered_payloads(project: Path) -> list[dict[str, object]]:
    """Exactly what `nexspec apply` submits, minus its tags: `nexspec render` of every job."""
    output = subprocess.run(
        nexspec("render", str(project), "--format", "json"), check=True, capture_output=True, text=True
    ).stdout
    return list(json.loads(output).values())


def run_baseline(
    server: Server, template: Path, payloads: list[dict[str, object]], concurrency: int, interval: float
) -> tuple[float, Counter[str]]:
    """Upload as the official CLI does, then `job submit --wait` per job, `concurrency` at a time."""
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {TOKEN}", "User-Agent": "baseline"}
    with httpx.Client(base_url=server.api + "/", headers=headers, limits=limits, timeout=60) as api:
        created = api.post("templates", json={"type": "lottie", "displayName": "Slate"})
        created.raise_for_status()
        body = created.json()
        template_id = (body.get("template") or body)["id"]
        httpx.put(
            body["uploadInfo"]["url"],
            content=template.read_bytes(),
            headers={"Content-Type": "application/octet-stream"},
        ).raise_for_status()
        while (status := api.get(f"templates/{template_id}").json()["status"]) not in {"uploaded", "error"}:
            time.sleep(interval)
        if status != "uploaded":
            raise RuntimeError(f"the template ended {status}")

        def submit_and_wait(payload: Mapping[str, object]) -> str:
            job = {**payload, "template": {**payload["template"], "id": template_id}}  # type: ignore[dict-item]
            response = api.post("jobs", json=job)
            response.raise_for_status()
            job_id = response.json()["id"]
            while True:
                polled = api.get(f"jobs/{job_id}")
                polled.raise_for_status()
                if (state := polled.json()["status"]) in TERMINAL:
                    return str(state)
                time.sleep(interval)

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            outcomes = Counter(pool.map(submit_and_wait, payloads))
    return time.perf_counter() - started, outcomes


# --- the run ----------------------------------------------------------------------------------


def run_server_alone(server: Server, template: Path, payloads: list[dict[str, object]]) -> float:
    """The floor: every job queued at once by two direct batches, then cheap checks until done."""
    started = time.perf_counter()
    with httpx.Client(
        base_url=server.api + "/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120
    ) as api:
        created = api.post("templates", json={"type": "lottie", "displayName": "Slate"}).json()
        template_id = (created.get("template") or created)["id"]
        httpx.put(created["uploadInfo"]["url"], content=template.read_bytes()).raise_for_status()
        while api.get(f"templates/{template_id}").json()["status"] != "uploaded":
            time.sleep(0.05)
        jobs = [{**p, "template": {**p["template"], "id": template_id}} for p in payloads]  # type: ignore[dict-item]
        for start in range(0, len(jobs), 1000):
            api.post("batches", json={"jobs": jobs[start : start + 1000]}).raise_for_status()
        active = {"states": "queued,render:download,render:dorender", "limit": "1", "minimal": "true"}
        while api.get("jobs", params=active).json():
            time.sleep(0.1)
    return time.perf_counter() - started


@dataclass(frozen=True)
class Side:
    seconds: float
    requests: Counter[str]
    span: Span
    started: float  # wall clock, to compare with the server's timestamps
    ended: float

    @property
    def total(self) -> int:
        return sum(self.requests.values())


def measure(folder: Path, run: Callable[[Server], float]) -> Side:
    folder.mkdir()
    with serving(folder / "data") as server:
        before = server.counts()
        wall_start = time.time()
        seconds = run(server)
        wall_end = time.time()
        after = server.counts()
        span = server_span(server)
    shutil.rmtree(folder, ignore_errors=True)
    return Side(seconds, after - before, span, wall_start, wall_end)


def describe(name: str, side: Side) -> None:
    shown = ", ".join(f"{k} {v:,}" for k, v in sorted(side.requests.items(), key=lambda kv: -kv[1]))
    print(f"{name}: {side.seconds:.1f} s, {side.total:,} requests ({shown})")
    print(
        f"  server: {side.span.finished:,}/{side.span.jobs:,} finished; first job created at "
        f"{side.span.first_created - side.started:.1f} s, last created at "
        f"{side.span.last_created - side.started:.1f} s, "
        f"last ended at {side.span.last_ended - side.started:.1f} s, "
        f"client done {side.ended - side.span.last_ended:.2f} s later"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument(
        "--baseline-concurrency", type=int, nargs="+", default=[1, 8], help="jobs in flight, one run each"
    )
    parser.add_argument("--interval", type=float, default=2.0, help="baseline polling interval (s)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="nexspec-apply-scale-"))
    try:
        project = folder / "project"
        template = build_project(project, args.jobs)
        payloads = rendered_payloads(project)
        assert len(payloads) == args.jobs, len(payloads)
        print(
            f"{args.jobs:,} jobs, one-frame renders of a {template.stat().st_size:,}-byte Lottie slate, "
            f"latency={LATENCY} on every /api request, {os.cpu_count()} CPUs"
        )
        alone = measure(folder / "floor", lambda server: run_server_alone(server, template, payloads))
        floor = alone.span.seconds
        print(
            f"server alone (all {args.jobs:,} jobs queued by 2 batches, first created -> last ended): "
            f"{floor:.1f} s = {args.jobs / floor:,.0f} jobs/s; no client can finish sooner than this"
        )
        ours = measure(folder / "ours", lambda server: run_nexspec(project, server, folder / "apply.log"))
        describe("nexspec apply", ours)
        baselines: list[tuple[int, Side]] = []
        for concurrency in args.baseline_concurrency:
            outcomes: Counter[str] = Counter()

            def baseline(
                server: Server, concurrency: int = concurrency, outcomes: Counter[str] = outcomes
            ) -> float:
                seconds, found = run_baseline(server, template, payloads, concurrency, args.interval)
                outcomes.update(found)
                return seconds

            side = measure(folder / f"baseline-{concurrency}", baseline)
            describe(f"baseline, {concurrency} job(s) at a time, {args.interval:g} s polls", side)
            baselines.append((concurrency, side))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for side in (ours, *(s for _, s in baselines)):
        assert side.span.finished == args.jobs, side.span
    ours_extra = ours.seconds - floor
    for concurrency, side in baselines:
        print(
            f"vs baseline x{concurrency}: {side.seconds / ours.seconds:.1f}x faster (target >= 10x), "
            f"{side.total / ours.total:.1f}x fewer requests (target >= 100x); "
            f"time beyond the server-alone floor {side.seconds - floor:.1f} s vs {ours_extra:.1f} s "
            f"= {(side.seconds - floor) / ours_extra:.1f}x; highest wall ratio any client could reach: "
            f"{side.seconds / floor:.1f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
