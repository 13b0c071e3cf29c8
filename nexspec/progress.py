"""Showing an apply as it happens: a live display, one line per change, or NDJSON events.

On a terminal: an overall bar plus one line per running job (state and percent). Not on a
terminal or in CI: one line per state change, so logs stay readable. ``--format json``:
newline-delimited JSON, the first event a version header. Every sink is safe to call from
several threads (templates upload in parallel).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import IO, Any

from nexspec import __version__
from nexspec.apply import Event, EventKind
from nexspec.plan import SUBMITTING_ACTIONS, JobAction, Plan

EVENTS_FORMAT_VERSION = "1.0"
MAX_LIVE_LINES = 12


class LinePrinter:
    """One line per state change (progress percentages are not state changes)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.last: dict[str, str] = {}

    def __call__(self, event: Event) -> None:
        line = describe(event)
        if line is None:
            return
        key = f"{event.kind}:{event.name}"
        with self.lock:
            if event.kind is EventKind.STATUS and self.last.get(key) == event.status:
                return
            self.last[key] = event.status
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        return None


class JsonEvents:
    """NDJSON: ``{"type": "version", ...}`` first, then one object per event."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self._write({"type": "version", "format_version": EVENTS_FORMAT_VERSION, "nexspec": __version__})

    def __call__(self, event: Event) -> None:
        record: dict[str, Any] = {"type": event.kind.value}
        for key in ("name", "status", "progress", "message", "output_url", "path"):
            value = getattr(event, key)
            if value not in (None, ""):
                record["job" if key == "name" else key] = value
        self._write(record)

    def emit(self, record: dict[str, Any]) -> None:
        self._write(record)

    def _write(self, record: dict[str, Any]) -> None:
        with self.lock:
            print(json.dumps(record, ensure_ascii=False), file=self.stream, flush=True)

    def close(self) -> None:
        return None


@dataclass
class _Board:
    total: int
    done: int = 0
    failed: int = 0
    running: dict[str, tuple[str, float | None]] = field(default_factory=dict)


class LiveDisplay:
    """A redrawn panel on a terminal: overall bar, then the running jobs.

    It starts drawing at the first event, so the plan and the confirmation prompt shown
    before it are left alone; ``expect`` says how many jobs the bar counts.
    """

    def __init__(self, stream: IO[str], total: int = 0) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=stream)
        self.board = _Board(total)
        self.lock = threading.Lock()
        self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
        self.started = False

    def expect(self, total: int) -> None:
        with self.lock:
            self.board.total = total

    def __call__(self, event: Event) -> None:
        with self.lock:
            if not self.started:
                self.live.start()
                self.started = True
            line = self._update(event)
            if line:
                self.live.console.print(line, markup=False, highlight=False)
            self.live.update(self._render())

    def _update(self, event: Event) -> str | None:
        board = self.board
        if event.kind in {EventKind.SUBMITTED, EventKind.STATUS}:
            board.running[event.name] = (event.status, event.progress)
            return None
        if event.kind is EventKind.FINISHED:
            board.running.pop(event.name, None)
            board.done += 1
        elif event.kind is EventKind.FAILED:
            board.running.pop(event.name, None)
            board.failed += 1
        return describe(event)

    def _render(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.text import Text

        board = self.board
        ended = board.done + board.failed
        header = Text(f"{ended}/{board.total} jobs ended ({board.done} finished, {board.failed} failed)")
        lines: list[Any] = [header, ProgressBar(total=max(board.total, 1), completed=ended, width=50)]
        for name, (status, progress) in list(board.running.items())[:MAX_LIVE_LINES]:
            percent = f"{progress:5.1f}%" if progress is not None else "      "
            lines.append(Text(f"  {percent}  {status:<16} {name}"))
        hidden = len(board.running) - MAX_LIVE_LINES
        if hidden > 0:
            lines.append(Text(f"  … and {hidden} more running"))
        return Group(*lines)

    def close(self) -> None:
        with self.lock:
            if self.started:
                self.live.update(self._render())
                self.live.stop()
                self.started = False


Sink = LinePrinter | JsonEvents | LiveDisplay


def jobs_to_watch(plan: Plan) -> int:
    """How many jobs an apply of ``plan`` submits or tracks."""
    return sum(1 for j in plan.jobs if j.action in SUBMITTING_ACTIONS or j.action is JobAction.TRACK)


def progress_sink(fmt: str, *, terminal: bool, stdout: IO[str], stderr: IO[str]) -> Sink:
    """NDJSON on stdout for ``--format json``; else on stderr, live on a terminal, or lines."""
    if fmt == "json":
        return JsonEvents(stdout)
    if terminal:
        return LiveDisplay(stderr)
    return LinePrinter(stderr)


def describe(event: Event) -> str | None:
    """The one-line text for an event, or ``None`` for events shown only live."""
    name = event.name
    if event.kind is EventKind.TEMPLATE:
        return f"template {name}: {event.status}" + (f" ({event.message})" if event.message else "")
    if event.kind is EventKind.SUBMITTED:
        return f"{name}: submitted, {event.status} ({event.message})"
    if event.kind is EventKind.STATUS:
        return f"{name}: {event.status}"
    if event.kind is EventKind.FINISHED:
        return f"{name}: finished"
    if event.kind is EventKind.FAILED:
        return f"{name}: failed: {event.message}"
    if event.kind is EventKind.DOWNLOADED:
        return f"{name}: saved {event.path}"
    return f"{name + ': ' if name else ''}{event.message}"
