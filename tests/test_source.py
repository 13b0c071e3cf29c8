"""Reading spec and data files: safe YAML with positions, and CSV/JSON/YAML row tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexspec.diagnostics import Diagnostic, Location
from nexspec.errors import SpecError
from nexspec.payload import JsonValue
from nexspec.source import (
    ALIAS_EXPANSION_ALLOWANCE,
    ALIAS_EXPANSION_FACTOR,
    Document,
    Row,
    load_rows,
    load_yaml,
    parse_yaml,
    rows_from_list,
)

Found = list[tuple[str, Location, str]]

BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""
PLAIN_YAML_HINT = "specs use plain YAML: mappings, lists, strings, numbers, booleans, null"
DUPLICATE_HINT = "each key may appear once in a mapping"


def problems(error: pytest.ExceptionInfo[SpecError]) -> Found:
    return [(d.summary, d.location or Location(""), d.hint) for d in error.value.diagnostics]


def yaml_problems(text: str) -> Found:
    with pytest.raises(SpecError) as caught:
        parse_yaml(text, "spec.yaml")
    return problems(caught)


def at(line: int, column: int = 0, file: str = "spec.yaml") -> Location:
    return Location(file, line, column)


# --- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("a: 1\nb: [x, 2.5, true, null]\n", {"a": 1, "b": ["x", 2.5, True, None]}),
        ("on: 1\n1: a\nyes: b\nnull: c\n1.5: d\n~: e\n", {"on": 1, "1": "a", "yes": "b", "null": "c",
                                                          "1.5": "d", "~": "e"}),
        ("when: 2024-01-01\nhex: 0x10\nno: no\n", {"when": "2024-01-01", "hex": 16, "no": False}),
        ("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n", {"base": {"x": 1, "y": 2}, "d": {"x": 1, "y": 3}}),
        ("x: &x {a: 1}\ny: &y {a: 2, b: 2}\nz:\n  <<: [*x, *y]\n  c: 3\n",
         {"x": {"a": 1}, "y": {"a": 2, "b": 2}, "z": {"a": 1, "b": 2, "c": 3}}),
        ("s: &s hello\nt: *s\n", {"s": "hello", "t": "hello"}),
        ("- 1\n- 2\n", [1, 2]),
        ("\ufeffa: 1\n", {"a": 1}),
        ("---\na: 1\n...\n", {"a": 1}),
    ],
    ids=["scalars", "keys-stay-text", "timestamps-as-text", "merge-key", "merge-list-first-wins",
         "alias", "top-level-list", "byte-order-mark", "document-markers"],
)  # fmt: skip
def test_yaml_values(text: str, data: object) -> None:
    assert parse_yaml(text, "spec.yaml").data == data


def test_merge_key_values_are_located_where_they_are_written() -> None:
    document = parse_yaml("base: &b\n  x: 1\nd:\n  <<: *b\n  y: 3\n", "spec.yaml")
    assert document.location(("d", "x")) == at(2, 6)
    assert document.location(("d", "y")) == at(5, 6)


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a: 1\nb: 2\na: 3\n",
         [("duplicate key 'a' (first defined at line 1)", at(3, 1), DUPLICATE_HINT)]),
        ("jobs:\n  x:\n    template: a\n    template: b\n",
         [("duplicate key 'template' (first defined at line 3)", at(4, 5), DUPLICATE_HINT)]),
        ("a: !!python/object:os.system {}\n",
         [("unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system'", at(1, 4), PLAIN_YAML_HINT)]),
        ("a: !!python/object/apply:os.system ['echo pwned']\n",
         [("unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'", at(1, 4),
           PLAIN_YAML_HINT)]),
        ("a: !!python/name:os.system\n",
         [("unsupported YAML tag 'tag:yaml.org,2002:python/name:os.system'", at(1, 4), PLAIN_YAML_HINT)]),
        ("a: !custom x\n", [("unsupported YAML tag '!custom'", at(1, 4), PLAIN_YAML_HINT)]),
        ("a: !!binary aGVsbG8=\n", [("unsupported YAML tag 'tag:yaml.org,2002:binary'", at(1, 4),
                                     PLAIN_YAML_HINT)]),
        ("a: !!set {x}\n", [("unsupported YAML tag 'tag:yaml.org,2002:set'", at(1, 4), PLAIN_YAML_HINT)]),
        ("a: !!omap [{x: 1}]\n", [("unsupported YAML tag 'tag:yaml.org,2002:omap'", at(1, 4),
                                   PLAIN_YAML_HINT)]),
        ("a: 1\n---\nb: 2\n", [("holds more than one YAML document", at(3), "")]),
        ("a: 1\n---\n", [("holds more than one YAML document", at(3), "")]),
        ("? [a, b]\n: 1\n", [("mapping keys must be plain text", at(1, 3), "")]),
        ("y:\n  <<: [1]\n", [("'<<' merges only mappings", at(2, 8), "")]),
        ("a: .nan\n", [("NaN is not a valid value", at(1, 4), "")]),
        ("a:\n  - -.inf\n", [("infinity is not a valid value", at(2, 5), "")]),
        ("a: [1, 2\n", [("invalid YAML: while parsing a flow sequence: did not find expected ',' or ']'",
                         at(2, 1), "")]),
        ("a: b: c\n", [("invalid YAML: mapping values are not allowed in this context", at(1, 5), "")]),
        ("a: *nowhere\n", [("invalid YAML: found undefined alias", at(1, 4), "")]),
        ("", [("file is empty", at(0), "")]),
        ("# only a comment\n", [("file is empty", at(0), "")]),
    ],
    ids=["duplicate-key", "nested-duplicate-key", "python-object", "python-apply", "python-name",
         "local-tag", "binary", "set", "omap", "multi-document", "empty-second-document", "complex-key",
         "merge-scalar", "nan", "infinity", "syntax", "nested-mapping-value", "undefined-alias", "empty",
         "comment-only"],
)  # fmt: skip
def test_yaml_refusals(text: str, found: Found) -> None:
    assert yaml_problems(text) == found


def test_billion_laughs_fails_with_a_located_message() -> None:
    assert yaml_problems(BILLION_LAUGHS) == [
        (
            "YAML aliases expand to too many nodes (a 'billion laughs' document?)",
            at(1, 8),
            "use fewer nested aliases",
        )
    ]


def _fanout(copies: int) -> str:
    # 12 distinct nodes: the root mapping, two sequences and the nine scalars of `a`.
    return "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: [" + ", ".join(["*a"] * copies) + "]\n"


@pytest.mark.parametrize(("copies", "ok"), [(1010, True), (1011, False)])
def test_alias_expansion_is_bounded_by_the_documents_own_size(copies: int, ok: bool) -> None:
    """12 distinct nodes may expand to 10 × 12 + 10,000 nodes; each `*a` adds 10 (the list and its items).

    Visited: the root, `a` and its 9 items, `b`, then 10 per copy: 12 + 10 × copies.
    """
    limit = ALIAS_EXPANSION_FACTOR * 12 + ALIAS_EXPANSION_ALLOWANCE
    assert (12 + 10 * copies <= limit) is ok
    if ok:
        data = parse_yaml(_fanout(copies), "spec.yaml").data
        assert isinstance(data, dict) and isinstance(data["b"], list) and len(data["b"]) == copies
    else:
        assert yaml_problems(_fanout(copies))[0][0].startswith("YAML aliases expand to too many nodes")


# --- files ------------------------------------------------------------------------------------


def _write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (b"a: 1\nb: caf\xe9\n", [("file is not UTF-8: invalid byte 0xe9", at(2, file="nexspec.yaml"), "")]),
        (b"\xff\xfe", [("file is not UTF-8: invalid byte 0xff", at(1, file="nexspec.yaml"), "")]),
        (b"", [("file is empty", at(0, file="nexspec.yaml"), "")]),
        (b"  \n\t\n", [("file is empty", at(0, file="nexspec.yaml"), "")]),
        (b"a: " + b"x" * 200 + b"\n",
         [("file is 204 bytes, over the 100-byte limit", at(0, file="nexspec.yaml"), "")]),
    ],
    ids=["latin-1", "utf-16-bom", "empty", "blank", "oversized"],
)  # fmt: skip
def test_load_yaml_refuses_unreadable_files(tmp_path: Path, data: bytes, found: Found) -> None:
    path = _write(tmp_path / "nexspec.yaml", data)
    with pytest.raises(SpecError) as caught:
        load_yaml(path, "nexspec.yaml", max_bytes=100)
    assert problems(caught) == found


def test_load_yaml_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_yaml(tmp_path / "absent.yaml", "absent.yaml")
    assert problems(caught) == [("file not found", at(0, file="absent.yaml"), "")]
    (tmp_path / "folder.yaml").mkdir()
    with pytest.raises(SpecError) as caught:
        load_yaml(tmp_path / "folder.yaml", "folder.yaml")
    assert problems(caught) == [("is a directory, not a file", at(0, file="folder.yaml"), "")]


def test_default_limit_refuses_an_oversized_spec(tmp_path: Path) -> None:
    path = _write(tmp_path / "big.yaml", "a: " + "x" * (4 * 1024 * 1024) + "\n")
    with pytest.raises(SpecError) as caught:
        load_yaml(path, "big.yaml")
    assert problems(caught) == [
        ("file is 4194308 bytes, over the 4194304-byte limit", at(0, file="big.yaml"), "")
    ]


# --- positions --------------------------------------------------------------------------------


def test_document_locations() -> None:
    document = parse_yaml("jobs:\n  teaser:\n    template: promo\n    assets: []\n", "nexspec.yaml")
    assert document.location(("jobs", "teaser")) == at(3, 5, "nexspec.yaml")
    assert document.location(("jobs", "teaser"), key=True) == at(2, 3, "nexspec.yaml")
    assert document.location(("jobs", "teaser", "template")) == at(3, 15, "nexspec.yaml")
    assert document.location(("jobs", "teaser", "assets", 4, "value")) == at(4, 13, "nexspec.yaml")
    assert document.location(("nothing",), key=True) == at(1, 1, "nexspec.yaml")
    assert Document("rows.json", []).location((0,)) == Location("rows.json")


def test_block_scalar_text_is_located_on_the_line_after_its_indicator() -> None:
    document = parse_yaml("a: |\n  first\n  second\nb: >\n  folded\n", "spec.yaml")
    assert document.location(("a",)) == at(2)
    assert document.location(("b",)) == at(5)
    assert document.location(("a",), key=True) == at(1, 1)


# --- row tables -------------------------------------------------------------------------------


def rows(tmp_path: Path, name: str, data: str | bytes) -> list[tuple[dict[str, object], Location, int]]:
    return [(dict(r.values), r.location, r.number) for r in load_rows(_write(tmp_path / name, data), name)]


def row_problems(tmp_path: Path, name: str, data: str | bytes) -> Found:
    with pytest.raises(SpecError) as caught:
        load_rows(_write(tmp_path / name, data), name)
    return problems(caught)


def test_csv_rows_keep_their_line_numbers(tmp_path: Path) -> None:
    text = '\ufeffcity , slug\nLisbon,lisbon\n\n"Port\no",porto\n, \nOslo,oslo\n'
    assert rows(tmp_path, "cities.csv", text) == [
        ({"city": "Lisbon", "slug": "lisbon"}, Location("cities.csv", 2), 1),
        ({"city": "Port\no", "slug": "porto"}, Location("cities.csv", 4), 2),
        ({"city": "Oslo", "slug": "oslo"}, Location("cities.csv", 7), 3),
    ]


def test_csv_cells_are_data(tmp_path: Path) -> None:
    assert rows(tmp_path, "d.csv", "title\n{{ 7*7 }}\n{% raw %}\n") == [
        ({"title": "{{ 7*7 }}"}, Location("d.csv", 2), 1),
        ({"title": "{% raw %}"}, Location("d.csv", 3), 2),
    ]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("city,slug,country\nLisbon\nOslo,oslo,NO\nPorto,porto\n",
         [("row has 1 field(s) but the header has 3: missing slug, country", Location("d.csv", 2), ""),
          ("row has 2 field(s) but the header has 3: missing country", Location("d.csv", 4), "")]),
        ("city,slug\nLisbon,lisbon,PT\n",
         [("row has 3 field(s) but the header has 2", Location("d.csv", 2),
           "quote values that contain commas")]),
        ("city,city\n1,2\n", [("CSV header repeats column(s): city", Location("d.csv", 1), "")]),
        ("city,\n1,2\n", [("CSV header has an empty column name", Location("d.csv", 1), "")]),
        (b"city\nLisbon\n\xff\n", [("file is not UTF-8: invalid byte 0xff", Location("d.csv", 3), "")]),
        ("\n \n", [("file is empty", Location("d.csv"), "")]),
    ],
    ids=["missing-fields", "extra-field", "repeated-column", "empty-column", "not-utf8", "empty"],
)  # fmt: skip
def test_csv_refusals(tmp_path: Path, text: str | bytes, found: Found) -> None:
    assert row_problems(tmp_path, "d.csv", text) == found


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("rows.json", '[{"slug": "a", "n": 1}, {"slug": "b", "n": 2}]'),
        ("rows.yaml", "- {slug: a, n: 1}\n- {slug: b, n: 2}\n"),
        ("rows.YML", "- slug: a\n  n: 1\n- slug: b\n  n: 2\n"),
    ],
)
def test_json_and_yaml_rows(tmp_path: Path, name: str, text: str) -> None:
    found = rows(tmp_path, name, text)
    assert [(values, number) for values, _, number in found] == [
        ({"slug": "a", "n": 1}, 1),
        ({"slug": "b", "n": 2}, 2),
    ]


def test_yaml_rows_are_located(tmp_path: Path) -> None:
    found = rows(tmp_path, "rows.yaml", "- {slug: a}\n- slug: b\n")
    assert [location for _, location, _ in found] == [
        Location("rows.yaml", 1, 3),
        Location("rows.yaml", 2, 3),
    ]


@pytest.mark.parametrize(
    ("name", "text", "found"),
    [
        ("rows.json", '[{"a": 1, "a": 2}]', [("invalid JSON: duplicate key 'a'", Location("rows.json"), "")]),
        ("rows.json", '[{"a": 1},\n', [("invalid JSON: Expecting value", Location("rows.json", 2, 1), "")]),
        ("rows.json", '{"a": 1}', [("expected a list of objects", Location("rows.json"), "")]),
        ("rows.json", '[{"a": 1}, 3, "x"]', [("row 2 is not an object", Location("rows.json"), ""),
                                             ("row 3 is not an object", Location("rows.json"), "")]),
        ("rows.yaml", "- {a: 1}\n- just text\n",
         [("row 2 is not an object", Location("rows.yaml", 2, 3), "")]),
        ("rows.yaml", "a: 1\na: 2\n",
         [("duplicate key 'a' (first defined at line 1)", Location("rows.yaml", 2, 1), DUPLICATE_HINT)]),
        ("rows.txt", "a", [("unsupported data file type '.txt'; use .csv, .json, .yaml or .yml",
                            Location("rows.txt"), "")]),
    ],
    ids=["json-duplicate-key", "json-syntax", "json-object", "json-scalars", "yaml-scalar",
         "yaml-duplicate-key", "unsupported-type"],
)  # fmt: skip
def test_json_and_yaml_row_refusals(tmp_path: Path, name: str, text: str, found: Found) -> None:
    assert row_problems(tmp_path, name, text) == found


def test_missing_data_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_rows(tmp_path / "absent.csv", "data/absent.csv")
    assert problems(caught) == [("file not found", Location("data/absent.csv"), "")]


def foreach(document: Document) -> JsonValue:
    assert isinstance(document.data, dict)
    return document.data["foreach"]


def test_inline_rows_are_located_in_their_spec() -> None:
    document = parse_yaml("foreach:\n  - {city: Oslo}\n  - {city: Lisbon}\n", "nexspec.yaml")
    found = rows_from_list(foreach(document), document, ("foreach",))
    assert found == (
        Row({"city": "Oslo"}, Location("nexspec.yaml", 2, 5), 1),
        Row({"city": "Lisbon"}, Location("nexspec.yaml", 3, 5), 2),
    )


def test_rows_from_something_other_than_a_list() -> None:
    document = parse_yaml("foreach: {city: Oslo}\n", "nexspec.yaml")
    with pytest.raises(SpecError) as caught:
        rows_from_list(foreach(document), document, ("foreach",))
    assert caught.value.diagnostics == (
        Diagnostic("error", "expected a list of objects", Location("nexspec.yaml", 1, 10)),
    )
