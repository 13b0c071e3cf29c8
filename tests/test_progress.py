"""How an apply is shown: one line per state change, NDJSON with a version header first, and
a live panel on a terminal that waits for the first event.
"""

from __future__ import annotations

import io
import json
import threading

import pytest

from nexspec import __version__
from nexspec.apply import Event, EventKind
from nexspec.plan import JobAction, JobChange, Plan
from nexspec.progress import (
    EVENTS_FORMAT_VERSION,
    JsonEvents,
    LinePrinter,
    LiveDisplay,
    describe,
    jobs_to_watch,
    progress_sink,
)

RUN = [
    Event(EventKind.TEMPLATE, "promo", status="uploading", message="26,742 bytes"),
    Event(EventKind.TEMPLATE, "promo", status="uploaded"),
    Event(EventKind.SUBMITTED, "sale", status="queued", message="01J0000000000000000000000Z"),
    Event(EventKind.STATUS, "sale", status="render:download"),
    Event(EventKind.STATUS, "sale", status="render:dorender", progress=10.0),
    Event(EventKind.STATUS, "sale", status="render:dorender", progress=55.0),
    Event(EventKind.STATUS, "sale", status="render:dorender", progress=90.0),
    Event(EventKind.FINISHED, "sale", status="finished", progress=100.0, output_url="http://x/o.mp4"),
    Event(EventKind.DOWNLOADED, "sale", path="renders/sale.mp4"),
    Event(EventKind.FAILED, "teaser", message="Layer 'x' not found in composition 'main'"),
    Event(EventKind.NOTE, message="looking up 1 interrupted submission(s) by tag"),
]


def test_the_line_printer_prints_one_line_per_state_change() -> None:
    stream = io.StringIO()
    printer = LinePrinter(stream)
    for event in RUN:
        printer(event)
    printer.close()
    assert stream.getvalue().splitlines() == [
        "template promo: uploading (26,742 bytes)",
        "template promo: uploaded",
        "sale: submitted, queued (01J0000000000000000000000Z)",
        "sale: render:download",
        "sale: render:dorender",
        "sale: finished",
        "sale: saved renders/sale.mp4",
        "teaser: failed: Layer 'x' not found in composition 'main'",
        "looking up 1 interrupted submission(s) by tag",
    ]


def test_a_state_seen_again_after_another_is_a_change() -> None:
    stream = io.StringIO()
    printer = LinePrinter(stream)
    for status in ["queued", "queued", "render:dorender", "queued"]:
        printer(Event(EventKind.STATUS, "a", status=status))
    assert stream.getvalue().splitlines() == ["a: queued", "a: render:dorender", "a: queued"]


def test_lines_from_many_threads_never_interleave() -> None:
    stream = io.StringIO()
    printer = LinePrinter(stream)

    def burst(job: int) -> None:
        for step in range(50):
            printer(Event(EventKind.STATUS, f"job-{job}", status=f"state-{step}"))

    threads = [threading.Thread(target=burst, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 200
    assert all(line.startswith("job-") and ": state-" in line for line in lines)


def test_ndjson_starts_with_the_version_header() -> None:
    stream = io.StringIO()
    events = JsonEvents(stream)
    assert json.loads(stream.getvalue()) == {
        "type": "version",
        "format_version": EVENTS_FORMAT_VERSION,
        "nexspec": __version__,
    }
    for event in RUN[2:4]:
        events(event)
    events.emit({"type": "summary", "ok": True})
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert records[0]["type"] == "version"
    assert records[1:] == [
        {"type": "submitted", "job": "sale", "status": "queued", "message": "01J0000000000000000000000Z"},
        {"type": "status", "job": "sale", "status": "render:download"},
        {"type": "summary", "ok": True},
    ]


def test_ndjson_carries_progress_urls_and_paths() -> None:
    stream = io.StringIO()
    events = JsonEvents(stream)
    for event in RUN[6:9]:
        events(event)
    records = [json.loads(line) for line in stream.getvalue().splitlines()[1:]]
    assert records == [
        {"type": "status", "job": "sale", "status": "render:dorender", "progress": 90.0},
        {
            "type": "finished",
            "job": "sale",
            "status": "finished",
            "progress": 100.0,
            "output_url": "http://x/o.mp4",
        },
        {"type": "downloaded", "job": "sale", "path": "renders/sale.mp4"},
    ]


def test_the_live_panel_draws_nothing_before_the_first_event_then_counts_the_jobs() -> None:
    stream = io.StringIO()
    live = LiveDisplay(stream)
    live.expect(2)
    assert stream.getvalue() == ""  # the plan and the prompt come first, undisturbed
    for event in [
        Event(EventKind.SUBMITTED, "sale", status="queued", message="id-1"),
        Event(EventKind.SUBMITTED, "teaser", status="queued", message="id-2"),
        Event(EventKind.STATUS, "sale", status="render:dorender", progress=40.0),
        Event(EventKind.FINISHED, "sale", status="finished", progress=100.0),
        Event(EventKind.FAILED, "teaser", message="Layer 'x' not found in composition 'main'"),
    ]:
        live(event)
    live.close()
    text = stream.getvalue()
    assert "sale: finished" in text
    assert "teaser: failed: Layer 'x' not found in composition 'main'" in text
    assert "2/2 jobs ended (1 finished, 1 failed)" in text


def test_a_live_panel_that_saw_nothing_closes_silently() -> None:
    stream = io.StringIO()
    LiveDisplay(stream).close()
    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    ("fmt", "terminal", "kind", "stream"),
    [
        ("json", True, JsonEvents, "stdout"),
        ("json", False, JsonEvents, "stdout"),
        ("text", True, LiveDisplay, "stderr"),
        ("text", False, LinePrinter, "stderr"),
    ],
)
def test_the_sink_for_each_format_and_stream(fmt: str, terminal: bool, kind: type, stream: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    sink = progress_sink(fmt, terminal=terminal, stdout=out, stderr=err)
    assert isinstance(sink, kind)
    sink(Event(EventKind.NOTE, message="hello"))
    sink.close()
    assert ("hello" in out.getvalue(), "hello" in err.getvalue()) == (stream == "stdout", stream == "stderr")


def test_jobs_to_watch_counts_what_is_submitted_or_tracked() -> None:
    def change(name: str, action: JobAction) -> JobChange:
        return JobChange(name, action, "promo", None, None, None, None, "")

    plan = Plan(
        backend="local",
        base_lock="absent",
        base_specs="sha256:x",
        templates=(),
        jobs=tuple(change(action.value, action) for action in JobAction),
    )
    assert jobs_to_watch(plan) == 4  # render, re-render, retry, track


def test_every_event_kind_has_a_line() -> None:
    assert all(describe(Event(kind, "x", status="s", message="m")) for kind in EventKind)
