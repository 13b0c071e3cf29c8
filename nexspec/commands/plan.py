"""``nexspec plan``: the desired state from the specs, compared with the lock (and the backend).

``project_state`` is shared with ``apply``: it validates the project, refuses what the
chosen backend cannot render, hashes the project files jobs use and fingerprints every
job. ``plan_project`` then calls the pure ``make_plan``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from nexspec.apply import JobTarget, Target, TemplateTarget
from nexspec.backend import BackendChoice, local_instance
from nexspec.commands.validate import Validation, state_dir, validate_project
from nexspec.diagnostics import Diagnostic, error
from nexspec.errors import SpecError, UsageError
from nexspec.fingerprint import fingerprint, fingerprint_document, inputs
from nexspec.jobs import ResolvedJob, bind
from nexspec.lock import BackendLock, Lock
from nexspec.lock import digest as lock_digest
from nexspec.lockfile import LOCK_FILE, read_lock
from nexspec.pack import DigestCache, digest_template
from nexspec.plan import (
    NO_SELECTION,
    Desired,
    DesiredJob,
    DesiredTemplate,
    Drift,
    Plan,
    Remote,
    Selection,
    make_plan,
)
from nexspec.templateinfo import TemplateKind


@dataclass(frozen=True, slots=True)
class ProjectState:
    """The specs, resolved for one backend: what to plan with and what to submit."""

    root: Path
    validation: Validation
    desired: Desired
    target: Target


@dataclass(frozen=True, slots=True)
class PlannedProject:
    state: ProjectState
    plan: Plan
    lock: Lock
    lock_text: str | None

    @property
    def lock_path(self) -> Path:
        return self.state.root / LOCK_FILE


def project_state(root: Path, choice: BackendChoice, *, environ: Mapping[str, str]) -> ProjectState:
    validation = validate_project(root, environ=environ)
    if not validation.ok():
        raise SpecError(validation.diagnostics)
    problems = [] if choice.on_this_machine else _remote_limits(validation)
    if problems:
        raise SpecError(problems)
    files = _file_digests(root, validation.jobs)
    templates = {
        name: TemplateTarget(name, s.spec.path, _api_type(s.spec.kind), s.spec.display_name, s.digest.value)
        for name, s in validation.templates.items()
        if s.digest is not None
    }
    ids = {name: t.digest for name, t in templates.items()}
    jobs = {job.name: _job_target(job, ids, files) for job in validation.jobs}
    desired = Desired(
        templates={
            n: DesiredTemplate(n, t.digest, t.kind, t.display_name, validation.templates[n].spec.relpath)
            for n, t in templates.items()
        },
        jobs={
            n: DesiredJob(n, j.template, j.fingerprint, j.inputs, _tags(j.payload)) for n, j in jobs.items()
        },
    )
    return ProjectState(root, validation, desired, Target(templates, jobs))


def _api_type(kind: TemplateKind) -> str:
    return kind.value


def _tags(payload: Mapping[str, object]) -> tuple[str, ...]:
    tags = payload.get("tags")
    return tuple(str(t) for t in tags) if isinstance(tags, list) else ()


def _job_target(job: ResolvedJob, ids: Mapping[str, str], files: Mapping[str, str]) -> JobTarget:
    own_files = {path: files[path] for path in job.local_files}
    document = fingerprint_document(bind(job.payload, ids), own_files)
    return JobTarget(job.name, job.template, job.payload, fingerprint(document), inputs(document))


def _file_digests(root: Path, jobs: tuple[ResolvedJob, ...]) -> dict[str, str]:
    cache = DigestCache(state_dir(root) / "cache" / "digests.json")
    paths = sorted({path for job in jobs for path in job.local_files})
    return {path: digest_template(root / path, project_root=root, cache=cache).value for path in paths}


def _remote_limits(validation: Validation) -> list[Diagnostic]:
    """What Nexrender Cloud cannot do: Lottie templates, and files that exist only here."""
    problems = []
    for state in validation.templates.values():
        if state.spec.kind is TemplateKind.LOTTIE:
            problems.append(
                error(
                    f"template '{state.spec.name}' is a Lottie template; "
                    "Nexrender Cloud renders only .aep, .zip and .mogrt",
                    state.spec.location,
                    hint="use --backend local, or ship the .aep beside its Bodymovin export as a .zip",
                )
            )
    for job in validation.jobs:
        for path in job.local_files:
            problems.append(
                error(
                    f"job '{job.name}' uses the project file '{path}', which a remote backend cannot read",
                    job.location,
                    hint="host the file and use its https:// URL, or use --backend local",
                )
            )
    return problems


def plan_project(
    root: Path,
    choice: BackendChoice,
    *,
    environ: Mapping[str, str],
    selection: Selection = NO_SELECTION,
    replace: frozenset[str] = frozenset(),
    prune: bool = False,
    refresh: Callable[[BackendLock], Remote] | None = None,
) -> PlannedProject:
    """The plan for ``root`` on ``choice``; ``refresh`` asks the backend about the lock's ids."""
    state = project_state(root, choice, environ=environ)
    lock, text = read_lock(root / LOCK_FILE)
    backend, stale = _current_section(root, choice, lock)
    remote = refresh(backend) if refresh is not None else None
    unknown = replace - set(state.desired.jobs)
    if unknown:
        raise UsageError(f"--replace names no job: {', '.join(sorted(unknown))}")
    plan = make_plan(
        state.desired,
        backend,
        backend=choice.key,
        base_lock=lock_digest(text),
        remote=remote,
        replace=replace,
        selection=selection,
        prune=prune,
    )
    if stale:
        plan = dataclasses.replace(plan, drift=(Drift("backend", choice.key, stale), *plan.drift))
    return PlannedProject(state, plan, lock, text)


def _current_section(root: Path, choice: BackendChoice, lock: Lock) -> tuple[BackendLock, str]:
    """The lock's section for this backend, or an empty one (and why) when it is about another
    data dir: a local section committed from another machine names jobs this one never ran."""
    backend = lock.backend(choice.key)
    if not choice.is_local or not (backend.templates or backend.jobs):
        return backend, ""
    if backend.instance and backend.instance == local_instance(root):
        return backend, ""
    note = (
        "the lock's local section was written against another local backend (another machine, "
        "or .nexspec/server was removed); everything will be rendered here again"
    )
    return BackendLock(), note
