"""The ``nexspec`` command line: parse arguments, call one command function, print, exit.

This is the only module that imports click and the only one that prints. ``NexspecGroup``
is the one place where a ``NexspecError`` becomes a message and an exit code.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from nexspec import __version__, views
from nexspec.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, NexspecError, SpecError

PROJECT = click.argument("project", default=".", type=click.Path(path_type=Path))


class NexspecGroup(click.Group):
    """Turns nexspec's own errors into a message on stderr and their documented exit code.

    ``plan --detailed-exitcode`` keeps 2 for "changes", so there every error exits 1,
    usage errors included (click's own as well as nexspec's).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["nexspec.detailed"] = args[:1] == ["plan"] and "--detailed-exitcode" in args
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        detailed = bool(ctx.meta.get("nexspec.detailed"))
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            if not detailed:
                raise
            exc.show()
            ctx.exit(EXIT_ERROR)
        except SpecError as exc:
            _echo_err(views.format_diagnostics_text(exc.diagnostics, prefix=_prefix(ctx)))
            _echo_err(f"error: {exc}")
            ctx.exit(EXIT_ERROR if detailed else exc.exit_code)
        except NexspecError as exc:
            _echo_err(f"error: {exc}")
            ctx.exit(EXIT_ERROR if detailed and exc.exit_code == EXIT_USAGE else exc.exit_code)
        except KeyboardInterrupt:
            _echo_err("interrupted")
            ctx.exit(EXIT_INTERRUPTED)


def _echo_err(text: str) -> None:
    if text:
        click.echo(text, err=True)


def _prefix(ctx: click.Context) -> str:
    """How to get from the working directory to the project, so printed paths are clickable."""
    project = ctx.meta.get("nexspec.project")
    if not isinstance(project, Path):
        return ""
    try:
        relative = project.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return f"{project.resolve()}/"
    return "" if str(relative) == "." else f"{relative.as_posix()}/"


def _project(ctx: click.Context, path: Path) -> Path:
    from nexspec.spec import find_project

    root = find_project(path)
    ctx.meta["nexspec.project"] = root
    return root


@click.group(cls=NexspecGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nexspec")
def cli() -> None:
    """Declarative, reviewable render specs for Nexrender Cloud.

    \b
    Exit codes: 0 success, 1 error (invalid specs, API or render failure),
    2 usage error, 130 interrupted.
    """


@cli.command()
@PROJECT
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.pass_context
def validate(ctx: click.Context, project: Path, fmt: str, strict: bool) -> None:
    """Check specs, Jinja and templates offline (0 valid, 1 invalid, 2 usage error)."""
    from nexspec.commands.validate import validate_project

    root = _project(ctx, project)
    result = validate_project(root, environ=os.environ)
    prefix = _prefix(ctx)
    diagnostics = result.diagnostics
    if fmt == "json":
        click.echo(views.format_diagnostics_json(diagnostics, prefix=prefix, strict=strict))
    elif fmt == "github":
        _echo_lines(views.format_diagnostics_github(diagnostics, prefix=prefix))
    else:
        _echo_err(views.format_diagnostics_text(diagnostics, prefix=prefix))
        jobs, templates = len(result.jobs), len(result.templates)
        click.echo(
            views.format_validation_summary(diagnostics, templates=templates, jobs=jobs, strict=strict)
        )
    ctx.exit(0 if result.ok(strict=strict) else 1)


def _echo_lines(text: str) -> None:
    if text:
        click.echo(text)


@cli.command()
@PROJECT
@click.option("--job", "job", metavar="NAME", help="Only this job.")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default="json", show_default=True)
@click.pass_context
def render(ctx: click.Context, project: Path, job: str | None, fmt: str) -> None:
    """Print the resolved job payloads, exactly what would be submitted."""
    from nexspec.commands.render import render_payloads

    payloads = render_payloads(_project(ctx, project), environ=os.environ, job=job)
    if fmt == "yaml":
        import yaml

        click.echo(yaml.safe_dump(payloads, sort_keys=False, allow_unicode=True), nl=False)
    else:
        click.echo(json.dumps(payloads, indent=2, ensure_ascii=False))


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def inspect(file: Path, fmt: str) -> None:
    """Show a template's compositions and layers (.aep, .zip, .mogrt, Lottie .json or a folder)."""
    from nexspec.commands.inspect import inspect_template

    info = inspect_template(file)
    if fmt == "json":
        click.echo(json.dumps(info.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(views.format_template_info(info, title=file.name))


@cli.command()
@click.argument("which", type=click.Choice(["spec", "job", "lock"]), default="spec")
def schema(which: str) -> None:
    """Print a JSON Schema: the spec format (default), the Cloud job payload, or the lock file."""
    from nexspec import schemas

    name = {"spec": schemas.SPEC_SCHEMA, "job": schemas.JOB_SCHEMA, "lock": schemas.LOCK_SCHEMA}[which]
    click.echo(schemas.schema_text(name), nl=False)


BACKEND = click.option(
    "--backend",
    type=click.Choice(["cloud", "local"]),
    help="cloud: NEXRENDER_API_KEY at --api-url; local: the embedded backend. "
    "Default: cloud when NEXRENDER_API_KEY is set, else local.",
)
API_URL = click.option(
    "--api-url",
    metavar="URL",
    help="API base URL (default $NEXRENDER_BASE_URL or https://api.nexrender.com/api/v2).",
)
SELECT = click.option(
    "--select",
    "select",
    multiple=True,
    metavar="PATTERN",
    help="Only jobs matching: a name glob, template:NAME or tag:NAME.",
)
EXCLUDE = click.option(
    "--exclude", "exclude", multiple=True, metavar="PATTERN", help="Leave out jobs matching PATTERN."
)
REPLACE = click.option(
    "--replace", "replace", multiple=True, metavar="NAME", help="Render this job again even if unchanged."
)
PRUNE = click.option("--prune", is_flag=True, help="Delete templates no longer in the specs (orphaned).")


def _verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        import logging

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        logger = logging.getLogger("nexspec")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    return value


VERBOSE = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    callback=_verbose,
    expose_value=False,
    is_eager=True,
    help="Log every request (never a secret).",
)


def _choice(backend: str | None, api_url: str | None) -> Any:
    from nexspec.backend import choose_backend

    choice = choose_backend(backend=backend, api_url=api_url, environ=os.environ)
    if choice.announcement:
        _echo_err(choice.announcement)
    return choice


@cli.command()
@PROJECT
@BACKEND
@API_URL
@click.option(
    "--refresh", is_flag=True, help="Also ask the backend about what the lock records (shows drift)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True
)
@click.option(
    "--out", "out", type=click.Path(path_type=Path), help="Save the plan for `nexspec apply PLANFILE`."
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0 for no changes, 2 for changes, 1 for any error."
)
@SELECT
@EXCLUDE
@REPLACE
@PRUNE
@click.option("--all", "show_all", is_flag=True, help="List unchanged templates and jobs too.")
@VERBOSE
@click.pass_context
def plan(
    ctx: click.Context,
    project: Path,
    backend: str | None,
    api_url: str | None,
    refresh: bool,
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    replace: tuple[str, ...],
    prune: bool,
    show_all: bool,
) -> None:
    """Show which templates would upload and which videos would render, and why."""
    from nexspec.backend import connect
    from nexspec.commands.apply import save_plan
    from nexspec.commands.plan import plan_project
    from nexspec.plan import Selection
    from nexspec.tracking import snapshot

    root = _project(ctx, project)
    choice = _choice(backend, api_url)
    kwargs: dict[str, Any] = {
        "environ": os.environ,
        "selection": Selection(select, exclude),
        "replace": frozenset(replace),
        "prune": prune,
    }
    if refresh:
        with connect(choice, root, os.environ) as connection:
            planned = plan_project(root, choice, refresh=lambda b: snapshot(connection.client, b), **kwargs)
    else:
        planned = plan_project(root, choice, **kwargs)
    if out is not None:
        save_plan(planned, out)
    if fmt == "json":
        click.echo(views.format_plan_json(planned.plan))
    elif fmt == "markdown":
        click.echo(views.format_plan_markdown(planned.plan), nl=False)
    else:
        click.echo(views.format_plan_text(planned.plan, verbose=show_all))
    if detailed_exitcode and planned.plan.has_changes:
        ctx.exit(2)


@cli.command()
@click.argument("target", default=".", type=click.Path(path_type=Path), metavar="[PROJECT | PLANFILE]")
@BACKEND
@API_URL
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--parallelism", type=click.IntRange(1, 64), default=8, show_default=True, help="Parallel requests."
)
@click.option(
    "--download",
    "download",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Save each output as DIR/<job>.<ext>.",
)
@click.option("--no-wait", is_flag=True, help="Submit and return; `nexspec status` reports later.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Stop waiting after this long (exit 1).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--force-unlock", is_flag=True, help="Break a stale apply lock left by another apply, then apply."
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="SECONDS",
    help="Wait this long for another apply's lock.",
)
@SELECT
@EXCLUDE
@REPLACE
@PRUNE
@click.option("--faults", hidden=True, help="Local backend only: inject faults (see docs/local-backend.md).")
@click.option("--render-fast", is_flag=True, hidden=True, help="Local backend only: one-frame renders.")
@click.option(
    "--workers", type=click.IntRange(1, 64), hidden=True, help="Local backend only: render processes."
)
@VERBOSE
@click.pass_context
def apply(ctx: click.Context, /, target: Path, **options: Any) -> None:
    """Upload changed templates, submit changed jobs and track them to the end."""
    from nexspec.commands.apply import apply_project, resolve_target

    root, plan_file = resolve_target(target)
    ctx.meta["nexspec.project"] = root
    if options["force_unlock"]:
        _force_unlock(root)
    request = _apply_request(root, plan_file, options)
    sink = _sink(options["fmt"])
    try:
        outcome = apply_project(
            request,
            environ=os.environ,
            confirm=lambda p: _confirm(options["yes"], options["fmt"]),
            on_plan=lambda p: _show_plan(p, options["fmt"], sink),
            emit=sink,
        )
    finally:
        sink.close()
    _finish(outcome, options["fmt"], sink)


def _force_unlock(root: Path) -> None:
    from nexspec.commands.validate import state_dir
    from nexspec.lockfile import force_unlock

    holder = force_unlock(state_dir(root))
    _echo_err(f"apply lock released (it was held by {holder})" if holder else "no apply lock was held")


def _apply_request(root: Path, plan_file: Path | None, options: dict[str, Any]) -> Any:
    from nexspec.apply import ApplyOptions
    from nexspec.commands.apply import ApplyRequest
    from nexspec.plan import Selection

    return ApplyRequest(
        root=root,
        choice=_choice(options["backend"], options["api_url"]),
        plan_file=plan_file,
        selection=Selection(options["select"], options["exclude"]),
        replace=frozenset(options["replace"]),
        prune=options["prune"],
        options=ApplyOptions(
            parallelism=options["parallelism"], wait=not options["no_wait"], timeout=options["timeout"]
        ),
        download_dir=options["download"].resolve() if options["download"] is not None else None,
        lock_timeout=options["lock_timeout"],
        faults=options["faults"],
        render_fast=options["render_fast"],
        workers=options["workers"],
    )


def _sink(fmt: str) -> Any:
    from nexspec.progress import progress_sink

    terminal = sys.stderr.isatty() and not os.environ.get("CI")
    return progress_sink(fmt, terminal=terminal, stdout=sys.stdout, stderr=sys.stderr)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty() and not os.environ.get("CI")


def _confirm(yes: bool, fmt: str) -> bool:
    if yes or not _interactive() or fmt == "json":
        return True
    return click.confirm("Apply this plan?", default=False, err=True)


def _show_plan(plan: Any, fmt: str, sink: Any) -> None:
    from nexspec.progress import LiveDisplay, jobs_to_watch

    if fmt == "json":
        from nexspec.plan import plan_to_json

        sink.emit({"type": "plan", "plan": plan_to_json(plan)})
    else:
        _echo_err(views.format_plan_text(plan))
    if isinstance(sink, LiveDisplay):
        sink.expect(jobs_to_watch(plan))


def _finish(outcome: Any, fmt: str, sink: Any) -> None:
    from nexspec.apply import raise_for

    if outcome.result is None:
        message = "Nothing to do: every job is up to date."
        if fmt == "json":
            sink.emit({"type": "summary", "message": message, "ok": True})
        else:
            click.echo(message)
        return
    if fmt == "json":
        result = outcome.result
        sink.emit(
            {
                "type": "summary",
                "ok": result.ok,
                "finished": list(result.finished),
                "failed": [{"job": f.name, "error": f.error, "hint": f.hint} for f in result.failed],
                "running": list(result.running),
            }
        )
    else:
        click.echo(views.format_apply_summary(outcome.result))
    raise_for(outcome.result)


@cli.command()
@PROJECT
@BACKEND
@API_URL
@VERBOSE
@click.pass_context
def status(ctx: click.Context, project: Path, backend: str | None, api_url: str | None) -> None:
    """Refresh the lock from the backend and show every job."""
    from nexspec.commands.status import refresh_status

    root = _project(ctx, project)
    report = refresh_status(root, _choice(backend, api_url), environ=os.environ)
    if report.holder:
        _echo_err(views.format_holder(report.holder))
    click.echo(views.format_status(report.jobs, backend=report.backend))


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback is announced loudly.",
)
@click.option("--port", type=int, default=8765, show_default=True)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Data directory (default: ~/.local/share/nexspec/server).",
)
@click.option(
    "--token",
    envvar="NEXSPEC_SERVE_TOKEN",
    default=None,
    help="API token to require (default: $NEXSPEC_SERVE_TOKEN, else one kept in the data dir).",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Render processes (default: the CPU count)."
)
@click.option(
    "--faults",
    metavar="SPEC",
    default=None,
    help="Inject faults into /api, e.g. latency=25ms,error_rate=0.1,throttle_rate=0.05,drop_rate=0.02.",
)
@click.option("--render-fast", is_flag=True, help="Render one frame per job (for benchmarks).")
@click.option(
    "--max-upload-bytes",
    type=click.IntRange(min=1),
    default=None,
    help="Largest template upload accepted (default: 2 GiB).",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    data_dir: Path | None,
    token: str | None,
    workers: int | None,
    faults: str | None,
    render_fast: bool,
    max_upload_bytes: int | None,
) -> None:
    """Run the local backend: the Nexrender Cloud API, rendering on this machine."""
    from nexspec.commands.serve import serve as run_server

    code = run_server(
        host=host,
        port=port,
        data_dir=data_dir,
        token=token,
        workers=workers,
        faults=faults,
        render_fast=render_fast,
        max_upload_bytes=max_upload_bytes,
        echo=click.echo,
        warn=_echo_err,
    )
    ctx.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script and ``python -m nexspec``)."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="nexspec", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
