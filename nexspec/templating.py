"""Sandboxed Jinja for spec strings: compile each distinct string once, render it many times.

Specs may come from untrusted pull requests, so templates run in an immutable sandbox with
strict undefined variables, and their cost is bounded: loop iterations per render,
``range`` length, number sizes, and the size of every string a template builds (``~``,
``+``, ``*``, ``%``, ``join``, ``replace``, padding methods) is checked *before* it is
built, so no template can exhaust memory. Values
from ``vars``, ``env`` and rows are data: they are inserted, never rendered again.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes, pass_eval_context
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

MAX_OUTPUT_CHARS = 64 * 1024
MAX_LOOP_ITERATIONS = 10_000
MAX_POWER_EXPONENT = 256
MAX_NUMBER_BITS = 65_536
_LOOP_GUARD = "__nexspec_loop"
_CONCAT_GUARD = "__nexspec_concat"
_WIDTH = re.compile(r"%[-#0 +]*(\d+)|:[^{}]*?(\d+)[^{}]*\}|\.(\d+)")
_PADDING_METHODS = frozenset({"ljust", "rjust", "center", "zfill"})


class TemplateProblem(Exception):
    """A spec string failed to compile or render; ``line`` is 1-based within the string."""

    def __init__(self, message: str, line: int = 1, *, security: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.security = security


class Scope(dict[str, Any]):
    """A mapping in the template context that explains its own missing keys."""

    label = "value"

    def missing(self, name: str) -> str:
        return f"{self.label} has no key '{name}'"


class RowScope(Scope):
    def __init__(self, values: Mapping[str, Any], where: str) -> None:
        super().__init__(values)
        self.where = where

    def missing(self, name: str) -> str:
        columns = ", ".join(self) or "none"
        return f"{self.where} has no column '{name}' (columns: {columns})"


class EnvScope(Scope):
    def __init__(self, values: Mapping[str, str], declared: Iterable[str]) -> None:
        super().__init__(values)
        self.declared = frozenset(declared)

    def missing(self, name: str) -> str:
        if name in self.declared:
            return f"environment variable '{name}' is declared in env: but not set"
        return f"environment variable '{name}' is not declared in env:"


class VarsScope(Scope):
    def missing(self, name: str) -> str:
        return f"'{name}' is not defined under vars:"


_TOP_LEVEL_HINTS = {
    "row": "'row' is undefined: only jobs with foreach: have a row",
}


class SpecUndefined(StrictUndefined):
    """Strict undefined whose messages name the spec concept that is missing."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        owner = self._undefined_obj
        name = str(self._undefined_name)
        if isinstance(owner, Scope) and self._undefined_exception is not SecurityError:
            return owner.missing(name)
        if self._undefined_hint is None and self._undefined_obj is _MISSING_OWNER():
            return _TOP_LEVEL_HINTS.get(name, f"'{name}' is undefined")
        return str(StrictUndefined._undefined_message.fget(self))  # type: ignore[attr-defined]


def _MISSING_OWNER() -> object:
    from jinja2.utils import missing

    return missing


class _Budget(threading.local):
    iterations = 0


_budget = _Budget()


def _guarded_loop(iterable: Iterable[Any]) -> Iterator[Any]:
    for item in iterable:
        _budget.iterations += 1
        if _budget.iterations > MAX_LOOP_ITERATIONS:
            raise TemplateProblem(f"loops ran over {MAX_LOOP_ITERATIONS} iterations")
        yield item


def _bounded_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_LOOP_ITERATIONS:
        raise TemplateProblem(f"range() of {len(result)} items is over {MAX_LOOP_ITERATIONS}")
    return result


def _check_size(size: int) -> None:
    if size > MAX_OUTPUT_CHARS:
        raise TemplateProblem(f"the template would build a value of {size} items, over {MAX_OUTPUT_CHARS}")


def _guarded_concat(*parts: Any) -> str:
    texts = [str(part) for part in parts]
    _check_size(sum(map(len, texts)))
    return "".join(texts)


def _check_widths(format_string: str) -> None:
    for match in _WIDTH.finditer(format_string):
        width = max(int(group) for group in match.groups() if group)
        _check_size(width)


@pass_eval_context
def _join_filter(
    eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: str | None = None
) -> str:
    from jinja2.filters import sync_do_join

    items = list(value)
    if attribute is None:
        _check_size(sum(len(str(item)) for item in items) + len(d) * max(0, len(items) - 1))
    joined = str(sync_do_join(eval_ctx, items, d, attribute))
    _check_size(len(joined))
    return joined


def _check_method_call(obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if not isinstance(owner, str):
        return
    if name in _PADDING_METHODS and args and isinstance(args[0], int):
        _check_size(args[0])
    elif name == "expandtabs":
        _check_size(len(owner) * int(args[0] if args else kwargs.get("tabsize", 8)))
    elif name == "replace" and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        count = owner.count(old) if old else len(owner) + 1
        _check_size(len(owner) + count * max(0, len(new) - len(old)))
    elif name == "join" and args:
        _check_size(sum(len(str(item)) for item in args[0]) + len(owner) * 2)


def _bounded_center(value: str, width: int = 80) -> str:
    return str(value).center(min(int(width), MAX_OUTPUT_CHARS))


def _bounded_indent(value: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    from jinja2.filters import do_indent

    if isinstance(width, int):
        width = min(width, 256)
    return str(do_indent(value, width, first, blank))


class SpecEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox every spec string renders in."""

    intercepted_binops = frozenset(["*", "**", "+", "%"])

    def __init__(self) -> None:
        # No constant folding: it would evaluate expressions at compile time, past every guard.
        super().__init__(
            undefined=SpecUndefined, autoescape=False, keep_trailing_newline=True, optimized=False
        )
        self.globals.pop("lipsum", None)
        self.globals["range"] = _bounded_range
        self.globals[_LOOP_GUARD] = _guarded_loop
        self.globals[_CONCAT_GUARD] = _guarded_concat
        self.filters["join"] = _join_filter
        self.filters["center"] = _bounded_center
        self.filters["indent"] = _bounded_indent

    def getattr(self, obj: Any, attribute: str) -> Any:
        # `row.label` is the column 'label', not an attribute of the scope object.
        if isinstance(obj, Scope) and (attribute in obj or not hasattr(dict, attribute)):
            return obj[attribute] if attribute in obj else self.undefined(obj=obj, name=attribute)
        if isinstance(obj, str) and attribute in {"format", "format_map"}:
            _check_widths(obj)  # the sandbox hands out a wrapped method, so check it here
        return super().getattr(obj, attribute)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_method_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                _check_size(len(left) + len(right))
            return left + right
        if operator == "%":
            if isinstance(left, str):
                _check_widths(left)
                _check_size(
                    len(left) + sum(len(str(a)) for a in (right if isinstance(right, tuple) else (right,)))
                )
            return left % right
        if operator == "**":
            if isinstance(right, int) and abs(right) > MAX_POWER_EXPONENT:
                raise TemplateProblem(f"exponent {right} is over {MAX_POWER_EXPONENT}")
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                _check_bits(left.bit_length() * right)
            return left**right
        _check_repeat(left, right)
        if isinstance(left, int) and isinstance(right, int):
            _check_bits(left.bit_length() + right.bit_length())
        return left * right


def _check_bits(bits: int) -> None:
    if bits > MAX_NUMBER_BITS:
        raise TemplateProblem(f"the result would have up to {bits} bits, over {MAX_NUMBER_BITS}")


def _check_repeat(left: Any, right: Any) -> None:
    for seq, count in ((left, right), (right, left)):
        if (
            isinstance(seq, str | list | tuple)
            and isinstance(count, int)
            and len(seq) * count > MAX_OUTPUT_CHARS
        ):
            raise TemplateProblem(f"repetition would make {len(seq) * count} items")


class _Guard(NodeTransformer):
    """Routes every ``for`` loop through the iteration budget and every ``~`` through a size check."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Call(nodes.Name(_LOOP_GUARD, "load"), [node.iter], [], None, None)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Call(nodes.Name(_CONCAT_GUARD, "load"), list(node.nodes), [], None, None)


@dataclass(frozen=True, slots=True)
class Expression:
    """One spec string: either literal text or a compiled template."""

    source: str
    template: Any = None  # jinja2.Template, or None for a literal

    @property
    def is_literal(self) -> bool:
        return self.template is None

    def render(self, context: Mapping[str, Any]) -> str:
        if self.template is None:
            return self.source
        _budget.iterations = 0
        try:
            return _bounded_join(self.template.root_render_func(self.template.new_context(context)))
        except TemplateProblem:
            raise
        except SecurityError as exc:
            raise TemplateProblem(f"unsafe template: {exc}", security=True) from None
        except UndefinedError as exc:
            raise TemplateProblem(str(exc), self._line(exc)) from None
        except RecursionError:
            raise TemplateProblem("template recursion is too deep") from None
        except MemoryError:
            raise TemplateProblem("template needs more memory than is available") from None
        except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
            raise TemplateProblem(f"{type(exc).__name__}: {exc}", self._line(exc)) from None

    def _line(self, exc: BaseException) -> int:
        """The template line an exception was raised at (1 when it cannot be told)."""
        line = 1
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == "<spec>":
                line = self.template.get_corresponding_lineno(tb.tb_lineno)
            tb = tb.tb_next
        return line


def _bounded_join(chunks: Iterable[str]) -> str:
    parts = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_OUTPUT_CHARS:
            raise TemplateProblem(f"output is over {MAX_OUTPUT_CHARS} characters")
        parts.append(chunk)
    return "".join(parts)


class Templating:
    """Compiles spec strings once per distinct source text."""

    def __init__(self) -> None:
        self.environment = SpecEnvironment()
        self._cache: dict[str, Expression] = {}

    def compile(self, source: str) -> Expression:
        """The compiled form of ``source``; raises ``TemplateProblem`` for a syntax error."""
        cached = self._cache.get(source)
        if cached is None:
            cached = self._compile(source)
            self._cache[source] = cached
        return cached

    def _compile(self, source: str) -> Expression:
        if "{{" not in source and "{%" not in source and "{#" not in source:
            return Expression(source)
        env = self.environment
        try:
            tree = _Guard().visit(env.parse(source))
            code = env.compile(tree, filename="<spec>")
        except TemplateSyntaxError as exc:
            raise TemplateProblem(f"template syntax error: {exc.message}", exc.lineno or 1) from None
        return Expression(source, env.template_class.from_code(env, code, env.make_globals(None)))
