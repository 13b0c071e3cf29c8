"""`nexspec plan` with an unchanged 1 GiB template, beside the same project with a 1 KiB one.

Builds, in a temporary folder, two projects that differ only in the size of one footage
file inside their template (1 GiB of random bytes, or 1 KiB), in each of two shapes:

- folder: `templates/slate/` holding a Lottie export and `footage/plate.mov` (packed into
  a stored zip for upload);
- zip: the same two files as a stored `templates/slate.zip`.

Each project has three jobs and is applied once to the embedded local backend
(`nexspec apply --backend local --yes --render-fast`), which fills the digest cache and the
lock; the template is then unchanged. Then `nexspec plan --backend local
--detailed-exitcode` runs as a subprocess `--runs` times per project, the two projects
alternating, and must exit 0 (no changes) every time. Prints the median and best wall time
of each, their ratio, and the bytes one plan read (`rchar` of /proc/self/io, from a run of
the same command in-process). Target: the 1 GiB plan within 1.2x of the 1 KiB plan
(nothing is re-hashed). Needs about 4 GiB of free disk per shape, deleted afterwards.

    python bench/plan_noop.py [--runs 10] [--shape folder zip]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from slate_template import build_big

GIB = 1024**3
KIB = 1024
SPEC = """\
version: 1
templates:
  slate:
    path: {path}
    composition: main
jobs:
  "slate-{{{{ row.n }}}}":
    foreach: [{{n: a}}, {{n: b}}, {{n: c}}]
    template: slate
    assets:
      - {{type: text, layerName: title, value: "Row {{{{ row.n }}}}"}}
"""
READ_BYTES = (
    "import sys\n"
    "from nexspec.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "rchar = next(l for l in open('/proc/self/io') if l.startswith('rchar:'))\n"
    "print(rchar.split()[1], file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def build(root: Path, shape: str, size: int) -> Path:
    return build_big(root, shape, size, SPEC)


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"NEXRENDER_API_KEY", "NEXRENDER_BASE_URL", "CI"}}
    return env


def nexspec_command() -> list[str]:
    script = Path(sys.executable).with_name("nexspec")
    return [str(script)] if script.exists() else [sys.executable, "-m", "nexspec"]


def plan_once(root: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [*nexspec_command(), "plan", str(root), "--backend", "local", "--detailed-exitcode"],
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(
            f"plan exited {result.returncode} (0 = no changes):\n{result.stdout}{result.stderr}"
        )
    return elapsed


def read_bytes(root: Path) -> int:
    result = subprocess.run(
        [sys.executable, "-c", READ_BYTES, "plan", str(root), "--backend", "local", "--detailed-exitcode"],
        env=environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stderr.strip().splitlines()[-1])


def apply_once(root: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [*nexspec_command(), "apply", str(root), "--backend", "local", "--yes", "--render-fast"],
        env=environment(),
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - started


def disk_used(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def measure_shape(folder: Path, shape: str, runs: int) -> tuple[float, float]:
    big, small = folder / f"{shape}-1gib", folder / f"{shape}-1kib"
    try:
        started = time.perf_counter()
        build(big, shape, GIB)
        build(small, shape, KIB)
        built = time.perf_counter() - started
        warm = [apply_once(big), apply_once(small)]
        print(
            f"[{shape}] built in {built:.1f} s; first apply (hashes, packs, uploads, renders 3 one-frame "
            f"jobs): 1 GiB {warm[0]:.1f} s, 1 KiB {warm[1]:.1f} s; {disk_used(big) / GIB:.1f} GiB on disk"
        )
        cache = big / ".nexspec" / "cache" / "digests.json"
        cached_at = cache.stat().st_mtime_ns
        times: dict[Path, list[float]] = {big: [], small: []}
        for run in range(runs):
            for root in (big, small) if run % 2 == 0 else (small, big):
                times[root].append(plan_once(root))
        rewritten = cache.stat().st_mtime_ns != cached_at
        read_big, read_small = read_bytes(big), read_bytes(small)
    finally:
        shutil.rmtree(big, ignore_errors=True)
        shutil.rmtree(small, ignore_errors=True)
    median_big, median_small = statistics.median(times[big]), statistics.median(times[small])
    best_big, best_small = min(times[big]), min(times[small])
    print(
        f"[{shape}] nexspec plan, 1 GiB template: median {median_big * 1000:.0f} ms, "
        f"best {best_big * 1000:.0f} ms; read {read_big / 2**20:.1f} MiB"
    )
    print(
        f"[{shape}] nexspec plan, 1 KiB template: median {median_small * 1000:.0f} ms, "
        f"best {best_small * 1000:.0f} ms; read {read_small / 2**20:.1f} MiB"
    )
    print(
        f"[{shape}] ratio 1 GiB / 1 KiB: {median_big / median_small:.2f}x (median), "
        f"{best_big / best_small:.2f}x (best)  (target <= 1.2x); "
        f"digest cache rewritten during the timed plans: {'yes' if rewritten else 'no'}"
    )
    return median_big, median_small


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10, help="timed plans per project")
    parser.add_argument("--shape", nargs="+", choices=["folder", "zip"], default=["folder", "zip"])
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="nexspec-plan-noop-"))
    free = shutil.disk_usage(folder).free
    if free < 5 * GIB:
        print(f"only {free / GIB:.1f} GiB free in {folder}; need about 5 GiB", file=sys.stderr)
        return 1
    print(f"{args.runs} timed plans per project, alternating; {os.cpu_count()} CPUs")
    try:
        for shape in args.shape:
            measure_shape(folder, shape, args.runs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
