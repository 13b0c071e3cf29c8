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
from nexspec.errors import EXIT_INTERRUPTED, NexspecError, SpecError

PROJECT = click.argument("project", default=".", type=click.Path(path_type=Path))


class NexspecGroup(click.Group):
    """Turns nexspec's own errors into a message on stderr and their documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SpecError as exc:
            _echo_err(views.format_diagnostics_text(exc.diagnostics, prefix=_prefix(ctx)))
            _echo_err(f"error: {exc}")
            ctx.exit(exc.exit_code)
        except NexspecError as exc:
            _echo_err(f"error: {exc}")
            ctx.exit(exc.exit_code)
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
