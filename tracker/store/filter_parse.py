"""Filter expressions as text, parsed with Python's ``ast`` (never evaluated) into a small tree
of tests that ``filters`` compiles to SQL.

The grammar is that of pandas' ``DataFrame.query``, restricted to what a run can be asked:
comparisons ``== != < <= > >=`` (chained too), ``in`` / ``not in`` lists, ``and``, ``or``,
``not``, parentheses; numbers, strings, ``True``, ``False``, ``None``. A name is a bare
identifier (a hyperparameter, else a run field), ``run.FIELD``, ``best.METRIC`` /
``last.METRIC`` / ``max.METRIC`` / ``min.METRIC``, or ``tags.KEY``; backticks quote names that
are not identifiers (`` `tuner/epochs` >= 2 ``).

>>> parse("1e-4 < learning_rate <= 1e-2 and optimizer == 'adam'")   # doctest: +ELLIPSIS
AllOf(items=(Test(ref=Ref(scope='', name='learning_rate', ...), op='>', values=(0.0001,), ...
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from dataclasses import dataclass
from typing import Any, Union

from ..errors import FilterError

FIELD_SCOPE = "run"
TAG_SCOPE = "tags"
METRIC_SCOPES = ("best", "last", "max", "min")
_OPERATORS = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.In: "in", ast.NotIn: "not in",
}
_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_MAX_LENGTH = 10_000
# The old command-line form: one NAME=VALUE (a single "=", no comparison around it).
_LEGACY = re.compile(r"\s*([^=<>!()'\"`\s][^=<>!()'\"`]*?)\s*=(?![=<>])(.*)", re.DOTALL)

Span = tuple[int, int]


@dataclass(frozen=True)
class Ref:
    """A name in a filter: ``scope`` is "" (a bare name), "run" or a metric scope."""

    scope: str
    name: str
    span: Span

    def __str__(self) -> str:
        return f"{self.scope}.{quote_name(self.name)}" if self.scope else quote_name(self.name)


@dataclass(frozen=True)
class Test:
    """``ref op value`` (``values`` holds one value, or the list of ``in`` / ``not in``)."""

    ref: Ref
    op: str
    values: tuple[Any, ...]
    span: Span


@dataclass(frozen=True)
class AllOf:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Negation:
    item: Node


@dataclass(frozen=True)
class Always:
    """A constant: ``True`` or ``False`` written alone."""

    value: bool


Node = Union[Test, AllOf, AnyOf, Negation, Always]  # noqa: UP007 - a runtime alias on 3.10


def quote_name(name: str) -> str:
    """``name`` as a filter writes it: bare when it is an identifier, else in backticks."""
    return name if name.isidentifier() and not keyword.iskeyword(name) else f"`{name}`"


def legacy_item(text: str) -> tuple[str, str] | None:
    """``(name, value text)`` when ``text`` is the old ``NAME=VALUE`` form, else None."""
    match = _LEGACY.fullmatch(text)
    if match is None or not match.group(1).strip():
        return None
    return match.group(1).strip(), match.group(2).strip()


def parse(text: str) -> Node:
    """The tree of ``text``, or ``FilterError`` saying what is wrong and where."""
    if not isinstance(text, str):
        raise FilterError(f"a filter is a string, not {type(text).__name__}")
    if len(text) > _MAX_LENGTH:
        raise FilterError(f"the filter is {len(text):,} characters long (at most {_MAX_LENGTH:,})",
                          expression=text[:80] + "...")
    source, quoted = _unquote(text)
    start = len(source) - len(source.lstrip())
    if not source.strip():
        raise FilterError("the filter is empty: write e.g. \"learning_rate < 1e-3\"",
                          expression=text)
    try:
        tree = ast.parse(source[start:].rstrip(), mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(text, exc, start) from None
    except (ValueError, RecursionError, MemoryError):
        raise FilterError("the filter cannot be parsed (too deeply nested?)",
                          expression=text) from None
    return _Builder(text, source, start, quoted).predicate(tree.body)


# -- backticks --------------------------------------------------------------------------------


def _unquote(text: str) -> tuple[str, dict[str, str]]:
    """``text`` with each backtick-quoted name replaced by an identifier of the same length
    (so positions stay the same), newlines and tabs outside strings by spaces; and the map
    from those identifiers back to the names."""
    out: list[str] = []
    quoted: dict[str, str] = {}
    i, quote = 0, None
    while i < len(text):
        char = text[i]
        if quote is not None:  # inside a string literal
            out.append(char)
            if char == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
            out.append(char)
        elif char == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise FilterError(f"filter {_show(text)}, column {i + 1}: this backtick is "
                                  "never closed",
                                  expression=text, position=(i, len(text)))
            name = text[i + 1:end]
            if not name:
                raise FilterError(f"filter {_show(text)}, column {i + 1}: empty backticks",
                                  expression=text,
                                  position=(i, end + 1))
            placeholder = _placeholder(text, len(name) + 2, quoted)
            quoted[placeholder] = name
            out.append(placeholder)
            i = end
        else:
            out.append(" " if char in "\r\n\t\f\v" else char)
        i += 1
    return "".join(out), quoted


def _placeholder(text: str, length: int, taken: dict[str, str]) -> str:
    """An identifier of ``length`` characters that appears nowhere in ``text``."""
    pool = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    pool += "".join(chr(c) for c in range(0x4E00, 0x4E00 + 2_000))  # CJK letters: identifiers
    for char in pool:
        candidate = "_" + char * (length - 2) + "_"
        if candidate not in text and candidate not in taken:
            return candidate
    raise FilterError("too many quoted names in one filter", expression=text)


# -- ast -> tree ------------------------------------------------------------------------------


class _Builder:
    def __init__(self, text: str, source: str, start: int, quoted: dict[str, str]) -> None:
        self.text, self.source, self.start, self.quoted = text, source, start, quoted
        # ast offsets are UTF-8 byte offsets into the parsed (stripped) source.
        self.encoded = source[start:].encode("utf-8")

    def span(self, node: ast.AST) -> Span:
        def char(offset: int) -> int:
            return self.start + len(self.encoded[:offset].decode("utf-8", errors="ignore"))

        return char(node.col_offset), char(node.end_col_offset or node.col_offset)

    def fail(self, message: str, node: ast.AST) -> FilterError:
        start, end = self.span(node)
        return FilterError(describe(message, self.text, (start, end)), expression=self.text,
                           position=(start, end))

    def predicate(self, node: ast.AST) -> Node:
        if isinstance(node, ast.BoolOp):
            items = tuple(self.predicate(value) for value in node.values)
            return AllOf(items) if isinstance(node.op, ast.And) else AnyOf(items)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return Negation(self.predicate(node.operand))
        if isinstance(node, ast.Compare):
            return self.comparison(node)
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return Always(node.value)
        if isinstance(node, (ast.Name, ast.Attribute)):  # a bare flag: ``use_bn``
            return Test(self.ref(node), "==", (True,), self.span(node))
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            word = "and" if isinstance(node.op, ast.BitAnd) else "or"
            raise self.fail(f"use '{word}' to combine tests", node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
            raise self.fail("use 'not' to negate a test", node)
        raise self.fail("expected a test such as learning_rate < 1e-3", node)

    def comparison(self, node: ast.Compare) -> Node:
        operands = [node.left, *node.comparators]
        tests = []
        for left, op, right in zip(operands, node.ops, operands[1:], strict=False):
            symbol = _OPERATORS.get(type(op))
            if symbol is None:  # ``is``, ``is not``
                raise self.fail("use == or != (not 'is')", node)
            tests.append(self.pair(left, symbol, right, node))
        return tests[0] if len(tests) == 1 else AllOf(tuple(tests))

    def pair(self, left: ast.AST, op: str, right: ast.AST, whole: ast.Compare) -> Test:
        span = (self.span(left)[0], self.span(right)[1])
        if op in ("in", "not in"):
            if not self.is_name(left):
                raise self.fail(f"the left of '{op}' must be a name", left)
            if not isinstance(right, (ast.Tuple, ast.List, ast.Set)):
                raise self.fail(f"'{op}' takes a list of values in parentheses, "
                                "e.g. batch_size in (32, 64)", right)
            values = tuple(self.literal(item) for item in right.elts)
            return Test(self.ref(left), op, values, span)
        for side in (left, right):
            if isinstance(side, ast.BinOp) and isinstance(side.op, (ast.BitAnd, ast.BitOr)):
                word = "and" if isinstance(side.op, ast.BitAnd) else "or"
                raise self.fail(f"use '{word}' to combine tests", whole)
            if isinstance(side, ast.BinOp):
                raise self.fail("arithmetic is not supported in filters", side)
        if self.is_name(left) and self.is_name(right):
            raise self.fail("compare a name with a value (two names cannot be compared)", whole)
        if self.is_name(left):
            return Test(self.ref(left), op, (self.literal(right),), span)
        if self.is_name(right):
            return Test(self.ref(right), _FLIPPED[op], (self.literal(left),), span)
        raise self.fail("a comparison needs a name (a hyperparameter, run field or metric)",
                        whole)

    @staticmethod
    def is_name(node: ast.AST) -> bool:
        return isinstance(node, (ast.Name, ast.Attribute))

    def ref(self, node: ast.AST) -> Ref:
        if isinstance(node, ast.Name):
            return Ref("", self.quoted.get(node.id, node.id), self.span(node))
        assert isinstance(node, ast.Attribute)
        scope = node.value
        scopes = (FIELD_SCOPE, TAG_SCOPE, *METRIC_SCOPES)
        if not isinstance(scope, ast.Name) or scope.id not in scopes:
            raise self.fail(f"only {', '.join(s + '.' for s in scopes)} names take a dot "
                            "(quote other names in backticks: `a.b`)", node)
        return Ref(scope.id, self.quoted.get(node.attr, node.attr), self.span(node))

    def literal(self, node: ast.AST) -> Any:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.literal(node.operand)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail("only numbers take a sign", node)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, str) and (problem := text_problem(value)):
                raise self.fail(problem, node)
            if value is None or isinstance(value, (bool, str)):
                return value
            if isinstance(value, (int, float)):
                if not finite_number(value):
                    raise self.fail("numbers must be finite (and within float range)", node)
                return value
        if self.is_name(node):
            raise self.fail("expected a value here, not a name (quote text: 'adam')", node)
        raise self.fail("expected a number, a string, True, False or None", node)


def finite_number(value: int | float) -> bool:
    """Whether a number can be compared in SQL: finite, and an int within float range."""
    if isinstance(value, int):
        return abs(value) < 2**1023
    return math.isfinite(value)


def text_problem(value: str) -> str | None:
    """Why text cannot be a filter's value (no stored text holds it), or None."""
    if "\x00" in value:
        return "text with a NUL character never matches a stored value"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "text holding a lone surrogate is not valid Unicode"
    return None


def describe(message: str, text: str, position: Span) -> str:
    """``filter "...", column N ("piece"): message``: where in ``text`` the problem is."""
    start, end = position
    piece = text[start:end]
    if not piece.strip() or piece.strip() == text.strip():
        return f"filter {_show(text)}: {message}"
    return f"filter {_show(text)}, column {start + 1} ({_show(piece)}): {message}"


def _show(text: str) -> str:
    """Text in double quotes (filters quote their strings with single ones)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def walk(node: Node):
    """Every ``Test`` of a tree."""
    if isinstance(node, Test):
        yield node
    elif isinstance(node, (AllOf, AnyOf)):
        for item in node.items:
            yield from walk(item)
    elif isinstance(node, Negation):
        yield from walk(node.item)


def _syntax_error(text: str, exc: SyntaxError, start: int) -> FilterError:
    offset = exc.offset or 0
    position = start + offset - 1 if offset > 0 else len(text.rstrip())
    position = max(0, min(position, len(text)))
    end = start + exc.end_offset - 1 if exc.end_offset and exc.end_offset > offset else position
    message = (exc.msg or "invalid syntax").split(" (detected at")[0]
    if position >= len(text.rstrip()):
        at = len(text.rstrip())
        return FilterError(f"filter {_show(text)}: it ends too early (a value or a name is "
                           "missing)", expression=text, position=(at, at))
    if text[position:position + 2] in ("=<", "=>"):
        message += f" (write {text[position + 1]}=)"
    elif text[position] == "=" and text[position:position + 2] != "==":
        message += " (compare with ==)"
    return FilterError(f"filter {_show(text)}, column {position + 1}: {message}",
                       expression=text, position=(position, max(end, position + 1)))
