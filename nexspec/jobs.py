"""Job expansion: every job spec (and every ``foreach`` row) rendered into a resolved payload.

Each distinct string is compiled once and each job body is compiled into a tree whose
static parts are shared between rows, so a 10,000-row ``foreach`` renders only what
varies. Every payload is then checked against the Cloud's job schema, with the
template's name standing in for its id until the real one is known.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexspec.diagnostics import Diagnostic, Location, did_you_mean, error
from nexspec.errors import SpecError
from nexspec.payload import FieldPath, JsonObject, JsonValue, format_path
from nexspec.schemas import job_errors
from nexspec.source import Row, load_rows, rows_from_list
from nexspec.spec import NAME_PATTERN, JobSpec, Project, resolve_path, schema_message
from nexspec.templateinfo import TemplateKind
from nexspec.templating import EnvScope, RowScope, TemplateProblem, Templating, VarsScope

STAND_IN_TEMPLATE_ID = "0" * 26
MAX_PROBLEMS_PER_JOB = 10
# Fields that shape how nexspec builds the payload; everything else is sent as written.
_SPEC_ONLY = frozenset({"template", "composition", "templateSrc", "foreach", "description"})
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_COMPOSITION_REQUIRED = frozenset({TemplateKind.AEP, TemplateKind.ZIP})

Render = Callable[[Mapping[str, Any]], JsonValue]


@dataclass(frozen=True, slots=True)
class ResolvedJob:
    """One job, fully rendered: ``payload`` is what would be sent, template ids unbound.

    In ``payload``, ``template.id`` (and a nested job asset's ``template.id``) holds the
    template's *name*; ``bind`` swaps in a digest or a remote id. A local asset ``src`` is a
    project-relative path, listed in ``local_files``.
    """

    name: str
    template: str
    composition: str | None
    payload: JsonObject
    location: Location
    origin: str
    local_files: tuple[str, ...] = ()


class _Failure(Exception):
    def __init__(self, path: FieldPath, problem: TemplateProblem) -> None:
        self.path = path
        self.problem = problem


def expand_jobs(
    project: Project, environ: Mapping[str, str], templating: Templating | None = None
) -> tuple[tuple[ResolvedJob, ...], tuple[Diagnostic, ...]]:
    """Every job of the project rendered and checked; names are unique across the project."""
    templating = templating or Templating()
    base = {
        "vars": VarsScope(project.vars),
        "env": EnvScope({n: environ[n] for n in project.env if n in environ}, project.env),
    }
    resolved: list[ResolvedJob] = []
    problems: list[Diagnostic] = []
    for job in project.jobs:
        jobs, job_problems = _expand(job, project, base, templating)
        resolved.extend(jobs)
        problems.extend(_capped(job_problems, job))
    problems.extend(_collisions(resolved))
    return tuple(resolved), tuple(problems)


def _capped(problems: list[Diagnostic], job: JobSpec) -> list[Diagnostic]:
    if len(problems) <= MAX_PROBLEMS_PER_JOB:
        return problems
    more = len(problems) - MAX_PROBLEMS_PER_JOB
    note = error(f"{more} more problem(s) in job '{job.key}' not shown", job.location)
    return [*problems[:MAX_PROBLEMS_PER_JOB], note]


def _expand(
    job: JobSpec, project: Project, base: Mapping[str, Any], templating: Templating
) -> tuple[list[ResolvedJob], list[Diagnostic]]:
    problems: list[Diagnostic] = []
    rows = _rows(job, project.root, problems)
    name_expr = _compile_name(job, templating, problems)
    body = {k: v for k, v in job.body.items() if k not in {"foreach", "description"}}
    render = _compile(body, (), job, templating, problems)
    if problems or rows is None or name_expr is None:
        return [], problems
    builder = _PayloadBuilder(job, project)
    resolved = []
    for row in rows:
        result = _one(job, row, base, name_expr, render, builder, problems)
        if result is not None:
            resolved.append(result)
    return resolved, problems


def _rows(job: JobSpec, root: Path, problems: list[Diagnostic]) -> list[Row | None] | None:
    foreach = job.body.get("foreach")
    if foreach is None:
        return [None]
    location = job.locate(("foreach",))
    try:
        if isinstance(foreach, list):
            return list(rows_from_list(foreach, job.document, (*job.path, "foreach")))
        resolved = resolve_path(str(foreach), job.directory, root)
        if isinstance(resolved, str):
            problems.append(error(resolved, location, field=_field(job, ("foreach",))))
            return None
        return list(load_rows(resolved[0], resolved[1]))
    except SpecError as exc:
        problems.extend(exc.diagnostics)
        return None


def _compile_name(job: JobSpec, templating: Templating, problems: list[Diagnostic]) -> Any:
    try:
        return templating.compile(job.key)
    except TemplateProblem as exc:
        problems.append(_template_problem(exc, job.location, f"jobs.{job.key}"))
        return None


def _compile(
    value: JsonValue,
    path: FieldPath,
    job: JobSpec,
    templating: Templating,
    problems: list[Diagnostic],
) -> Render | None:
    """A function building ``value`` for one row, or ``None`` when ``value`` is static."""
    if isinstance(value, str):
        return _compile_string(value, path, job, templating, problems)
    if isinstance(value, dict):
        return _compile_mapping(value, path, job, templating, problems)
    if isinstance(value, list):
        return _compile_list(value, path, job, templating, problems)
    return None


def _compile_string(
    value: str, path: FieldPath, job: JobSpec, templating: Templating, problems: list[Diagnostic]
) -> Render | None:
    try:
        expression = templating.compile(value)
    except TemplateProblem as exc:
        problems.append(_template_problem(exc, job.locate(path), _field(job, path)))
        return None
    if expression.is_literal:
        return None

    def render(context: Mapping[str, Any]) -> JsonValue:
        try:
            return expression.render(context)
        except TemplateProblem as exc:
            raise _Failure(path, exc) from None

    return render


def _compile_mapping(
    value: dict[str, JsonValue],
    path: FieldPath,
    job: JobSpec,
    templating: Templating,
    problems: list[Diagnostic],
) -> Render | None:
    dynamic = [(k, _compile(v, (*path, k), job, templating, problems)) for k, v in value.items()]
    parts = [(k, r) for k, r in dynamic if r is not None]
    if not parts:
        return None

    def render(context: Mapping[str, Any]) -> JsonValue:
        out = dict(value)
        for key, part in parts:
            out[key] = part(context)
        return out

    return render


def _compile_list(
    value: list[JsonValue],
    path: FieldPath,
    job: JobSpec,
    templating: Templating,
    problems: list[Diagnostic],
) -> Render | None:
    items = [_compile(v, (*path, i), job, templating, problems) for i, v in enumerate(value)]
    if all(r is None for r in items):
        return None
    pairs = list(zip(value, items, strict=True))

    def render(context: Mapping[str, Any]) -> JsonValue:
        return [static if part is None else part(context) for static, part in pairs]

    return render


def _one(
    job: JobSpec,
    row: Row | None,
    base: Mapping[str, Any],
    name_expr: Any,
    render: Render | None,
    builder: _PayloadBuilder,
    problems: list[Diagnostic],
) -> ResolvedJob | None:
    origin = _origin(job, row)
    context = dict(base)
    if row is not None:
        context["row"] = RowScope(row.values, _row_label(row))
    try:
        name = name_expr.render(context)
    except TemplateProblem as exc:
        problems.append(_template_problem(exc, job.location, f"jobs.{job.key}", origin))
        return None
    if not NAME_PATTERN.match(name):
        problems.append(_bad_name(job, name, origin))
        return None
    context["job"] = {"name": name}
    try:
        body = render(context) if render is not None else dict(job.body)
    except _Failure as failure:
        problems.append(
            _template_problem(failure.problem, job.locate(failure.path), _field(job, failure.path), origin)
        )
        return None
    assert isinstance(body, dict)
    return builder.build(name, body, origin, problems)


def _row_label(row: Row) -> str:
    return f"row {row.number} of {row.location.file}"


def _origin(job: JobSpec, row: Row | None) -> str:
    if row is None:
        return str(job.location)
    return f"{job.location}, {_row_label(row)}" + (
        f" (line {row.location.line})" if row.location.line else ""
    )


def _bad_name(job: JobSpec, name: str, origin: str) -> Diagnostic:
    return error(
        f"job name '{name}' may hold only letters, digits, _ . - (from {origin})",
        job.location,
        field=f"jobs.{job.key}",
    )


def _template_problem(exc: TemplateProblem, location: Location, field: str, origin: str = "") -> Diagnostic:
    if exc.line > 1 and location.line:
        location = Location(location.file, location.line + exc.line - 1)
    detail = f"in {origin}" if origin and origin != str(location) else ""
    hint = "templates may not reach Python internals" if exc.security else ""
    return error(exc.message, location, field=field, hint=hint, detail=detail)


def _field(job: JobSpec, path: FieldPath) -> str:
    return format_path(("jobs", job.key, *path))


class _PayloadBuilder:
    """Turns one rendered job body into a payload, checking what the schema cannot."""

    def __init__(self, job: JobSpec, project: Project) -> None:
        self.job = job
        self.project = project
        self.file_cache: dict[str, bool] = {}

    def build(
        self, name: str, body: JsonObject, origin: str, problems: list[Diagnostic]
    ) -> ResolvedJob | None:
        count = len(problems)
        template, composition = self._template(body, origin, problems)
        if template is None:
            return None
        payload: JsonObject = {k: v for k, v in body.items() if k not in _SPEC_ONLY}
        payload["template"] = _template_ref(template, composition, body.get("templateSrc"))
        local_files = self._assets(payload, body, origin, problems)
        self._check_schema(payload, origin, problems)
        self._check_frames(payload, origin, problems)
        if len(problems) > count:
            return None
        return ResolvedJob(name, template, composition, payload, self.job.location, origin, local_files)

    def _template(
        self, body: JsonObject, origin: str, problems: list[Diagnostic]
    ) -> tuple[str | None, str | None]:
        name = body.get("template")
        if not isinstance(name, str):
            problems.append(
                error(
                    "job names no template",
                    self.job.location,
                    field=_field(self.job, ("template",)),
                    hint="add template: NAME here or in defaults:",
                )
            )
            return None, None
        spec = self.project.templates.get(name)
        if spec is None:
            if name not in self.project.invalid_templates:
                problems.append(self._unknown_template(name, ("template",)))
            return None, None
        composition = body.get("composition", spec.composition)
        if composition is None and spec.kind in _COMPOSITION_REQUIRED:
            problems.append(
                error(
                    f"job names no composition for {spec.kind.value} template '{name}'",
                    self.job.location,
                    field=_field(self.job, ("composition",)),
                    hint=f"add composition: here, or a default composition: under templates.{name}",
                )
            )
            return None, None
        return name, str(composition) if composition is not None else None

    def _unknown_template(self, name: str, path: FieldPath) -> Diagnostic:
        return error(
            f"unknown template '{name}'",
            self.job.locate(path),
            field=_field(self.job, path),
            hint=did_you_mean(name, self.project.templates)
            or f"declared templates: {', '.join(sorted(self.project.templates)) or 'none'}",
        )

    def _assets(
        self, payload: JsonObject, body: JsonObject, origin: str, problems: list[Diagnostic]
    ) -> tuple[str, ...]:
        assets = payload.get("assets")
        if not isinstance(assets, list):
            return ()
        base = self.job.directory if "assets" in _own_body(self.job) else self.project.root
        local: list[str] = []
        payload["assets"] = [
            self._asset(a, ("assets", i), base, local, problems) for i, a in enumerate(assets)
        ]
        return tuple(dict.fromkeys(local))

    def _asset(
        self,
        asset: JsonValue,
        path: FieldPath,
        base: Path,
        local: list[str],
        problems: list[Diagnostic],
    ) -> JsonValue:
        if not isinstance(asset, dict):
            return asset
        out = dict(asset)
        src = out.get("src")
        if isinstance(src, str) and not _URL.match(src) and "${" not in src:
            out["src"] = self._local_file(src, (*path, "src"), base, local, problems)
        if out.get("type") == "job":
            out = self._nested_job(out, path, base, local, problems)
        return out

    def _nested_job(
        self,
        asset: JsonObject,
        path: FieldPath,
        base: Path,
        local: list[str],
        problems: list[Diagnostic],
    ) -> JsonObject:
        name = asset.get("template")
        if isinstance(name, str):
            spec = self.project.templates.get(name)
            if spec is None and name not in self.project.invalid_templates:
                problems.append(self._unknown_template(name, (*path, "template")))
            composition = asset.pop("composition", spec.composition if spec else None)
            asset["template"] = _template_ref(name, composition, None)
        nested = asset.get("assets")
        if isinstance(nested, list):
            asset["assets"] = [
                self._asset(a, (*path, "assets", i), base, local, problems) for i, a in enumerate(nested)
            ]
        return asset

    def _local_file(
        self, src: str, path: FieldPath, base: Path, local: list[str], problems: list[Diagnostic]
    ) -> str:
        resolved = resolve_path(src, base, self.project.root)
        if isinstance(resolved, str):
            problems.append(error(resolved, self.job.locate(path), field=_field(self.job, path)))
            return src
        absolute, relpath = resolved
        exists = self.file_cache.get(relpath)
        if exists is None:
            exists = self.file_cache[relpath] = absolute.is_file()
        if not exists:
            problems.append(
                error(
                    f"asset file '{relpath}' not found",
                    self.job.locate(path),
                    field=_field(self.job, path),
                    hint="a src without a scheme is a file in the project; use https://… for remote media",
                )
            )
        local.append(relpath)
        return relpath

    def _check_schema(self, payload: JsonObject, origin: str, problems: list[Diagnostic]) -> None:
        bound = bind(payload, _StandIn())
        for err in job_errors(bound):
            path = _body_path(tuple(err.absolute_path))
            detail = f"in {origin}" if self.job.body.get("foreach") is not None else ""
            problems.append(
                error(
                    schema_message(err),
                    self.job.locate(path),
                    field=_field(self.job, path),
                    detail=detail,
                )
            )

    def _check_frames(self, payload: JsonObject, origin: str, problems: list[Diagnostic]) -> None:
        settings = payload.get("settings")
        frames = settings.get("frames") if isinstance(settings, dict) else None
        if isinstance(frames, list) and len(frames) == 2 and all(isinstance(f, int) for f in frames):
            start, end = frames
            assert isinstance(start, int) and isinstance(end, int)
            if end <= start:
                path: FieldPath = ("settings", "frames")
                problems.append(
                    error(
                        f"frame range [{start}, {end}] must end after it starts",
                        self.job.locate(path),
                        field=_field(self.job, path),
                    )
                )


def _own_body(job: JobSpec) -> Mapping[str, JsonValue]:
    data = job.document.data
    assert isinstance(data, dict)
    jobs = data["jobs"]
    assert isinstance(jobs, dict)
    own = jobs[job.key]
    assert isinstance(own, dict)
    return own


def _template_ref(name: str, composition: JsonValue, src: JsonValue) -> JsonObject:
    ref: JsonObject = {"id": name}
    if composition is not None:
        ref["composition"] = composition
    if src is not None:
        ref["src"] = src
    return ref


def _body_path(path: FieldPath) -> FieldPath:
    """A payload field's path in the spec: ``template.composition`` is ``composition`` there."""
    if path[:2] == ("template", "composition"):
        return ("composition",)
    if path[:2] == ("template", "src"):
        return ("templateSrc",)
    if path[:1] == ("template",):
        return ("template",)
    return path


class _StandIn(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return STAND_IN_TEMPLATE_ID


def bind(
    payload: JsonObject,
    template_ids: Mapping[str, str],
    file_url: Callable[[str], str] | None = None,
) -> JsonObject:
    """The payload with template names replaced by ``template_ids`` (a digest or a remote id)
    and, when ``file_url`` is given, project files replaced by URLs the backend can fetch."""
    out = dict(payload)
    template = out.get("template")
    if isinstance(template, dict):
        out["template"] = {**template, "id": template_ids[str(template["id"])]}
    assets = out.get("assets")
    if isinstance(assets, list) and (file_url is not None or _has_nested(assets)):
        out["assets"] = [_bind_asset(a, template_ids, file_url) for a in assets]
    return out


def _has_nested(assets: list[JsonValue]) -> bool:
    return any(isinstance(a, dict) and a.get("type") == "job" for a in assets)


def _bind_asset(
    asset: JsonValue, template_ids: Mapping[str, str], file_url: Callable[[str], str] | None
) -> JsonValue:
    if not isinstance(asset, dict):
        return asset
    if asset.get("type") == "job":
        return bind(asset, template_ids, file_url)
    src = asset.get("src")
    if file_url is not None and isinstance(src, str) and not _URL.match(src) and "${" not in src:
        return {**asset, "src": file_url(src)}
    return asset


def _collisions(jobs: list[ResolvedJob]) -> list[Diagnostic]:
    seen: dict[str, ResolvedJob] = {}
    problems = []
    for job in jobs:
        first = seen.setdefault(job.name, job)
        if first is not job:
            problems.append(
                error(
                    f"job name '{job.name}' is produced twice: by {first.origin} and by {job.origin}",
                    job.location,
                    hint="job names must be unique; add a distinguishing column to the name",
                )
            )
    return problems
