"""``nexspec validate``: specs, Jinja and templates checked offline, every problem collected.

Also the first half of ``render`` and ``plan``: they all need the same validated project,
its templates' digests and introspection, and the resolved jobs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nexspec.archive import lint_template
from nexspec.check import Checker, JobToCheck
from nexspec.diagnostics import Diagnostic, Location, has_errors, warning
from nexspec.errors import TemplateError
from nexspec.introspect import introspect_cached
from nexspec.jobs import ResolvedJob, expand_jobs
from nexspec.pack import Digest, DigestCache, digest_template
from nexspec.spec import JobSpec, Project, TemplateSpec, load_project
from nexspec.templateinfo import TemplateInfo

STATE_DIR = ".nexspec"


@dataclass(frozen=True, slots=True)
class TemplateState:
    """A declared template with what was learnt from its file."""

    spec: TemplateSpec
    digest: Digest | None
    info: TemplateInfo | None


@dataclass(frozen=True, slots=True)
class Validation:
    project: Project | None
    templates: Mapping[str, TemplateState]
    jobs: tuple[ResolvedJob, ...]
    diagnostics: tuple[Diagnostic, ...]

    def ok(self, *, strict: bool = False) -> bool:
        if has_errors(self.diagnostics):
            return False
        return not (strict and self.diagnostics)


def state_dir(root: Path) -> Path:
    return root / STATE_DIR


def validate_project(root: Path, *, environ: Mapping[str, str]) -> Validation:
    """Everything ``nexspec validate`` checks, as one value."""
    project, problems = load_project(root, environ)
    if project is None:
        return Validation(None, {}, (), problems)
    diagnostics = list(problems)
    templates = {name: _template_state(spec, root, diagnostics) for name, spec in project.templates.items()}
    jobs, job_problems = expand_jobs(project, environ)
    diagnostics.extend(job_problems)
    checker = Checker({name: state.info for name, state in templates.items()})
    by_location = {job.location: job for job in project.jobs}
    diagnostics.extend(checker.check(_to_check(job, by_location) for job in jobs))
    return Validation(project, templates, jobs, tuple(diagnostics))


def _to_check(job: ResolvedJob, specs: Mapping[Location, JobSpec]) -> JobToCheck:
    spec = specs[job.location]
    return JobToCheck(spec.key, job.name, job.template, job.composition, job.payload, spec.locate, job.origin)


def _template_state(spec: TemplateSpec, root: Path, diagnostics: list[Diagnostic]) -> TemplateState:
    lint = lint_template(spec.path, spec.kind, display=spec.relpath, project_root=root)
    diagnostics.extend(lint)
    if has_errors(lint):
        return TemplateState(spec, None, None)
    cache = state_dir(root) / "cache"
    try:
        digest = digest_template(spec.path, project_root=root, cache=DigestCache(cache / "digests.json"))
    except TemplateError as exc:
        diagnostics.append(warning(str(exc), spec.location))
        return TemplateState(spec, None, None)
    return TemplateState(spec, digest, _introspect(spec, digest, cache, diagnostics))


def _introspect(
    spec: TemplateSpec, digest: Digest, cache: Path, diagnostics: list[Diagnostic]
) -> TemplateInfo | None:
    try:
        return introspect_cached(spec.path, spec.kind, digest=digest.value, cache_dir=cache / "introspect")
    except TemplateError as exc:
        diagnostics.append(
            warning(
                f"cannot introspect template '{spec.name}': {exc}",
                Location(spec.relpath),
                hint="its compositions and layers are not checked",
            )
        )
        return None
