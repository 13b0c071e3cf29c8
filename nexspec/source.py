"""Reading spec and data files safely: YAML with positions, and CSV/JSON/YAML row tables.

YAML is composed with PyYAML's safe composer and turned into plain JSON values here, so
that every value and key keeps its line and column, duplicate keys are caught, unknown
tags are refused and alias expansion is bounded (a "billion laughs" file fails after a few
thousand nodes instead of exhausting memory).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nexspec.diagnostics import Diagnostic, Location, error
from nexspec.errors import SpecError
from nexspec.payload import FieldPath, JsonValue

MAX_SPEC_BYTES = 4 * 1024 * 1024
MAX_DATA_BYTES = 64 * 1024 * 1024
# Aliases may repeat a node; a document may expand to this many nodes beyond its own size.
ALIAS_EXPANSION_ALLOWANCE = 10_000
ALIAS_EXPANSION_FACTOR = 10

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    _STR,
}
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


@dataclass(frozen=True, slots=True)
class Mark:
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed file: its JSON data and the position of every value and key in it."""

    file: str
    data: JsonValue
    marks: Mapping[FieldPath, Mark] = field(default_factory=dict)
    key_marks: Mapping[FieldPath, Mark] = field(default_factory=dict)

    def location(self, path: FieldPath, *, key: bool = False) -> Location:
        """Where ``path`` is; falls back to its nearest ancestor that has a position."""
        if key and path in self.key_marks:
            mark = self.key_marks[path]
            return Location(self.file, mark.line, mark.column)
        for end in range(len(path), -1, -1):
            mark_or_none = self.marks.get(path[:end])
            if mark_or_none is not None:
                return Location(self.file, mark_or_none.line, mark_or_none.column)
        return Location(self.file)


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a ``foreach`` table, with where it came from (1-based row number)."""

    values: Mapping[str, JsonValue]
    location: Location
    number: int


def read_text(path: Path, display: str, *, max_bytes: int) -> str:
    """The file's text, refusing missing, oversized, empty and non-UTF-8 files."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            _fail(display, f"file is {size} bytes, over the {max_bytes}-byte limit")
        raw = path.read_bytes()
    except FileNotFoundError:
        _fail(display, "file not found")
    except IsADirectoryError:
        _fail(display, "is a directory, not a file")
    except OSError as exc:
        _fail(display, f"cannot read file: {exc.strerror}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        _fail(display, f"file is not UTF-8: invalid byte 0x{raw[exc.start]:02x}", line)
    if not text.strip():
        _fail(display, "file is empty")
    return text


def load_yaml(path: Path, display: str, *, max_bytes: int = MAX_SPEC_BYTES) -> Document:
    """Parse one YAML file into a ``Document``; raises ``SpecError`` with one diagnostic."""
    text = read_text(path, display, max_bytes=max_bytes)
    return parse_yaml(text, display)


def parse_yaml(text: str, display: str) -> Document:
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        column = mark.column + 1 if mark else 0
        message = f"{exc.context + ': ' if exc.context else ''}{exc.problem or exc}"
        raise SpecError([error(f"invalid YAML: {message}", Location(display, line, column))]) from None
    except yaml.YAMLError as exc:
        raise SpecError([error(f"invalid YAML: {exc}", Location(display))]) from None
    if not nodes or nodes[0] is None:
        _fail(display, "file is empty")
    if len(nodes) > 1:
        start = nodes[1].start_mark
        _fail(display, "holds more than one YAML document", start.line + 1)
    builder = _Builder(display)
    data = builder.build(nodes[0], ())
    return Document(display, data, builder.marks, builder.key_marks)


class _Builder:
    """Turns a composed node graph into JSON values, recording positions as it goes."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.marks: dict[FieldPath, Mark] = {}
        self.key_marks: dict[FieldPath, Mark] = {}
        self.unique: set[int] = set()
        self.visits = 0

    def build(self, node: yaml.Node, path: FieldPath) -> JsonValue:
        self._count(node)
        self.marks.setdefault(path, _mark(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                self._unsupported(node)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _count(self, node: yaml.Node) -> None:
        self.visits += 1
        self.unique.add(id(node))
        limit = ALIAS_EXPANSION_FACTOR * len(self.unique) + ALIAS_EXPANSION_ALLOWANCE
        if self.visits > limit:
            mark = _mark(node)
            raise SpecError(
                [
                    error(
                        "YAML aliases expand to too many nodes (a 'billion laughs' document?)",
                        Location(self.display, mark.line, mark.column),
                        hint="use fewer nested aliases",
                    )
                ]
            )

    def _mapping(self, node: yaml.MappingNode, path: FieldPath) -> dict[str, JsonValue]:
        if node.tag != _MAP:
            self._unsupported(node)
        result: dict[str, JsonValue] = {}
        for key, value in self._merged(node, path):
            result[key] = self.build(value, (*path, key))
        return result

    def _merged(self, node: yaml.MappingNode, path: FieldPath) -> list[tuple[str, yaml.Node]]:
        explicit: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        inherited: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                for name, inherited_value in self._merge_sources(value_node, path):
                    inherited.setdefault(name, inherited_value)
                continue
            key = self._key(key_node)
            if key in explicit:
                self._duplicate(key, explicit[key][0], key_node)
            explicit[key] = (key_node, value_node)
            self.key_marks[(*path, key)] = _mark(key_node)
        merged = {k: v for k, v in inherited.items() if k not in explicit}
        return [*merged.items(), *((k, v) for k, (_, v) in explicit.items())]

    def _merge_sources(self, node: yaml.Node, path: FieldPath) -> Iterator[tuple[str, yaml.Node]]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            self._count(source)
            if not isinstance(source, yaml.MappingNode):
                mark = _mark(source)
                raise SpecError(
                    [
                        error(
                            "'<<' merges only mappings",
                            Location(self.display, mark.line, mark.column),
                        )
                    ]
                )
            yield from self._merged(source, path)

    def _key(self, node: yaml.Node) -> str:
        if not isinstance(node, yaml.ScalarNode):
            mark = _mark(node)
            raise SpecError(
                [
                    error(
                        "mapping keys must be plain text",
                        Location(self.display, mark.line, mark.column),
                    )
                ]
            )
        # A key is the text as written: `on:` or `1:` name things, they are not booleans or numbers.
        return str(node.value)

    def _duplicate(self, key: str, first: yaml.Node, second: yaml.Node) -> None:
        mark = _mark(second)
        raise SpecError(
            [
                error(
                    f"duplicate key '{key}' (first defined at line {_mark(first).line})",
                    Location(self.display, mark.line, mark.column),
                    hint="each key may appear once in a mapping",
                )
            ]
        )

    def _scalar(self, node: yaml.Node) -> JsonValue:
        if node.tag == _TIMESTAMP:
            return str(node.value)
        if node.tag not in _SCALAR_TAGS:
            self._unsupported(node)
        value = _SCALAR_CONSTRUCTOR.construct_object(node)
        if isinstance(value, float) and not math.isfinite(value):  # JSON has no NaN or infinity
            mark = _mark(node)
            what = "NaN" if math.isnan(value) else "infinity"
            raise SpecError(
                [error(f"{what} is not a valid value", Location(self.display, mark.line, mark.column))]
            )
        return value  # type: ignore[no-any-return]

    def _unsupported(self, node: yaml.Node) -> None:
        mark = _mark(node)
        raise SpecError(
            [
                error(
                    f"unsupported YAML tag '{node.tag}'",
                    Location(self.display, mark.line, mark.column),
                    hint="specs use plain YAML: mappings, lists, strings, numbers, booleans, null",
                )
            ]
        )


_SCALAR_CONSTRUCTOR = yaml.SafeLoader("")


def _mark(node: yaml.Node) -> Mark:
    start = node.start_mark
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        # A block scalar's text starts on the line after its `|` or `>`, so that line N of
        # the text (where Jinja reports a problem) is N lines further.
        return Mark(start.line + 2, 0)
    return Mark(start.line + 1, start.column + 1)


def _fail(display: str, message: str, line: int = 0) -> None:
    raise SpecError([error(message, Location(display, line))])


def load_rows(path: Path, display: str) -> tuple[Row, ...]:
    """Rows of a ``foreach`` table: ``.csv`` (with a header), ``.json`` or ``.yaml`` list of objects."""
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".json", ".yaml", ".yml"}:
        _fail(display, f"unsupported data file type '{suffix}'; use .csv, .json, .yaml or .yml")
    text = read_text(path, display, max_bytes=MAX_DATA_BYTES)
    if suffix == ".csv":
        return _csv_rows(text, display)
    if suffix == ".json":
        return rows_from_list(_json(text, display), Document(display, None), ())
    document = parse_yaml(text, display)
    return rows_from_list(document.data, document, ())


def rows_from_list(data: JsonValue, document: Document, path: FieldPath) -> tuple[Row, ...]:
    """Rows from an already parsed list (a JSON/YAML data file, or an inline ``foreach``)."""
    if not isinstance(data, list):
        raise SpecError([error("expected a list of objects", document.location(path))])
    rows = []
    problems: list[Diagnostic] = []
    for number, item in enumerate(data, start=1):
        location = document.location((*path, number - 1))
        if isinstance(item, dict):
            rows.append(Row(item, location, number))
        else:
            problems.append(error(f"row {number} is not an object", location))
    if problems:
        raise SpecError(problems)
    return tuple(rows)


def _json(text: str, display: str) -> JsonValue:
    def pairs(items: Sequence[tuple[str, JsonValue]]) -> dict[str, JsonValue]:
        result: dict[str, JsonValue] = {}
        for key, value in items:
            if key in result:
                raise ValueError(f"duplicate key '{key}'")
            result[key] = value
        return result

    try:
        return json.loads(text, object_pairs_hook=pairs)  # type: ignore[no-any-return]
    except json.JSONDecodeError as exc:
        raise SpecError(
            [error(f"invalid JSON: {exc.msg}", Location(display, exc.lineno, exc.colno))]
        ) from None
    except ValueError as exc:
        raise SpecError([error(f"invalid JSON: {exc}", Location(display))]) from None


def _csv_rows(text: str, display: str) -> tuple[Row, ...]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise SpecError([error(f"invalid CSV: {exc}", Location(display, 1))]) from None
    _check_header(header, display)
    rows: list[Row] = []
    problems: list[Diagnostic] = []
    line = reader.line_num
    try:
        for fields in reader:
            start, line = line + 1, reader.line_num
            if not any(f.strip() for f in fields):
                continue
            location = Location(display, start)
            if len(fields) != len(header):
                problems.append(_width_problem(header, fields, location))
                continue
            rows.append(Row(dict(zip(header, fields, strict=True)), location, len(rows) + 1))
    except csv.Error as exc:
        raise SpecError([error(f"invalid CSV: {exc}", Location(display, reader.line_num))]) from None
    if problems:
        raise SpecError(problems)
    return tuple(rows)


def _check_header(header: list[str], display: str) -> None:
    names = [h.strip() for h in header]
    if not all(names):
        _fail(display, "CSV header has an empty column name", 1)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        _fail(display, f"CSV header repeats column(s): {', '.join(duplicates)}", 1)
    header[:] = names


def _width_problem(header: list[str], fields: list[str], location: Location) -> Diagnostic:
    if len(fields) < len(header):
        missing = ", ".join(header[len(fields) :])
        return error(
            f"row has {len(fields)} field(s) but the header has {len(header)}: missing {missing}",
            location,
        )
    return error(
        f"row has {len(fields)} field(s) but the header has {len(header)}",
        location,
        hint="quote values that contain commas",
    )
