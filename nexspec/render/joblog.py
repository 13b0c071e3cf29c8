"""The job log a local render leaves behind, laid out like an aerender log.

Lines start with ``PROGRESS:`` (what was done) or ``WARNING:`` (what was skipped or
approximated), so users who know After Effects logs find their way around.
"""

from __future__ import annotations

import time

from nexspec.render.base import Progress


class RenderLog:
    """Collects log lines; ``elapsed`` is measured from the log's creation."""

    def __init__(self, title: str) -> None:
        self._started = time.perf_counter()
        self._lines: list[str] = [title]

    def info(self, message: str) -> None:
        self._lines.append(f"PROGRESS: {message}")

    def warn(self, message: str) -> None:
        self._lines.append(f"WARNING: {message}")

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._started

    def finish(self, frames: int, render_seconds: float) -> tuple[str, ...]:
        """The complete log, closed with the frame count and timings."""
        rate = frames / render_seconds if render_seconds > 0 else 0.0
        self.info(f"Rendered {frames} frame(s) in {render_seconds:.2f} s ({rate:.1f} fps)")
        self.info(f"Total Time Elapsed: {self.elapsed:.2f} s")
        return tuple(self._lines)


class ProgressMeter:
    """Turns frame counts into progress calls, once per whole percent, ending at exactly 100."""

    def __init__(self, report: Progress, total: int) -> None:
        self._report = report
        self._total = max(1, total)
        self._last = -1

    def advance(self, done: int) -> None:
        percent = min(100, done * 100 // self._total)
        if percent != self._last:
            self._last = percent
            self._report(float(percent))
