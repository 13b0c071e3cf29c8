"""``nexspec apply``: plan under the project's apply lock, confirm, then execute the plan.

A saved plan (``nexspec apply plan.json``) is executed exactly, and refused when the lock
or the specs changed since it was made.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from nexspec.apply import Applier, ApplyOptions, ApplyResult, Event
from nexspec.backend import BackendChoice, connect
from nexspec.client import ApiClient
from nexspec.commands.plan import PlannedProject, plan_project
from nexspec.commands.validate import state_dir
from nexspec.errors import NexspecError, StalePlanError, UsageError
from nexspec.lock import JobStatus
from nexspec.lockfile import apply_guard
from nexspec.plan import NO_SELECTION, JobAction, Plan, Selection, plan_from_json, plan_to_json
from nexspec.spec import find_project


class Cancelled(NexspecError):
    """The user answered no at the confirmation prompt."""


@dataclass(frozen=True, slots=True)
class ApplyRequest:
    root: Path
    choice: BackendChoice
    plan_file: Path | None = None
    selection: Selection = NO_SELECTION
    replace: frozenset[str] = frozenset()
    prune: bool = False
    options: ApplyOptions = field(default_factory=ApplyOptions)
    download_dir: Path | None = None
    lock_timeout: float = 0.0
    faults: str | None = None
    render_fast: bool = False
    workers: int | None = None


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    plan: Plan
    result: ApplyResult | None  # None: nothing to do


def resolve_target(argument: Path) -> tuple[Path, Path | None]:
    """``PROJECT | PLANFILE``: the project root, and the saved plan when one was given."""
    if argument.is_file() and argument.suffix == ".json":
        try:
            data = json.loads(argument.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{argument}: not a readable plan file ({exc})") from None
        project = data.get("project", ".") if isinstance(data, dict) else "."
        return find_project((argument.parent / str(project)).resolve()), argument
    return find_project(argument), None


def save_plan(planned: PlannedProject, out: Path) -> None:
    document = plan_to_json(planned.plan)
    try:
        document["project"] = str(Path(planned.state.root).resolve().relative_to(out.parent.resolve()))
    except ValueError:
        document["project"] = str(planned.state.root)
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def apply_project(
    request: ApplyRequest,
    *,
    environ: Mapping[str, str],
    confirm: Callable[[Plan], bool],
    on_plan: Callable[[Plan], None],
    emit: Callable[[Event], None],
) -> ApplyOutcome:
    with apply_guard(state_dir(request.root), timeout=request.lock_timeout):
        planned = plan_project(
            request.root,
            request.choice,
            environ=environ,
            selection=request.selection,
            replace=request.replace,
            prune=request.prune,
        )
        plan = _saved(planned, request.plan_file) if request.plan_file else planned.plan
        request = replace(request, download_dir=_download_dir(request, planned))
        on_plan(plan)
        downloads = _missing_downloads(planned, plan, request.download_dir)
        if not _work(plan) and not downloads:
            return ApplyOutcome(plan, None)
        if _work(plan) and not confirm(plan):
            raise Cancelled("apply cancelled; nothing was changed")
        return ApplyOutcome(plan, _execute(request, planned, plan, environ, emit))


def _download_dir(request: ApplyRequest, planned: PlannedProject) -> Path | None:
    """``--download DIR``, else the spec's ``download:`` (relative to the project)."""
    if request.download_dir is not None:
        return request.download_dir
    project = planned.state.validation.project
    return request.root / project.download if project is not None and project.download else None


def _work(plan: Plan) -> bool:
    return plan.has_changes or plan.count(JobAction.TRACK) > 0


def _execute(
    request: ApplyRequest,
    planned: PlannedProject,
    plan: Plan,
    environ: Mapping[str, str],
    emit: Callable[[Event], None],
) -> ApplyResult:
    root = request.root
    with connect(
        request.choice,
        root,
        environ,
        faults=request.faults,
        render_fast=request.render_fast,
        workers=request.workers,
    ) as connection:
        download = _downloader(connection.client, request.download_dir) if request.download_dir else None
        applier = Applier(
            plan,
            replace(planned.state.target, file_url=connection.file_url),
            connection.client,
            lock=planned.lock,
            lock_path=planned.lock_path,
            work_dir=state_dir(root) / "packs",
            project_root=root,
            options=replace(request.options, download=download),
            emit=emit,
            instance=connection.instance,
        )
        return applier.run()


def _saved(planned: PlannedProject, plan_file: Path) -> Plan:
    saved = plan_from_json(plan_file.read_text(encoding="utf-8"), str(plan_file))
    current = planned.plan
    if saved.backend != current.backend:
        raise StalePlanError(f"{plan_file}: the plan is for backend {saved.backend}, not {current.backend}")
    if saved.base_lock != current.base_lock:
        raise StalePlanError(
            f"{plan_file}: the lock changed since this plan was made; run `nexspec plan` again"
        )
    if saved.base_specs != current.base_specs:
        raise StalePlanError(
            f"{plan_file}: the specs changed since this plan was made; run `nexspec plan` again"
        )
    return saved


def _missing_downloads(planned: PlannedProject, plan: Plan, directory: Path | None) -> list[str]:
    """Finished jobs whose output is not in the download folder yet."""
    if directory is None:
        return []
    backend = planned.lock.backend(plan.backend)
    missing = []
    for change in plan.jobs:
        entry = backend.jobs.get(change.name)
        if entry is None or entry.status is not JobStatus.FINISHED or not entry.output_url:
            continue
        if not (directory / f"{change.name}{output_suffix(entry.output_url)}").exists():
            missing.append(change.name)
    return missing


def output_suffix(url: str) -> str:
    suffix = Path(urlsplit(url).path).suffix
    return suffix if suffix else ".mp4"


def _downloader(client: ApiClient, directory: Path) -> Callable[[str, str], str | None]:
    def download(name: str, url: str) -> str | None:
        target = directory / f"{name}{output_suffix(url)}"
        return str(target) if client.download(url, target) else None

    return download
