"""The Jinja sandbox for spec strings: what renders, what is refused, and what it costs."""

from __future__ import annotations

from typing import Any

import pytest

from nexspec.templating import (
    MAX_LOOP_ITERATIONS,
    EnvScope,
    RowScope,
    TemplateProblem,
    Templating,
    VarsScope,
)


@pytest.fixture(scope="module")
def templating() -> Templating:
    return Templating()


def context(**extra: Any) -> dict[str, Any]:
    return {
        "vars": VarsScope({"brand": "Acme", "year": 2026, "colors": {"primary": "red"}, "label": "L"}),
        "env": EnvScope({"CDN_BASE": "https://cdn.example.com"}, ["CDN_BASE", "CAMPAIGN"]),
        "job": {"name": "teaser"},
        **extra,
    }


def row(**values: Any) -> RowScope:
    return RowScope(values, "row 2 of data/cities.csv")


def render(templating: Templating, source: str, **extra: Any) -> str:
    return templating.compile(source).render(context(**extra))


def refusal(templating: Templating, source: str, **extra: Any) -> tuple[str, int, bool]:
    with pytest.raises(TemplateProblem) as caught:
        render(templating, source, **extra)
    return caught.value.message, caught.value.line, caught.value.security


# --- rendering --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("plain text", "plain text"),
        ("${secrets.WEBHOOK_TOKEN}", "${secrets.WEBHOOK_TOKEN}"),
        ("{{ vars.brand }}: new season", "Acme: new season"),
        ("{{ vars.year + 1 }}", "2027"),
        ("{{ vars.colors.primary }}", "red"),
        ("{{ vars['brand'] | upper }}", "ACME"),
        ("{{ env.CDN_BASE }}/a.jpg", "https://cdn.example.com/a.jpg"),
        ("{{ job.name }}.mp4", "teaser.mp4"),
        ("{{ row.city }} ({{ row.slug }})", "Oslo (oslo)"),
        ("{{ row.label }}/{{ row.items }}/{{ row.where }}", "a label/some items/here"),
        ("{{ vars.label }}", "L"),
        ("{% for c in row.city %}{{ c }}.{% endfor %}", "O.s.l.o."),
        ("{{ row.cell }}", "{{ 7 * 7 }}"),
        ("{{ 2 ** 10 }} {{ 'ab' * 3 }} {{ range(3) | list }}", "1024 ababab [0, 1, 2]"),
        ("{{ 2 ** 10**6 }}", "1152921504606846976"),
        ("{{ row.keys() | list | length }}", "6"),
        ("line\n", "line\n"),
    ],
    ids=["literal", "secret-reference", "vars", "arithmetic", "nested-vars", "filter", "env", "job-name",
         "row", "columns-named-like-attributes", "var-named-like-an-attribute", "loop", "data-is-data",
         "bounded-operators", "power-is-left-associative", "mapping-methods",
         "trailing-newline"],
)  # fmt: skip
def test_renders(templating: Templating, source: str, expected: str) -> None:
    values = row(city="Oslo", slug="oslo", label="a label", items="some items", where="here",
                 cell="{{ 7 * 7 }}")  # fmt: skip
    assert render(templating, source, row=values) == expected


def test_literal_strings_are_not_compiled(templating: Templating) -> None:
    assert templating.compile("${secrets.KEY} and text").is_literal
    assert not templating.compile("{{ vars.brand }}").is_literal
    assert not templating.compile("{# a comment #}").is_literal


def test_each_distinct_string_is_compiled_once(templating: Templating) -> None:
    first = templating.compile("{{ row.city }}!")
    assert templating.compile("{{ row.city }}!") is first


def test_the_loop_budget_is_per_render(templating: Templating) -> None:
    expression = templating.compile("{% for i in range(6000) %}{% endfor %}done")
    assert [expression.render(context()) for _ in range(3)] == ["done"] * 3


# --- undefined values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ vars.brnd }}", "'brnd' is not defined under vars:"),
        ("{{ vars.missing }}", "'missing' is not defined under vars:"),
        ("{{ env.CAMPAIGN }}", "environment variable 'CAMPAIGN' is declared in env: but not set"),
        ("{{ env.HOME }}", "environment variable 'HOME' is not declared in env:"),
        ("{{ env.declared }}", "environment variable 'declared' is not declared in env:"),
        ("{{ row.cty }}", "row 2 of data/cities.csv has no column 'cty' (columns: city, slug)"),
        ("{{ row.where }}", "row 2 of data/cities.csv has no column 'where' (columns: city, slug)"),
        ("{{ brand }}", "'brand' is undefined"),
        ("{{ vars.colors.secondary }}", "'dict object' has no attribute 'secondary'"),
        ("{{ vars.brand ~ row.x }}", "row 2 of data/cities.csv has no column 'x' (columns: city, slug)"),
        ("{% if vars.nope %}x{% endif %}", "'nope' is not defined under vars:"),
    ],
    ids=["var", "var-named-like-a-method", "env-declared-unset", "env-undeclared", "env-attribute",
         "row-column", "row-attribute", "top-level", "nested-mapping", "in-expression", "in-condition"],
)  # fmt: skip
def test_undefined_values(templating: Templating, source: str, message: str) -> None:
    assert refusal(templating, source, row=row(city="Oslo", slug="oslo")) == (message, 1, False)


def test_row_outside_foreach(templating: Templating) -> None:
    message = "'row' is undefined: only jobs with foreach: have a row"
    assert refusal(templating, "{{ row.city }}") == (message, 1, False)


def test_a_row_without_columns_says_so(templating: Templating) -> None:
    assert refusal(templating, "{{ row.city }}", row=row()) == (
        "row 2 of data/cities.csv has no column 'city' (columns: none)",
        1,
        False,
    )


# --- template injection -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "attribute", "owner"),
    [
        ("{{ ''.__class__.__mro__ }}", "__class__", "str"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "__class__", "str"),
        ("{{ cycler.__init__.__globals__ }}", "__init__", "type"),
        ("{{ joiner.__init__.__globals__.os }}", "__init__", "type"),
        ("{{ namespace.__init__.__globals__ }}", "__init__", "type"),
        ("{{ ''|attr('__class__') }}", "__class__", "str"),
        ("{{ [].append(1) }}", "append", "list"),
        ("{{ vars.colors.update(primary='blue') }}", "update", "dict"),
        ("{{ vars.pop('brand') }}", "pop", "VarsScope"),
        ("{{ '{0.__class__}'.format(1) }}", "__class__", "int"),
        ("{{ vars.brand.__len__() }}", "__len__", "str"),
        ("{{ self.__dict__ }}", "__dict__", "TemplateReference"),
    ],
    ids=["mro", "subclasses", "cycler-globals", "joiner-globals", "namespace-globals", "attr-filter",
         "list-append", "dict-update", "scope-pop", "format-attribute", "dunder-method", "self"],
)  # fmt: skip
def test_python_internals_are_out_of_reach(
    templating: Templating, source: str, attribute: str, owner: str
) -> None:
    message = f"unsafe template: access to attribute '{attribute}' of '{owner}' object is unsafe."
    assert refusal(templating, source) == (message, 1, True)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ lipsum(1000) }}", "'lipsum' is undefined"),
        ("{{ config }}", "'config' is undefined"),
        ("{{ request }}", "'request' is undefined"),
    ],
    ids=["lipsum", "config", "request"],
)
def test_nothing_else_is_in_scope(templating: Templating, source: str, message: str) -> None:
    assert refusal(templating, source) == (message, 1, False)


# --- cost -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ range(10**9) }}", "range() of 1000000000 items is over 10000"),
        ("{{ range(10**9) | list | length }}", "range() of 1000000000 items is over 10000"),
        ("{% for i in range(101) %}{% for j in range(100) %}{% endfor %}{% endfor %}",
         "loops ran over 10000 iterations"),
        ("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
         "loops ran over 10000 iterations"),
        ("{% for c in 'ab' * 6000 %}{% endfor %}", "loops ran over 10000 iterations"),
        ("{{ 'a' * 10**9 }}", "repetition would make 1000000000 items"),
        ("{{ 10**9 * 'a' }}", "repetition would make 1000000000 items"),
        ("{{ [0] * 10**9 }}", "repetition would make 1000000000 items"),
        ("{{ 2 ** (10**6) }}", "exponent 1000000 is over 256"),
        ("{{ 2 ** -1000 }}", "exponent -1000 is over 256"),
        ("{{ (2**256) ** 256 }}", "the result would have up to 65792 bits, over 65536"),
        ("{% set ns = namespace(n=2**200) %}{% for i in range(12) %}{% set ns.n = ns.n * ns.n %}"
         "{% endfor %}", "the result would have up to 102402 bits, over 65536"),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "template recursion is too deep"),
        ("{% set s = 'a' * 60000 %}{{ s }}{{ s }}", "output is over 65536 characters"),
        ("{{ 'x'.ljust(2**62) }}",
         "the template would build a value of 4611686018427387904 items, over 65536"),
        ("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
         "the template would build a value of 131072 items, over 65536"),
        ("{% macro d(s, n) %}{{ d(s ~ s, n - 1) if n else s }}{% endmacro %}{{ d('x', 40) }}",
         "the template would build a value of 131072 items, over 65536"),
        ("{{ '%1000000000s' % 'a' }}", "the template would build a value of 1000000000 items, over 65536"),
        ("{{ '{:>1000000000}'.format('a') }}",
         "the template would build a value of 1000000000 items, over 65536"),
        ("{{ ('aaaa' * 10000).replace('a', 'aaaaaaaaaa') }}",
         "the template would build a value of 400000 items, over 65536"),
        ("{{ ['x' * 60000, 'y' * 60000] | join }}",
         "the template would build a value of 120000 items, over 65536"),
        ("{{ ''.join(['x' * 60000, 'y' * 60000]) }}",
         "the template would build a value of 120000 items, over 65536"),
        ("{{ 'x' * 60000 + 'y' * 60000 }}", "the template would build a value of 120000 items, over 65536"),
    ],
    ids=["range", "range-list", "nested-loops", "nested-loops-large", "loop-over-string", "repeat-string",
         "repeat-string-reversed", "repeat-list", "power", "negative-power", "power-result",
         "product-in-a-loop", "recursion", "output", "padding-method", "doubling-loop", "doubling-macro",
         "percent-width", "format-width", "replace", "join-filter", "join-method", "plus"],
)  # fmt: skip
def test_cost_is_bounded(templating: Templating, source: str, message: str) -> None:
    assert refusal(templating, source) == (message, 1, False)


def test_loop_budget_boundary(templating: Templating) -> None:
    inner = MAX_LOOP_ITERATIONS // 100 - 1  # 100 outer iterations plus 100 × 99 inner ones
    assert render(templating, f"{{% for i in range(100) %}}{{% for j in range({inner}) %}}{{% endfor %}}"
                              "{% endfor %}ok") == "ok"  # fmt: skip


@pytest.mark.parametrize(
    ("source", "length"),
    [("{{ 'x' | center(10**9) }}", 65536), ("{{ 'x\ny' | indent(10**9) }}", 259)],
    ids=["center", "indent"],
)
def test_padding_filters_are_capped(templating: Templating, source: str, length: int) -> None:
    assert len(render(templating, source)) == length


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 1 / 0 }}", "ZeroDivisionError: division by zero"),
        ("{{ vars.brand + 1 }}", 'TypeError: can only concatenate str (not "int") to str'),
        ("{{ 'x' | int + [] }}", "TypeError: unsupported operand type(s) for +: 'int' and 'list'"),
        ("{{ vars.colors['nope'] }}", "'dict object' has no attribute 'nope'"),
    ],
    ids=["division", "type", "operands", "missing-item"],
)
def test_runtime_errors_become_problems(templating: Templating, source: str, message: str) -> None:
    assert refusal(templating, source) == (message, 1, False)


# --- syntax -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message", "line"),
    [
        ("{{ vars.brand", "template syntax error: unexpected end of template, expected 'end of print "
                          "statement'.", 1),
        ("{% for %}", "template syntax error: Expected an expression, got 'end of statement block'", 1),
        ("first\nsecond\n{{ ) }}", "template syntax error: unexpected ')'", 3),
        ("line\n{% if x %}open",
         "template syntax error: Unexpected end of template. Jinja was looking for the following tags: "
         "'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.", 2),
    ],
    ids=["unclosed", "empty-for", "third-line", "unclosed-block"],
)  # fmt: skip
def test_syntax_errors_carry_their_line(templating: Templating, source: str, message: str, line: int) -> None:
    with pytest.raises(TemplateProblem) as caught:
        templating.compile(source)
    assert (caught.value.message, caught.value.line) == (message, line)
