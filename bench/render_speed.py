"""Lottie render speed at 1080p, end to end (draw + H.264 encode), against a naive pipeline.

Renders the quickstart promo (1920x1080, 125 frames, title, subtitle and logo replaced)
with nexspec's Lottie renderer, then the same frames through a naive pipeline: a per-frame
fancy-index RGBA->RGB copy into a new array, encoded with preset medium, all in one thread.

    python bench/render_speed.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nexspec.render import OutputSettings, RenderAsset, RenderRequest
from nexspec.render.joblog import RenderLog
from nexspec.render.lottie import LottieRenderer, Stage
from nexspec.render.lottiedoc import apply_assets, load_document
from nexspec.render.output import plan_output
from nexspec.templateinfo import TemplateInfo, TemplateKind

QUICKSTART = Path(__file__).resolve().parent.parent / "specs-examples" / "quickstart"
TEMPLATE = QUICKSTART / "templates" / "promo.json"
ASSETS = (
    RenderAsset("text", layer_name="title", value="Acme: new season"),
    RenderAsset("text", layer_name="subtitle", value="Launching everywhere on March 3"),
    RenderAsset("image", layer_name="logo", src=QUICKSTART / "images" / "acme-logo.png"),
)


def request(output: Path) -> RenderRequest:
    info = TemplateInfo(TemplateKind.LOTTIE, lottie=TEMPLATE.name)
    return RenderRequest(TEMPLATE, info, "promo", "main", ASSETS, OutputSettings(), output)


def nexspec_pipeline(output: Path) -> int:
    return LottieRenderer().render(request(output), lambda percent: None).frames


def naive_pipeline(output: Path) -> int:
    import av

    document = load_document(TEMPLATE)
    apply_assets(document, request(output), RenderLog(""), root="main", checked=False)
    plan = plan_output(OutputSettings(), width=1920, height=1080, fps=25, total_frames=125)
    with av.open(str(output), "w") as container, Stage(document, plan, ()) as stage:
        stream = container.add_stream("libx264", rate=25, options={"preset": "medium", "crf": "23"})
        stream.width, stream.height, stream.pix_fmt = plan.width, plan.height, "yuv420p"
        for frame in range(plan.count):
            rgb = stage.draw(frame)[:, :, [0, 1, 2]]  # a fancy index: a fresh copy per frame
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))
    return plan.count


def measure(pipeline: Callable[[Path], int], runs: int, folder: Path) -> tuple[float, int]:
    """The median frames per second over ``runs`` runs, and the output's size in bytes."""
    rates, size = [], 0
    for run in range(runs):
        output = folder / f"{pipeline.__name__}-{run}.mp4"
        started = time.perf_counter()
        frames = pipeline(output)
        rates.append(frames / (time.perf_counter() - started))
        size = output.stat().st_size
    return statistics.median(rates), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per pipeline (median shown)")
    runs = parser.parse_args().runs
    import av
    import thorvg_python

    print(
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"PyAV {av.__version__}, thorvg-python {thorvg_python.__version__}"
    )
    print(
        f"template: {TEMPLATE.relative_to(QUICKSTART.parent.parent)} at 1920x1080, 125 frames, "
        f"median of {runs} run(s)"
    )
    with tempfile.TemporaryDirectory() as scratch:
        fast, fast_size = measure(nexspec_pipeline, runs, Path(scratch))
        slow, slow_size = measure(naive_pipeline, runs, Path(scratch))
    print(f"nexspec (ThorVG view -> PyAV, veryfast, threaded encode): {fast:6.1f} fps  {fast_size:>9,} B")
    print(f"naive   (fancy-index copy, preset medium, one thread):    {slow:6.1f} fps  {slow_size:>9,} B")
    print(f"speed-up: {fast / slow:.2f}x")


if __name__ == "__main__":
    main()
