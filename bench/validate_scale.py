"""How fast `nexspec validate` is on a 10,000-job `foreach`, beside a naive baseline.

Builds a project whose `foreach` reads a 10,000-row CSV into jobs of 4 assets each, then
times, in one run on this machine:

- nexspec: `validate_project` (schema, Jinja, job-schema validation of every payload,
  layer checks against the introspected template), best of 3 warm runs;
- naive: the same 10,000 payloads built by rendering each string with a fresh
  `jinja2.Template` and validating each payload with a freshly built jsonschema validator.

Prints jobs per second for both, the ratio, and the peak memory (tracemalloc) of
nexspec's run. Targets: at least 5,000 jobs/s and at least 10x the baseline.

    python bench/validate_scale.py [--rows 10000]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import jinja2
import jsonschema

from nexspec.commands.validate import validate_project
from nexspec.schemas import JOB_SCHEMA, load_schema

LOTTIE = {
    "v": "5.7.0",
    "nm": "main",
    "fr": 25,
    "ip": 0,
    "op": 50,
    "w": 320,
    "h": 180,
    "assets": [],
    "layers": [
        {
            "ty": 5,
            "nm": name,
            "ind": i + 1,
            "ip": 0,
            "op": 50,
            "st": 0,
            "ks": {},
            "t": {"d": {"k": [{"s": {"t": "x", "s": 20, "f": "Sans"}, "t": 0}]}},
        }
        for i, name in enumerate(["title", "subtitle", "price", "footer"])
    ],
}
SPEC = """\
version: 1
vars:
  brand: Acme
templates:
  promo:
    path: templates/promo.json
jobs:
  "city-{{ row.slug }}":
    foreach: data/cities.csv
    template: promo
    composition: main
    settings: {type: video, codec: video_h264_vbr_15mbps}
    tags: [cities]
    assets:
      - {type: text, layerName: title, value: "{{ vars.brand }} in {{ row.city }}"}
      - {type: text, layerName: subtitle, value: "{{ row.tagline | upper }}"}
      - {type: text, layerName: price, value: "from {{ row.price }} EUR"}
      - {type: text, layerName: footer, value: "{{ row.city }} / {{ row.slug }}"}
"""
TEMPLATES = [
    "city-{{ row.slug }}",
    "{{ vars.brand }} in {{ row.city }}",
    "{{ row.tagline | upper }}",
    "from {{ row.price }} EUR",
    "{{ row.city }} / {{ row.slug }}",
]


def build(root: Path, rows: int) -> list[dict[str, str]]:
    (root / "templates").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "templates" / "promo.json").write_text(json.dumps(LOTTIE))
    (root / "nexspec.yaml").write_text(SPEC)
    data = [
        {
            "slug": f"c{i:05d}",
            "city": f"City {i}",
            "tagline": f"tagline number {i}",
            "price": str(10 + i % 90),
        }
        for i in range(rows)
    ]
    with (root / "data" / "cities.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(data[0]))
        writer.writeheader()
        writer.writerows(data)
    return data


def ours(root: Path) -> tuple[float, int]:
    best = float("inf")
    jobs = 0
    for _ in range(3):
        start = time.perf_counter()
        result = validate_project(root, environ=os.environ)
        best = min(best, time.perf_counter() - start)
        assert result.ok(), result.diagnostics[:3]
        jobs = len(result.jobs)
    return best, jobs


def naive(rows: list[dict[str, str]]) -> float:
    schema = load_schema(JOB_SCHEMA)
    start = time.perf_counter()
    for row in rows:
        context = {"vars": {"brand": "Acme"}, "row": row}
        rendered = [jinja2.Template(source).render(context) for source in TEMPLATES]
        payload = {
            "template": {"id": "0" * 26, "composition": "main"},
            "settings": {"type": "video", "codec": "video_h264_vbr_15mbps"},
            "tags": ["cities"],
            "assets": [
                {"type": "text", "layerName": n, "value": v}
                for n, v in zip(["title", "subtitle", "price", "footer"], rendered[1:], strict=True)
            ],
        }
        errors = list(jsonschema.Draft7Validator(schema).iter_errors(payload))
        assert not errors, errors[:1]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows = build(root, args.rows)
        validate_project(root, environ=os.environ)  # warm: imports, digest and introspection caches
        seconds, jobs = ours(root)
        tracemalloc.start()
        validate_project(root, environ=os.environ)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        baseline = naive(rows)
    ours_rate = jobs / seconds
    naive_rate = len(rows) / baseline
    print(f"jobs: {jobs:,} ({len(rows):,} rows x 4 assets)")
    print(f"nexspec validate: {seconds:.3f} s  {ours_rate:,.0f} jobs/s  (target >= 5,000)")
    print(f"naive baseline:   {baseline:.3f} s  {naive_rate:,.0f} jobs/s")
    print(f"ratio: {ours_rate / naive_rate:.1f}x  (target >= 10x)")
    print(f"peak memory (tracemalloc) of one validate: {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    sys.exit(main())
