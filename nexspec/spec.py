"""The project model: reading ``nexspec.yaml`` and its includes into checked, typed values.

``load_project`` validates every spec file against the JSON Schema, enforces the path
rules (everything stays inside the project) and merges ``defaults`` into each job. It
collects every problem it finds; job expansion (Jinja, ``foreach``) is ``nexspec.jobs``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jsonschema

from nexspec.diagnostics import Diagnostic, Location, did_you_mean, error
from nexspec.errors import SpecError, TemplateError, UsageError
from nexspec.payload import FieldPath, JsonObject, JsonValue, format_path, get_path
from nexspec.schemas import spec_validator
from nexspec.source import Document, load_yaml
from nexspec.templateinfo import TemplateKind

PROJECT_FILE = "nexspec.yaml"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_KIND_BY_SUFFIX = {".aep": TemplateKind.AEP, ".zip": TemplateKind.ZIP, ".mogrt": TemplateKind.MOGRT}


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """A template as declared: where its file is and how it is shown."""

    name: str
    path: Path
    relpath: str
    kind: TemplateKind
    display_name: str
    composition: str | None
    location: Location


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job as written, merged with ``defaults`` but not rendered yet.

    ``body`` is the merged mapping; ``locate`` maps a field path in it back to the spec file
    and line it came from (the job itself, or ``defaults``).
    """

    key: str
    body: Mapping[str, JsonValue]
    document: Document
    path: FieldPath
    defaults: Mapping[str, JsonValue]
    defaults_document: Document | None
    directory: Path

    @property
    def location(self) -> Location:
        return self.document.location(self.path, key=True)

    def locate(self, field: FieldPath) -> Location:
        if _has_path(self.document.data, (*self.path, *field)):
            return self.document.location((*self.path, *field))
        if self.defaults_document is not None and _has_path(self.defaults, field):
            return self.defaults_document.location(("defaults", *field))
        return self.document.location((*self.path, *field))


@dataclass(frozen=True, slots=True)
class Project:
    """A loaded project: every spec file merged into one set of templates and jobs.

    ``invalid_templates`` names the templates declared with a problem (already reported),
    so that jobs using them are not reported again as using an unknown template.
    """

    root: Path
    files: tuple[str, ...]
    vars: Mapping[str, JsonValue]
    env: tuple[str, ...]
    templates: Mapping[str, TemplateSpec]
    jobs: tuple[JobSpec, ...]
    download: str | None
    invalid_templates: frozenset[str] = frozenset()


def find_project(path: Path) -> Path:
    """The project root for a PROJECT argument: a folder holding nexspec.yaml, or that file."""
    if path.is_file() and path.name == PROJECT_FILE:
        return path.parent.resolve()
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    if not (path / PROJECT_FILE).is_file():
        raise UsageError(f"{path}: no {PROJECT_FILE} here; is this a nexspec project?")
    return path.resolve()


def load_project(
    root: Path, environ: Mapping[str, str] | None = None
) -> tuple[Project | None, tuple[Diagnostic, ...]]:
    """Read and check every spec file; ``None`` when the project file itself is unusable.

    ``environ`` supplies the declared ``env:`` variables to the Jinja in ``templates:``.
    """
    problems: list[Diagnostic] = []
    main = _read(root / PROJECT_FILE, root, problems, fragment=False)
    if main is None:
        return None, tuple(problems)
    data = main.data
    assert isinstance(data, dict)
    fragments = [main, *_includes(main, root, problems)]
    strings = _Strings(data, environ or {}, problems)
    templates, invalid_templates = _templates(fragments, root, strings, problems)
    defaults = data.get("defaults") or {}
    assert isinstance(defaults, dict)
    jobs = _jobs(fragments, root, defaults, main, problems)
    env = data.get("env") or []
    assert isinstance(env, list)
    vars_ = data.get("vars") or {}
    assert isinstance(vars_, dict)
    download = _download(main, root, problems)
    project = Project(
        root=root,
        files=tuple(doc.file for doc in fragments),
        vars=vars_,
        env=tuple(str(name) for name in env),
        templates=templates,
        jobs=tuple(jobs),
        download=download,
        invalid_templates=frozenset(invalid_templates - templates.keys()),
    )
    return project, tuple(problems)


def require_project(root: Path, environ: Mapping[str, str] | None = None) -> Project:
    """``load_project`` for commands that cannot go on with any problem."""
    project, problems = load_project(root, environ)
    if project is None or any(p.severity == "error" for p in problems):
        raise SpecError(problems)
    return project


def _read(path: Path, root: Path, problems: list[Diagnostic], *, fragment: bool) -> Document | None:
    display = relative_display(path, root)
    try:
        document = load_yaml(path, display)
    except SpecError as exc:
        problems.extend(exc.diagnostics)
        return None
    if not isinstance(document.data, dict):
        problems.append(error("a spec file must be a mapping", document.location(())))
        return None
    schema_problems = schema_diagnostics(document, spec_validator(fragment=fragment))
    problems.extend(schema_problems)
    return None if schema_problems else document


def relative_display(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def schema_diagnostics(document: Document, validator: jsonschema.protocols.Validator) -> list[Diagnostic]:
    """Every schema error in a document, located at its key or value, with a hint."""
    errors = sorted(validator.iter_errors(document.data), key=lambda e: list(map(str, e.absolute_path)))
    return [_schema_diagnostic(document, e) for e in _leaf_errors(errors)]


def _leaf_errors(errors: list[jsonschema.ValidationError]) -> list[jsonschema.ValidationError]:
    # An if/then failure wraps the useful error in its context; report the innermost ones.
    out = []
    for err in errors:
        if err.validator in {"allOf", "anyOf", "oneOf"} and err.context:
            best = jsonschema.exceptions.best_match(err.context)
            out.append(best if best is not None else err)
        else:
            out.append(err)
    return out


def _schema_diagnostic(document: Document, err: jsonschema.ValidationError) -> Diagnostic:
    path: FieldPath = tuple(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        return _unexpected_key(document, err, path)
    return error(
        schema_message(err),
        document.location(path),
        field=format_path(path),
    )


def _unexpected_key(document: Document, err: jsonschema.ValidationError, path: FieldPath) -> Diagnostic:
    allowed = set(err.schema.get("properties", {})) if isinstance(err.schema, dict) else set()
    assert isinstance(err.instance, dict)
    extra = sorted(k for k in err.instance if k not in allowed)
    key = extra[0] if extra else ""
    return error(
        f"unknown field '{key}'",
        document.location((*path, key), key=True),
        field=format_path((*path, key)),
        hint=did_you_mean(key, allowed) or f"allowed here: {', '.join(sorted(allowed))}",
    )


def schema_message(err: jsonschema.ValidationError) -> str:
    """A schema error in the words of the spec rather than of JSON Schema."""
    path = list(err.absolute_path)
    if path and path[-1] == "preview" and err.validator in {"const", "false"}:
        return "preview: true cannot be combined with settings (a preview uses fast settings)"
    if err.validator == "required":
        return str(err.message).replace("is a required property", "is required")
    if err.validator == "enum" and isinstance(err.validator_value, list):
        choices = ", ".join(repr(v) for v in err.validator_value)
        return f"{err.instance!r} is not one of {choices}"
    return str(err.message)


def _includes(main: Document, root: Path, problems: list[Diagnostic]) -> list[Document]:
    assert isinstance(main.data, dict)
    patterns = main.data.get("include") or []
    assert isinstance(patterns, list)
    seen: set[Path] = {(root / PROJECT_FILE).resolve()}
    documents = []
    for index, pattern in enumerate(patterns):
        location = main.location(("include", index))
        for path in _glob(str(pattern), root, location, problems):
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            document = _read(path, root, problems, fragment=True)
            if document is not None:
                documents.append(document)
    return documents


def _glob(pattern: str, root: Path, location: Location, problems: list[Diagnostic]) -> list[Path]:
    if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
        problems.append(error(f"include pattern '{pattern}' leaves the project", location))
        return []
    matches = sorted(p for p in root.glob(pattern) if p.is_file())
    inside = []
    for match in matches:
        if _escapes(match, root):
            problems.append(error(f"'{relative_display(match, root)}' leads out of the project", location))
        else:
            inside.append(match)
    if not matches:
        problems.append(error(f"include pattern '{pattern}' matches no file", location))
    return inside


def _escapes(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return True
    return False


def resolve_path(value: str, base: Path, root: Path) -> tuple[Path, str] | str:
    """A spec path made absolute and project-relative, or the reason it is not allowed.

    Paths are relative to ``base`` (the folder of the file they appear in) and must stay
    inside ``root``, also after following symlinks.
    """
    if not value:
        return "path is empty"
    if os.path.isabs(value) or re.match(r"^[A-Za-z]:[\\/]", value):
        return f"'{value}' is an absolute path; paths are relative to the spec file"
    joined = Path(os.path.normpath(base / value))
    if _escapes_lexically(joined, root):
        return f"'{value}' leads out of the project"
    if joined.exists() and _escapes(joined, root):
        return f"'{value}' leads out of the project through a symlink"
    return joined, joined.relative_to(root).as_posix()


def _escapes_lexically(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return True
    return False


class _Strings:
    """Renders the Jinja in ``templates:`` (only ``vars`` and ``env`` exist there)."""

    def __init__(self, data: JsonObject, environ: Mapping[str, str], problems: list[Diagnostic]) -> None:
        from nexspec.templating import EnvScope, Templating, VarsScope

        env = data.get("env")
        declared = [str(n) for n in env] if isinstance(env, list) else []
        vars_ = data.get("vars") or {}
        self.context = {
            "vars": VarsScope(vars_ if isinstance(vars_, dict) else {}),
            "env": EnvScope({n: environ[n] for n in declared if n in environ}, declared),
        }
        self.templating = Templating()
        self.problems = problems

    def render(self, value: str, document: Document, path: FieldPath) -> str | None:
        from nexspec.templating import TemplateProblem

        try:
            return self.templating.compile(value).render(self.context)
        except TemplateProblem as exc:
            where = document.location(path)
            if exc.line > 1 and where.line:
                where = Location(where.file, where.line + exc.line - 1)
            self.problems.append(error(exc.message, where, field=format_path(path)))
            return None


def _templates(
    documents: list[Document], root: Path, strings: _Strings, problems: list[Diagnostic]
) -> tuple[dict[str, TemplateSpec], set[str]]:
    templates: dict[str, TemplateSpec] = {}
    invalid: set[str] = set()
    for document in documents:
        assert isinstance(document.data, dict)
        declared = document.data.get("templates") or {}
        assert isinstance(declared, dict)
        base = (root / document.file).parent
        for name, body in declared.items():
            assert isinstance(body, dict)
            spec = _template(name, body, document, base, root, strings, problems)
            if spec is None:
                invalid.add(name)
                continue
            if name in templates:
                first = templates[name].location
                problems.append(
                    error(f"template '{name}' is declared twice (first at {first})", spec.location)
                )
                continue
            templates[name] = spec
    return templates, invalid


def _template(
    name: str,
    body: JsonObject,
    document: Document,
    base: Path,
    root: Path,
    strings: _Strings,
    problems: list[Diagnostic],
) -> TemplateSpec | None:
    location = document.location(("templates", name), key=True)
    if not NAME_PATTERN.match(name):
        problems.append(error(f"template name '{name}' may hold only letters, digits, _ . -", location))
        return None
    rendered = {
        key: strings.render(str(body[key]), document, ("templates", name, key))
        for key in ("path", "displayName", "composition")
        if key in body
    }
    if any(value is None for value in rendered.values()):
        return None
    resolved = resolve_path(str(rendered["path"]), base, root)
    path_location = document.location(("templates", name, "path"))
    if isinstance(resolved, str):
        problems.append(error(resolved, path_location, field=f"templates.{name}.path"))
        return None
    path, relpath = resolved
    if not path.exists():
        problems.append(
            error(
                f"template file '{relpath}' not found",
                path_location,
                field=f"templates.{name}.path",
            )
        )
        return None
    try:
        kind = _kind(path, body.get("type"))
    except TemplateError as exc:
        problems.append(error(str(exc), path_location, field=f"templates.{name}.path"))
        return None
    if kind is None:
        problems.append(
            error(
                f"cannot tell the type of template '{relpath}'",
                path_location,
                field=f"templates.{name}.path",
                hint="use a folder, a .aep, .zip, .mogrt or Lottie .json file, or set type:",
            )
        )
        return None
    composition = rendered.get("composition")
    return TemplateSpec(
        name=name,
        path=path,
        relpath=relpath,
        kind=kind,
        display_name=str(rendered.get("displayName") or name),
        composition=str(composition) if composition is not None else None,
        location=location,
    )


def _kind(path: Path, declared: JsonValue) -> TemplateKind | None:
    if isinstance(declared, str):
        return TemplateKind(declared)
    if path.is_dir():
        from nexspec.pack import template_kind

        return template_kind(path)
    if path.suffix.lower() == ".json":
        return TemplateKind.LOTTIE
    return _KIND_BY_SUFFIX.get(path.suffix.lower())


def _jobs(
    documents: list[Document],
    root: Path,
    defaults: JsonObject,
    main: Document,
    problems: list[Diagnostic],
) -> list[JobSpec]:
    jobs = []
    for document in documents:
        assert isinstance(document.data, dict)
        declared = document.data.get("jobs") or {}
        assert isinstance(declared, dict)
        directory = (root / document.file).parent
        for key, body in declared.items():
            assert isinstance(body, dict)
            jobs.append(
                JobSpec(
                    key=key,
                    body=deep_merge(defaults, body),
                    document=document,
                    path=("jobs", key),
                    defaults=defaults,
                    defaults_document=main if defaults else None,
                    directory=directory,
                )
            )
    if not jobs and not problems:
        problems.append(error("the project declares no jobs", main.location(())))
    return jobs


def _download(main: Document, root: Path, problems: list[Diagnostic]) -> str | None:
    assert isinstance(main.data, dict)
    value = main.data.get("download")
    if value is None:
        return None
    resolved = resolve_path(str(value), root, root)
    if isinstance(resolved, str):
        problems.append(error(resolved, main.location(("download",)), field="download"))
        return None
    return resolved[1]


def deep_merge(base: Mapping[str, JsonValue], override: Mapping[str, JsonValue]) -> JsonObject:
    """``override`` on top of ``base``: mappings merge key by key, everything else is replaced."""
    merged: JsonObject = dict(base)
    for key, value in override.items():
        below = merged.get(key)
        if isinstance(value, dict) and isinstance(below, dict):
            merged[key] = deep_merge(below, value)
        else:
            merged[key] = value
    return merged


def _has_path(data: object, path: FieldPath) -> bool:
    try:
        get_path(data, path)
    except (KeyError, IndexError):
        return False
    return True
