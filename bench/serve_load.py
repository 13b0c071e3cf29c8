"""Load benchmark of the local backend, on loopback only.

Measures, against a server running in a subprocess:
- status reads: ``GET /api/v2/jobs/{id}`` per second and latency percentiles, from 16
  keep-alive connections;
- a 1 GiB template upload to the presigned URL: wall time with nexspec's own client (the
  upload `nexspec apply` makes) beside curl's time for the same file to the same server, and
  curl's time to a bare socket sink (the floor on this machine); and the server's peak RSS
  growth while the body streams in.

Run: ``python bench/serve_load.py [--seconds 10] [--connections 16] [--upload-gib 1]``.
Targets: >= 1,000 reads/s with p99 < 50 ms; nexspec's upload within 1.25x of curl's time;
memory growth < 50 MiB. (curl -> server against curl -> sink is printed too: the server's
own overhead.)
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-0123456789abcdef"
SERVE = """
import sys
from pathlib import Path
from nexspec.commands.serve import serve

if __name__ == "__main__":
    sys.exit(serve(host="127.0.0.1", port=0, data_dir=Path(sys.argv[1]), token=sys.argv[2],
                   workers=1, faults=None, render_fast=True, max_upload_bytes=None,
                   echo=lambda s: print(s, flush=True),
                   warn=lambda s: print(s, file=sys.stderr, flush=True), environ={}))
"""


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[str]
    root: str

    @property
    def api(self) -> str:
        return self.root + "/api/v2"


@contextmanager
def running_server(data: Path) -> Iterator[Server]:
    script = data.parent / "serve_bench.py"
    script.write_text(SERVE)
    process = subprocess.Popen(
        [sys.executable, str(script), str(data), TOKEN],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    url = ""
    for line in process.stdout:
        if line.startswith("nexspec local backend: "):
            url = line.split(": ", 1)[1].strip().removesuffix("/api/v2")
        if line.startswith("Press Ctrl-C"):
            break
    threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
    try:
        yield Server(process, url)
    finally:
        process.send_signal(2)
        process.wait(30)


def lottie() -> bytes:
    layer = {"ddd": 0, "ind": 1, "ty": 1, "nm": "background", "ao": 0, "ip": 0, "op": 25, "st": 0,
             "bm": 0, "sc": "#203040", "sw": 320, "sh": 180,
             "ks": {"o": {"a": 0, "k": 100}, "r": {"a": 0, "k": 0}, "p": {"a": 0, "k": [0, 0, 0]},
                    "a": {"a": 0, "k": [0, 0, 0]}, "s": {"a": 0, "k": [100, 100, 100]}}}  # fmt: skip
    doc = {"v": "5.7.4", "fr": 25, "ip": 0, "op": 25, "w": 320, "h": 180, "nm": "main",
           "ddd": 0, "assets": [], "layers": [layer]}  # fmt: skip
    return json.dumps(doc).encode()


def prepare_job(api: httpx.Client) -> str:
    created = api.post("/templates", json={"type": "lottie", "displayName": "bench"}).json()
    httpx.put(created["uploadInfo"]["url"], content=lottie()).raise_for_status()
    while api.get(f"/templates/{created['id']}").json()["status"] != "uploaded":
        time.sleep(0.05)
    job = api.post("/jobs", json={"template": {"id": created["id"], "composition": "main"}}).json()
    while api.get(f"/jobs/{job['id']}").json()["status"] != "finished":
        time.sleep(0.05)
    return str(job["id"])


# --- status reads ----------------------------------------------------------------------------


async def _connection(host: str, port: int, request: bytes, until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(_content_length(head))
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace"))
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


async def _reads(root: str, job_id: str, connections: int, seconds: float) -> tuple[int, list[float]]:
    parts = urlsplit(root)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"GET /api/v2/jobs/{job_id} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {TOKEN}\r\nAccept: application/json\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    until = time.perf_counter() + seconds
    await asyncio.gather(*(_connection(host, port, request, until, latencies) for _ in range(connections)))
    return len(latencies), latencies


def status_reads(root: str, job_id: str, connections: int, seconds: float) -> dict[str, float]:
    asyncio.run(_reads(root, job_id, connections, 1.0))  # warm-up
    started = time.perf_counter()
    count, latencies = asyncio.run(_reads(root, job_id, connections, seconds))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {"requests": count, "per_second": count / elapsed, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "max_ms": latencies[-1] * 1000}  # fmt: skip


# --- upload ----------------------------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@contextmanager
def rss_peak(pid: int) -> Iterator[dict[str, int]]:
    found = {"baseline": rss_bytes(pid), "peak": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            found["peak"] = max(found["peak"], rss_bytes(pid))
            stop.wait(0.01)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join()


def curl_put(url: str, path: Path) -> float:
    output = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-T", str(path),
         "-H", "Content-Type: application/octet-stream", "-H", "Expect:", url],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    if output[0] != "200":
        raise RuntimeError(f"curl upload answered {output[0]}")
    return float(output[1])


def nexspec_put(url: str, path: Path) -> float:
    """The upload `nexspec apply` makes: the client's own streamed PUT to the presigned URL."""
    from nexspec.client import ApiClient, UploadInfo

    started = time.perf_counter()
    with ApiClient(httpx.Client()) as client:
        client.upload(UploadInfo(url, "PUT", {}), path)
    return time.perf_counter() - started


@contextmanager
def socket_sink(folder: Path) -> Iterator[str]:
    """A bare HTTP sink: reads Content-Length bytes into a file, answers 200. The floor."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        connection, _ = server.accept()
        with connection, (folder / "sink.bin").open("wb", buffering=0) as out:
            head = b""
            while b"\r\n\r\n" not in head:
                head += connection.recv(65536)
            head, _, body = head.partition(b"\r\n\r\n")
            length = int(next(v for k, _, v in (x.partition(b":") for x in head.split(b"\r\n"))
                              if k.lower() == b"content-length"))  # fmt: skip
            out.write(body)
            left = length - len(body)
            buffer = bytearray(1024 * 1024)
            view = memoryview(buffer)
            while left:
                got = connection.recv_into(view)
                out.write(view[:got])
                left -= got
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/sink"
    finally:
        thread.join(60)
        server.close()
        (folder / "sink.bin").unlink(missing_ok=True)


def upload(server: Server, api: httpx.Client, folder: Path, size: int, repeats: int) -> dict[str, float]:
    source = folder / "upload.bin"
    with source.open("wb") as out:
        chunk = os.urandom(1024 * 1024)
        for _ in range(size // len(chunk)):
            out.write(chunk)

    floors: list[float] = []
    times: list[float] = []
    ours: list[float] = []

    def to_sink() -> None:
        with socket_sink(folder) as sink:
            floors.append(curl_put(sink, source))

    def to_server(put: Callable[[str, Path], float], into: list[float]) -> None:
        created = api.post("/templates", json={"type": "zip", "displayName": "big"}).json()
        into.append(put(str(created["uploadInfo"]["url"]), source))
        # Free the stored gigabyte, so that no run pays for the disk space of the ones before.
        while api.delete(f"/templates/{created['id']}").status_code == 409:
            time.sleep(0.1)

    runs: list[Callable[[], None]] = [
        to_sink,
        functools.partial(to_server, curl_put, times),
        functools.partial(to_server, nexspec_put, ours),
    ]
    # Interleaved runs in alternating order, each starting with no dirty pages, so that none
    # pays for another's disk writeback; the best of each is what the machine can do.
    with rss_peak(server.process.pid) as memory:
        for repeat in range(repeats):
            for run in runs if repeat % 2 == 0 else reversed(runs):
                os.sync()
                run()
    source.unlink()
    floor, curl_time, ours_time = min(floors), min(times), min(ours)
    return {
        "bytes": size,
        "runs": repeats,
        "curl_to_sink_s": floor,
        "curl_to_server_s": curl_time,
        "nexspec_to_server_s": ours_time,
        "ratio_curl": curl_time / floor,
        "ratio_ours": ours_time / curl_time,
        "rss_growth_mib": (memory["peak"] - memory["baseline"]) / 1024**2,
        "rss_baseline_mib": memory["baseline"] / 1024**2,
        "rss_peak_mib": memory["peak"] / 1024**2,
    }


def report_reads(reads: dict[str, float], connections: int, seconds: float) -> None:
    print(
        f"status reads ({connections} connections, {seconds:g} s): {reads['per_second']:,.0f}/s, "
        f"p50 {reads['p50_ms']:.2f} ms, p99 {reads['p99_ms']:.2f} ms, max {reads['max_ms']:.1f} ms "
        f"({reads['requests']:,.0f} requests)"
    )


def report_upload(sent: dict[str, float]) -> None:
    print(
        f"upload {sent['bytes'] / 1024**3:g} GiB (best of {sent['runs']:.0f}): "
        f"nexspec client -> server {sent['nexspec_to_server_s']:.2f} s, "
        f"curl -> server {sent['curl_to_server_s']:.2f} s "
        f"(nexspec/curl {sent['ratio_ours']:.2f}, target <= 1.25); "
        f"curl -> bare socket sink {sent['curl_to_sink_s']:.2f} s (server overhead {sent['ratio_curl']:.2f}x)"
    )
    print(
        f"server RSS growth during the uploads: {sent['rss_growth_mib']:.1f} MiB (target < 50); "
        f"RSS {sent['rss_baseline_mib']:.1f} -> peak {sent['rss_peak_mib']:.1f} MiB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--upload-gib", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3, help="upload runs; the best counts")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="nexspec-bench-"))
    try:
        with (
            running_server(folder / "data") as server,
            httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {TOKEN}"}) as api,
        ):
            job_id = prepare_job(api)
            reads = status_reads(server.root, job_id, args.connections, args.seconds)
            report_reads(reads, args.connections, args.seconds)
            if args.upload_gib > 0:
                report_upload(upload(server, api, folder, int(args.upload_gib * 1024**3), args.repeats))
            metrics = httpx.get(server.root + "/_nexspec/metrics").json()
            print(f"server counted {metrics['total']:,} requests")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
