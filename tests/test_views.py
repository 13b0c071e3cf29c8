"""Diagnostics as text, GitHub workflow commands and JSON, and the validation summary line."""

from __future__ import annotations

import json

import pytest

from nexspec.diagnostics import Diagnostic, Location, error, warning
from nexspec.views import (
    DIAGNOSTICS_FORMAT_VERSION,
    diagnostics_document,
    format_diagnostics_github,
    format_diagnostics_json,
    format_diagnostics_text,
    format_validation_summary,
)

LAYER = error(
    "layer 'titel' not found in composition 'main'",
    Location("nexspec.yaml", 12, 33),
    field="jobs.teaser.assets[0].layerName",
    hint="did you mean 'title'?",
)
ROW = error(
    "row 2 of data.csv has no column 'cty' (columns: city, slug)",
    Location("specs/cities.yaml", 4, 47),
    field="jobs.city-{{ row.slug }}.assets[0].value",
    detail="in nexspec.yaml:4:3, row 2 of data.csv (line 3)\nsecond line",
)
LINT = warning("'__MACOSX/' is macOS debris; remove it from the archive", Location("templates/promo.zip"))
CAP = error("2 more problem(s) in job 'x' not shown")
DIAGNOSTICS = [
    ROW,
    LAYER,
    LINT,
    CAP,
    error("duplicate key 'a' (first defined at line 1)", Location("nexspec.yaml", 3, 1)),
]


# --- text -------------------------------------------------------------------------------------


def test_text_lists_problems_in_file_order_with_hints_and_details() -> None:
    assert format_diagnostics_text(DIAGNOSTICS) == "\n".join(
        [
            "nexspec: error: 2 more problem(s) in job 'x' not shown",
            "nexspec.yaml:3:1: error: duplicate key 'a' (first defined at line 1)",
            "nexspec.yaml:12:33: error: layer 'titel' not found in composition 'main' "
            "[jobs.teaser.assets[0].layerName]",
            "  hint: did you mean 'title'?",
            "specs/cities.yaml:4:47: error: row 2 of data.csv has no column 'cty' (columns: city, slug) "
            "[jobs.city-{{ row.slug }}.assets[0].value]",
            "  in nexspec.yaml:4:3, row 2 of data.csv (line 3)",
            "  second line",
            "templates/promo.zip: warning: '__MACOSX/' is macOS debris; remove it from the archive",
        ]
    )


def test_text_paths_get_the_prefix() -> None:
    assert format_diagnostics_text(
        [LAYER, CAP, error("x", Location("nexspec.yaml", 7))], prefix="project/"
    ) == (
        "nexspec: error: 2 more problem(s) in job 'x' not shown\n"
        "project/nexspec.yaml:7: error: x\n"
        "project/nexspec.yaml:12:33: error: layer 'titel' not found in composition 'main' "
        "[jobs.teaser.assets[0].layerName]\n"
        "  hint: did you mean 'title'?"
    )


def test_no_problems_is_no_text() -> None:
    assert format_diagnostics_text([]) == ""
    assert format_diagnostics_github([]) == ""


# --- GitHub -----------------------------------------------------------------------------------


def test_github_annotations() -> None:
    assert format_diagnostics_github(DIAGNOSTICS, prefix="project/").splitlines() == [
        "::error::2 more problem(s) in job 'x' not shown",
        "::error file=project/nexspec.yaml,line=3,col=1::duplicate key 'a' (first defined at line 1)",
        "::error file=project/nexspec.yaml,line=12,col=33,title=jobs.teaser.assets[0].layerName::"
        "layer 'titel' not found in composition 'main' (did you mean 'title'?)",
        "::error file=project/specs/cities.yaml,line=4,col=47,"
        "title=jobs.city-{{ row.slug }}.assets[0].value::"
        "row 2 of data.csv has no column 'cty' (columns: city, slug)",
        "::warning file=project/templates/promo.zip::'__MACOSX/' is macOS debris; remove it from the archive",
    ]


@pytest.mark.parametrize(
    ("diagnostic", "line"),
    [
        (error("100% done\r\nnext line"), "::error::100%25 done%0D%0Anext line"),
        (error("a ::b stays", Location("nexspec.yaml")), "::error file=nexspec.yaml::a ::b stays"),
        (error("x ::y", field="jobs.a"), "::error title=jobs.a::x ::y"),
        (error("m", Location("odd,name:1.yaml", 2), field="jobs.a, b: c"),
         "::error file=odd%2Cname%3A1.yaml,line=2,title=jobs.a%2C b%3A c::m"),
        (warning("w", hint="50% of it"), "::warning::w (50%25 of it)"),
    ],
    ids=["data-escapes", "double-colon-in-message", "title-only", "property-escapes", "hint"],
)  # fmt: skip
def test_github_escaping(diagnostic: Diagnostic, line: str) -> None:
    assert format_diagnostics_github([diagnostic]) == line


# --- JSON -------------------------------------------------------------------------------------


def test_json_document() -> None:
    document = json.loads(format_diagnostics_json([LAYER, CAP, LINT], prefix="project/"))
    assert document == {
        "format_version": DIAGNOSTICS_FORMAT_VERSION,
        "valid": False,
        "error_count": 2,
        "warning_count": 1,
        "diagnostics": [
            {"severity": "error", "summary": "2 more problem(s) in job 'x' not shown", "detail": "",
             "field": "", "hint": "", "range": {"filename": "", "start": {"line": 0, "column": 0},
                                   "end": {"line": 0, "column": 0}}},
            {"severity": "error", "summary": "layer 'titel' not found in composition 'main'", "detail": "",
             "field": "jobs.teaser.assets[0].layerName", "hint": "did you mean 'title'?",
             "range": {"filename": "project/nexspec.yaml", "start": {"line": 12, "column": 33},
                       "end": {"line": 12, "column": 33}}},
            {"severity": "warning", "summary": "'__MACOSX/' is macOS debris; remove it from the archive",
             "detail": "", "field": "", "hint": "",
             "range": {"filename": "project/templates/promo.zip", "start": {"line": 0, "column": 0},
                       "end": {"line": 0, "column": 0}}},
        ],
    }  # fmt: skip


def test_json_keeps_text_as_written() -> None:
    text = format_diagnostics_json([error("café ≠ cafe", Location("ünïcode.yaml", 1, 1))])
    assert "café ≠ cafe" in text and "ünïcode.yaml" in text
    assert text.startswith('{\n  "format_version": "1.0",\n')


@pytest.mark.parametrize(
    ("diagnostics", "strict", "valid"),
    [
        ([], False, True),
        ([], True, True),
        ([LINT], False, True),
        ([LINT], True, False),
        ([LAYER], False, False),
    ],
    ids=["none", "none-strict", "warning", "warning-strict", "error"],
)
def test_json_validity(diagnostics: list[Diagnostic], strict: bool, valid: bool) -> None:
    assert diagnostics_document(diagnostics, strict=strict)["valid"] is valid


# --- summary ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("diagnostics", "templates", "jobs", "strict", "line"),
    [
        ([], 1, 1, False, "valid: 1 template, 1 job"),
        ([], 2, 1200, False, "valid: 2 templates, 1,200 jobs"),
        ([], 0, 0, True, "valid: 0 templates, 0 jobs"),
        ([LINT], 1, 2, False, "valid: 1 template, 2 jobs (1 warning)"),
        ([LINT, LINT], 1, 2, True, "invalid: 0 errors, 2 warnings"),
        ([LAYER], 1, 2, False, "invalid: 1 error, 0 warnings"),
        ([LAYER, ROW, LINT], 1, 2, False, "invalid: 2 errors, 1 warning"),
    ],
    ids=["one", "thousands", "none", "warning", "strict", "error", "errors-and-warning"],
)
def test_validation_summary(
    diagnostics: list[Diagnostic], templates: int, jobs: int, strict: bool, line: str
) -> None:
    assert format_validation_summary(diagnostics, templates=templates, jobs=jobs, strict=strict) == line
