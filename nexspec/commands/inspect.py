"""``nexspec inspect``: what a template file holds, without a project."""

from __future__ import annotations

from pathlib import Path

from nexspec.errors import UsageError
from nexspec.introspect import introspect
from nexspec.pack import template_kind
from nexspec.templateinfo import TemplateInfo


def inspect_template(path: Path) -> TemplateInfo:
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    return introspect(path, template_kind(path))
