"""Formatting of results for people and machines: pure functions from values to text.

Only ``nexspec.cli`` prints; everything here returns strings. JSON documents carry a
``format_version``: minor bumps only add fields, a major bump breaks compatibility.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

from nexspec.apply import ApplyResult
from nexspec.diagnostics import Diagnostic, Location, sort_key
from nexspec.lock import JobEntry
from nexspec.plan import FieldChange, JobAction, JobChange, Plan, TemplateAction, plan_to_json
from nexspec.templateinfo import TemplateInfo

DIAGNOSTICS_FORMAT_VERSION = "1.0"


def _file(location: Location | None, prefix: str) -> str:
    if location is None or not location.file:
        return ""
    return f"{prefix}{location.file}"


def _place(location: Location | None, prefix: str) -> str:
    if location is None or not location.file:
        return "nexspec"
    return str(Location(_file(location, prefix), location.line, location.column))


def format_diagnostics_text(diagnostics: Sequence[Diagnostic], *, prefix: str = "") -> str:
    """``file:line:col: error: message [field]`` lines, each followed by its hint."""
    lines = []
    for d in sorted(diagnostics, key=sort_key):
        field = f" [{d.field}]" if d.field else ""
        lines.append(f"{_place(d.location, prefix)}: {d.severity}: {d.summary}{field}")
        if d.hint:
            lines.append(f"  hint: {d.hint}")
        if d.detail:
            lines.extend(f"  {line}" for line in d.detail.splitlines())
    return "\n".join(lines)


def format_diagnostics_github(diagnostics: Sequence[Diagnostic], *, prefix: str = "") -> str:
    """GitHub workflow commands (``::error file=…,line=…::``) that annotate the pull request."""
    lines = []
    for d in sorted(diagnostics, key=sort_key):
        props = []
        if d.location is not None and d.location.file:
            props.append(f"file={_escape_property(_file(d.location, prefix))}")
            if d.location.line:
                props.append(f"line={d.location.line}")
            if d.location.column:
                props.append(f"col={d.location.column}")
        if d.field:
            props.append(f"title={_escape_property(d.field)}")
        message = d.summary + (f" ({d.hint})" if d.hint else "")
        command = f"{d.severity} {','.join(props)}" if props else d.severity
        lines.append(f"::{command}::{_escape_data(message)}")
    return "\n".join(lines)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def diagnostics_document(
    diagnostics: Sequence[Diagnostic], *, prefix: str = "", strict: bool = False
) -> dict[str, object]:
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    return {
        "format_version": DIAGNOSTICS_FORMAT_VERSION,
        "valid": errors == 0 and not (strict and warnings),
        "error_count": errors,
        "warning_count": warnings,
        "diagnostics": [_diagnostic_json(d, prefix) for d in sorted(diagnostics, key=sort_key)],
    }


def format_diagnostics_json(
    diagnostics: Sequence[Diagnostic], *, prefix: str = "", strict: bool = False
) -> str:
    return json.dumps(
        diagnostics_document(diagnostics, prefix=prefix, strict=strict),
        indent=2,
        ensure_ascii=False,
    )


def _diagnostic_json(d: Diagnostic, prefix: str) -> dict[str, object]:
    location = d.location
    position = {"line": location.line, "column": location.column} if location else {"line": 0, "column": 0}
    return {
        "severity": d.severity,
        "summary": d.summary,
        "detail": d.detail,
        "field": d.field,
        "hint": d.hint,
        "range": {"filename": _file(location, prefix), "start": position, "end": position},
    }


def format_validation_summary(
    diagnostics: Sequence[Diagnostic], *, templates: int, jobs: int, strict: bool
) -> str:
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    if errors or (strict and warnings):
        return f"invalid: {_count(errors, 'error')}, {_count(warnings, 'warning')}"
    suffix = f" ({_count(warnings, 'warning')})" if warnings else ""
    return f"valid: {_count(templates, 'template')}, {_count(jobs, 'job')}{suffix}"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def format_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain, aligned text table (no colour, safe for logs and CI)."""
    body = [[str(cell) for cell in row] for row in rows]
    widths = [
        max(len(header[i]), *(len(r[i]) for r in body)) if body else len(header[i])
        for i in range(len(header))
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in body]
    return "\n".join(lines)


def format_template_info(info: TemplateInfo, *, title: str) -> str:
    """Compositions and their layers, as ``nexspec inspect`` prints them."""
    parts = [
        f"{title} ({info.kind.value}{', ' + info.project if info.project and info.project != title else ''})"
    ]
    if info.lottie:
        parts.append(f"Lottie export: {info.lottie}")
    for comp in info.compositions:
        parts.append("")
        parts.append(
            f"composition '{comp.name}'  {comp.width}x{comp.height}  {comp.fps:g} fps  {comp.duration:g} s"
        )
        rows = [
            (
                layer.index,
                layer.name,
                layer.kind.value,
                _layer_detail(layer.text, layer.source_comp, layer.source_name),
            )
            for layer in comp.layers
        ]
        parts.append(_indent(format_table(("#", "layer", "kind", "detail"), rows)))
    if info.controls:
        parts.append("")
        parts.append("Essential Graphics controls")
        parts.append(
            _indent(format_table(("control", "kind"), [(c.name, c.kind.value) for c in info.controls]))
        )
    return "\n".join(parts)


def _layer_detail(text: str | None, source_comp: str | None, source_name: str | None) -> str:
    if text is not None:
        short = text if len(text) <= 40 else text[:37] + "..."
        return json.dumps(short, ensure_ascii=False)
    if source_comp:
        return f"-> {source_comp}"
    return source_name or ""


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


# -- plans -------------------------------------------------------------------------------

MARKDOWN_LIMIT = 60_000
MARKDOWN_MARKER = "<!-- nexspec:plan -->"
_SYMBOLS = {
    "create": "+",
    "upload": "~",
    "unchanged": " ",
    "orphaned": "?",
    "render": "+",
    "re-render": "~",
    "retry": "↻",
    "track": "…",
    "removed": "-",
}


def plan_summary(plan: Plan) -> str:
    """``2 templates to upload, 3 to render, 1 to re-render, 40 unchanged``."""
    uploads = plan.count(TemplateAction.CREATE) + plan.count(TemplateAction.UPLOAD)
    parts = []
    if uploads:
        parts.append(f"{uploads} template{'s' if uploads != 1 else ''} to upload")
    for action, words in (
        (JobAction.RENDER, "to render"),
        (JobAction.RERENDER, "to re-render"),
        (JobAction.RETRY, "to retry"),
        (JobAction.TRACK, "to track"),
        (JobAction.REMOVED, "removed"),
    ):
        if plan.count(action):
            parts.append(f"{plan.count(action)} {words}")
    orphans = plan.count(TemplateAction.ORPHANED)
    if orphans:
        parts.append(
            f"{orphans} orphaned template{'s' if orphans != 1 else ''}{' to delete' if plan.prune else ''}"
        )
    parts.append(f"{plan.count(JobAction.UNCHANGED)} unchanged")
    text = ", ".join(parts)
    if not plan.has_changes and not plan.count(JobAction.TRACK):
        text = f"No changes. {text}"
    if plan.excluded:
        text += f" ({plan.excluded} excluded by selection)"
    return text


def _value(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def format_change(change: FieldChange) -> str:
    if change.added:
        return f"{change.field}: (none) → {_value(change.new)}"
    if change.removed:
        return f"{change.field}: {_value(change.old)} → (none)"
    return f"{change.field}: {_value(change.old)} → {_value(change.new)}"


def format_plan_text(plan: Plan, *, verbose: bool = False) -> str:
    lines = [f"Plan for backend {plan.backend}: {plan_summary(plan)}"]
    for drift in plan.drift:
        lines.append(f"  drift: {drift.message}")
    templates = [t for t in plan.templates if verbose or t.action is not TemplateAction.UNCHANGED]
    if templates:
        lines += ["", "Templates:"]
        width = max(len(t.name) for t in templates)
        lines.extend(_row(t.action.value, t.name, width, t.reason) for t in templates)
    jobs = [j for j in plan.jobs if verbose or j.action is not JobAction.UNCHANGED]
    if jobs:
        lines += ["", "Jobs:"]
        width = max(len(j.name) for j in jobs)
        for j in jobs:
            lines.append(_row(j.action.value, j.name, width, j.reason))
            lines.extend(f"      {format_change(c)}" for c in j.changes)
    hidden = sum(1 for j in plan.jobs if j.action is JobAction.UNCHANGED) if not verbose else 0
    if hidden:
        lines += [
            "",
            f"({hidden} unchanged job{'s' if hidden != 1 else ''} not shown; --all lists them)",
        ]
    return "\n".join(lines)


def _row(action: str, name: str, width: int, reason: str) -> str:
    return f"  {_SYMBOLS[action]} {name.ljust(width)}  {action:<9}  {reason}".rstrip()


def format_plan_json(plan: Plan) -> str:
    return json.dumps(plan_to_json(plan), indent=2, ensure_ascii=False)


def format_plan_markdown(plan: Plan, *, limit: int = MARKDOWN_LIMIT) -> str:
    """A pull-request comment: summary table first, details folded, under ``limit`` characters.

    The hidden marker lets CI find and update its one comment instead of adding new ones.
    """
    head = [
        MARKDOWN_MARKER,
        f"### nexspec plan: {plan_summary(plan)}",
        "",
        f"Backend: `{plan.backend}`",
        "",
    ]
    head += _markdown_drift(plan)
    changed = [j for j in plan.jobs if j.action is not JobAction.UNCHANGED]
    table = ["| | job | template | action | why |", "|---|---|---|---|---|"]
    table += [
        f"| {_SYMBOLS[j.action.value]} | `{j.name}` | `{j.template}` | {j.action.value} | {_md(j.reason)} |"
        for j in changed
    ]
    templates = [t for t in plan.templates if t.action is not TemplateAction.UNCHANGED]
    template_rows = [f"- {t.action.value} `{t.name}`: {_md(t.reason)}" for t in templates]
    details = _markdown_details(changed)
    return _fit_markdown(head, template_rows, table if changed else ["No job changes."], details, limit)


def _markdown_drift(plan: Plan) -> list[str]:
    if not plan.drift:
        return []
    return [
        "**Drift** (the backend differs from the lock):",
        *(f"- {_md(d.message)}" for d in plan.drift),
        "",
    ]


def _markdown_details(changed: list[JobChange]) -> list[str]:
    blocks = []
    for job in changed:
        if job.changes:
            diff = "\n".join(f"- {job.name}: {format_change(c)}" for c in job.changes)
            blocks.append(f"```\n{diff}\n```")
    return blocks


def _fit_markdown(
    head: list[str], templates: list[str], table: list[str], details: list[str], limit: int
) -> str:
    body = [*head, *(["**Templates**", *templates, ""] if templates else []), *table]
    text = "\n".join(body)
    if details:
        folded = "\n\n<details><summary>What changed</summary>\n\n" + "\n".join(details) + "\n\n</details>"
        if len(text) + len(folded) <= limit:
            return text + folded + "\n"
    while len(text) > limit - 250 and len(body) > len(head) + 2:
        body.pop()
        text = "\n".join(body)
    cut = len(head) + len(templates) + len(table) - len(body) + (2 if templates else 0)
    if cut > 0 or details:
        text += _cut_note(cut, details=bool(details), limit=limit)
    return text + "\n"


def _cut_note(rows: int, *, details: bool, limit: int) -> str:
    """What a markdown plan left out, and where to see all of it."""
    parts = [f"{rows:,} more row(s)"] if rows > 0 else []
    if details:
        parts.append("the details of what changed")
    return (
        f"\n\n_{' and '.join(parts)} not shown: the comment is limited to {limit:,} characters; "
        "see the full plan with `nexspec plan --format json`._"
    )


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# -- apply and status --------------------------------------------------------------------


def format_apply_summary(result: ApplyResult) -> str:
    head = (
        f"Apply complete: {len(result.finished)} finished, {len(result.failed)} failed, "
        f"{len(result.running)} still running ({result.submitted} submitted, "
        f"{result.uploaded} template upload{'s' if result.uploaded != 1 else ''})"
    )
    if result.timed_out:
        head += "; stopped waiting at --timeout"
    lines = [head]
    if result.running and not result.waited:
        lines.append("Not waiting (--no-wait): `nexspec status` reports on them later.")
    if result.failed:
        lines.append("Failed:")
        for failure in result.failed:
            lines.append(f"  {failure.name}: {failure.error}")
            if failure.hint:
                lines.append(f"    hint: {failure.hint}")
    return "\n".join(lines)


def format_status(jobs: Mapping[str, JobEntry], *, backend: str) -> str:
    if not jobs:
        return f"No jobs recorded for backend {backend}; run `nexspec apply` first."
    rows = [
        (
            name,
            entry.status.value,
            f"{entry.render_duration:.1f} s" if entry.render_duration is not None else "",
            entry.error or entry.output_url or "",
        )
        for name, entry in sorted(jobs.items())
    ]
    return f"Backend {backend}\n" + format_table(("job", "status", "render", "output or error"), rows)


def format_holder(holder: Mapping[str, object]) -> str:
    """The line ``status`` shows while an apply holds the project's lock."""
    who = f"{holder.get('owner')} on {holder.get('host')}, pid {holder.get('pid')}"
    return f"an apply is running ({who}, since {holder.get('started_at')}); the lock file was not updated"
