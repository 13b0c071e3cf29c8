"""Peak memory of the `nexspec apply` process while it uploads a 1 GiB template.

Starts `nexspec serve --render-fast` in a subprocess on loopback (its memory is not
counted), builds a project whose template holds 1 GiB of random footage and one job, and
runs, each as its own child process whose peak RSS is read with `os.wait4`:

- nexspec: `nexspec apply PROJECT --api-url URL --yes` (NEXRENDER_API_KEY set): digest,
  packing (for a folder template), the upload to the presigned URL, the job;
- the same project's `nexspec validate`, the process's floor without any upload;
- naive baseline: `httpx.put(url, content=path.read_bytes())` of the same bytes to a fresh
  presigned URL of the same server, the file read whole into memory.

Two template shapes: a folder (`slate.json` and `footage/plate.mov`, packed into a stored
zip for upload) and the same two files as a stored `.zip`. Prints each peak RSS and the
ratio. Target: the nexspec client stays under 100 MiB. Needs about 6 GiB of free disk,
deleted afterwards.

    python bench/upload_memory.py [--shape folder zip] [--gib 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from slate_template import build_big

MIB = 1024**2
GIB = 1024**3
TOKEN = "bench-upload-memory-token-0123456789"
SPEC = """\
version: 1
templates:
  slate:
    path: {path}
    composition: main
jobs:
  slate-one:
    template: slate
    assets:
      - {{type: text, layerName: title, value: "One"}}
"""
NAIVE = (
    "import sys, httpx\n"
    "from pathlib import Path\n"
    "body = Path(sys.argv[2]).read_bytes()\n"
    "response = httpx.put(sys.argv[1], content=body,\n"
    "                     headers={'Content-Type': 'application/octet-stream'}, timeout=600)\n"
    "response.raise_for_status()\n"
)


# --- the project -----------------------------------------------------------------------------


def build(root: Path, shape: str, size: int) -> Path:
    return build_big(root, shape, size, SPEC)


def uploaded_file(root: Path, template: Path) -> Path:
    """The bytes nexspec uploaded: the .zip itself, or the folder's pack."""
    if template.is_file():
        return template
    packs = sorted((root / ".nexspec" / "packs").glob("*.zip"))
    assert len(packs) == 1, packs
    return packs[0]


# --- processes -------------------------------------------------------------------------------


def nexspec_command() -> list[str]:
    script = Path(sys.executable).with_name("nexspec")
    return [str(script)] if script.exists() else [sys.executable, "-m", "nexspec"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(data: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [*nexspec_command(), "serve", "--port", str(port), "--data", str(data), "--token", TOKEN,
         "--render-fast"],
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
        yield f"http://127.0.0.1:{port}/api/v2"
    finally:
        process.send_signal(2)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def peak_rss(command: list[str], env: dict[str, str]) -> tuple[int, float]:
    """Run `command` as a child; its peak resident set size in bytes, and its wall time."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} exited {process.returncode}:\n{errors.decode()[-2000:]}")
    return usage.ru_maxrss * 1024, elapsed  # Linux reports KiB


def fresh_upload_url(api: str) -> str:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    created = httpx.post(f"{api}/templates", json={"type": "zip", "displayName": "naive"}, headers=headers)
    created.raise_for_status()
    return str(created.json()["uploadInfo"]["url"])


# --- the run ---------------------------------------------------------------------------------


def measure_shape(folder: Path, shape: str, size: int) -> None:
    root = folder / shape
    try:
        template = build(root, shape, size)
        env = {k: v for k, v in os.environ.items() if k not in {"NEXRENDER_BASE_URL", "CI"}}
        env["NEXRENDER_API_KEY"] = TOKEN
        with serving(folder / f"{shape}-server") as api:
            floor, _ = peak_rss([*nexspec_command(), "validate", str(root)], env)
            ours, ours_time = peak_rss(
                [*nexspec_command(), "apply", str(root), "--api-url", api, "--yes"], env
            )
            sent = uploaded_file(root, template)
            sent_size = sent.stat().st_size
            naive, naive_time = peak_rss([sys.executable, "-c", NAIVE, fresh_upload_url(api), str(sent)], env)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(folder / f"{shape}-server", ignore_errors=True)
    print(f"[{shape}] uploaded {sent_size:,} bytes ({sent_size / GIB:.3f} GiB)")
    print(
        f"[{shape}] nexspec apply (digest, pack, upload, 1 job): peak RSS {ours / MIB:.1f} MiB "
        f"in {ours_time:.1f} s  (target < 100 MiB)"
    )
    print(f"[{shape}] nexspec validate of the same project (no upload): peak RSS {floor / MIB:.1f} MiB")
    print(
        f"[{shape}] naive httpx PUT of read_bytes(): peak RSS {naive / MIB:.1f} MiB in {naive_time:.1f} s; "
        f"ratio {naive / ours:.1f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shape", nargs="+", choices=["folder", "zip"], default=["folder", "zip"])
    parser.add_argument("--gib", type=float, default=1.0, help="footage size in GiB")
    args = parser.parse_args()
    size = int(args.gib * GIB)
    folder = Path(tempfile.mkdtemp(prefix="nexspec-upload-memory-"))
    free = shutil.disk_usage(folder).free
    if free < 7 * size:
        print(
            f"only {free / GIB:.1f} GiB free in {folder}; need about {7 * size / GIB:.0f} GiB",
            file=sys.stderr,
        )
        return 1
    print(f"template footage: {size / GIB:g} GiB of random bytes; {os.cpu_count()} CPUs")
    try:
        for shape in args.shape:
            measure_shape(folder, shape, size)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
