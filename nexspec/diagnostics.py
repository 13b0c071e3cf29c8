"""Diagnostics: one problem found in a spec, a data file or a template, with where it is.

Every check in nexspec reports ``Diagnostic`` values instead of raising, so that a
run can collect every problem and fail once.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a file: path relative to the project root, 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        if not self.column:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem: severity, where, which field, what is wrong and how to fix it."""

    severity: Severity
    summary: str
    location: Location | None = None
    field: str = ""
    hint: str = ""
    detail: str = ""


def error(
    summary: str,
    location: Location | None = None,
    field: str = "",
    hint: str = "",
    detail: str = "",
) -> Diagnostic:
    return Diagnostic("error", summary, location, field, hint, detail)


def warning(
    summary: str,
    location: Location | None = None,
    field: str = "",
    hint: str = "",
    detail: str = "",
) -> Diagnostic:
    return Diagnostic("warning", summary, location, field, hint, detail)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ``did you mean 'x'?`` hint for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f"did you mean '{close[0]}'?" if close else ""


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    loc = d.location or Location("")
    return (loc.file, loc.line, loc.column, d.summary)
