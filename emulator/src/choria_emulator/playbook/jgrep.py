"""The JGrep subset used by ``assert`` on mcollective tasks (§5.1).

``path OP value`` with ``= != < > <= >=``; ``+path`` / ``-path`` for presence; ``and``, ``or``,
``not``/``!`` and parentheses with Ruby precedence (``!`` > ``and`` > ``or``); ``[ ... ]`` for
conditions that must hold within one element of an array. Values: integers and floats compare
numerically when both sides look like numbers, ``true``/``false`` match booleans, ``null`` a
missing or null value, ``/re/`` is a regex, anything else a string (quotes stripped). A path
that reaches an array is searched element by element.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Union

OPERATORS = ("<=", ">=", "!=", "=", "<", ">")
_INT = re.compile(r"^-?\d+$")
_FLOAT = re.compile(r"^-?\d+\.\d+$")
_MISSING = object()


class JGrepError(ValueError):
    """The expression does not parse; the message says where."""


@dataclass
class Statement:
    path: list[str]
    op: str
    value: str | None  # None: nothing after the operator, which JGrep reads as nil (a missing or null field)


@dataclass
class Presence:
    path: list[str]
    present: bool


@dataclass
class Not:
    operand: Node


@dataclass
class BoolOp:
    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass
class Within:
    """``[ ... ]``: every statement inside is evaluated against the same array element."""

    expr: Node


Node = Union[Statement, Presence, Not, BoolOp, Within]


# -- scanning ------------------------------------------------------------------------------
@dataclass
class Token:
    kind: str  # ( ) [ ] and or not statement presence
    text: str
    column: int
    node: Node | None = None


def _scan(expression: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(expression)
    while i < n:
        char = expression[i]
        if char.isspace():
            i += 1
            continue
        if char in "()[]":
            tokens.append(Token(char, char, i + 1))
            i += 1
            continue
        word = re.match(r"(and|or|not)(?=[\s()\[\]]|$)", expression[i:])
        if word:
            tokens.append(Token(word.group(1), word.group(1), i + 1))
            i += len(word.group(1))
            continue
        if char == "!" and not expression[i:].startswith("!="):
            tokens.append(Token("not", "!", i + 1))
            i += 1
            continue
        if char in "+-" and i + 1 < n and not expression[i + 1].isspace():
            path = re.match(r"[^\s()\[\]=<>!]+", expression[i + 1 :])
            if not path:
                raise JGrepError(f"Error at column {i + 1}. Expected a field name after '{char}'")
            tokens.append(
                Token(
                    "presence",
                    expression[i : i + 1 + len(path.group(0))],
                    i + 1,
                    Presence(path.group(0).split("."), char == "+"),
                )
            )
            i += 1 + len(path.group(0))
            continue
        start = i
        path = re.match(r"[^\s()\[\]=<>!]+", expression[i:])
        if not path:
            raise JGrepError(f"Error at column {i + 1}. Unexpected '{char}'")
        i += len(path.group(0))  # JGrep: a statement is one word, no spaces around its operator
        op = next((o for o in OPERATORS if expression.startswith(o, i)), None)
        if op is None:
            raise JGrepError(
                f"Error at column {start + 1}. '{path.group(0)}' is not a statement: "
                "expected field=value, field<value, +field or -field"
            )
        i += len(op)
        value, i = _scan_value(expression, i, start)
        tokens.append(
            Token("statement", expression[start:i], start + 1, Statement(path.group(0).split("."), op, value))
        )
    return tokens


def _scan_value(expression: str, i: int, start: int) -> tuple[str | None, int]:
    """The value after the operator. Nothing (or only more operator characters, ``value==``) is JGrep's
    nil: Ruby's ``split`` on the operators leaves no value, and a missing field equals nil."""
    empty = re.match(r"[=<>]*(?=$|[\s()\[\]])", expression[i:])
    if empty is not None:
        return None, i + len(empty.group(0))
    quote = expression[i]
    if quote in "\"'":
        end = expression.find(quote, i + 1)
        if end < 0:
            raise JGrepError(f"Error at column {i + 1}. Missing closing {quote}")
        return expression[i + 1 : end], end + 1
    if quote == "/":
        end = expression.find("/", i + 1)
        while end > 0 and expression[end - 1] == "\\":
            end = expression.find("/", end + 1)
        if end < 0:
            raise JGrepError(f"Error at column {i + 1}. Missing closing / of the regular expression")
        return expression[i : end + 1], end + 1
    found = re.match(r"[^\s()\[\]]+", expression[i:])
    if not found:
        raise JGrepError(f"Error at column {start + 1}. The statement has no value")
    return found.group(0), i + len(found.group(0))


# -- parsing -------------------------------------------------------------------------------
class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise JGrepError("Error at column 1. The expression is empty")
        node = self.expr()
        extra = self.peek()
        if extra is not None:
            raise JGrepError(f"Error at column {extra.column}. Unexpected '{extra.text}'")
        return node

    def expr(self) -> Node:
        node = self.conjunction()
        while (token := self.peek()) is not None and token.kind == "or":
            self.take()
            node = BoolOp("or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.unary()
        while (token := self.peek()) is not None and token.kind == "and":
            self.take()
            node = BoolOp("and", node, self.unary())
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token is None:
            last = self.tokens[-1]
            raise JGrepError(f"Error at column {last.column}. Expected a statement after '{last.text}'")
        if token.kind == "not":
            self.take()
            return Not(self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.kind in ("statement", "presence"):
            assert token.node is not None
            return token.node
        if token.kind in ("(", "["):
            closing = ")" if token.kind == "(" else "]"
            inner = self.expr()
            end = self.peek()
            if end is None or end.kind != closing:
                raise JGrepError(f"Error at column {token.column}. Missing '{closing}'")
            self.take()
            return inner if token.kind == "(" else Within(inner)
        raise JGrepError(f"Error at column {token.column}. Expression cannot contain '{token.text}' here")


def parse(expression: str) -> Node:
    if not isinstance(expression, str):
        raise JGrepError("the assertion must be a string")
    return _Parser(_scan(expression)).parse()


def validate_expression(expression: str) -> bool | str:
    """``True`` or the parser's error, like ``JGrep.validate_expression``."""
    try:
        parse(expression)
    except JGrepError as exc:
        return str(exc)
    return True


# -- evaluating ----------------------------------------------------------------------------
def matches(document: Any, node: Node) -> bool:
    if isinstance(node, BoolOp):
        if node.op == "and":
            return matches(document, node.left) and matches(document, node.right)
        return matches(document, node.left) or matches(document, node.right)
    if isinstance(node, Not):
        return not matches(document, node.operand)
    if isinstance(node, Presence):
        return _any(document, node.path, lambda value: value is not _MISSING) == node.present
    if isinstance(node, Within):
        return _within(document, node.expr)
    if node.op == "!=":
        return not _any(document, node.path, lambda value: _compare(value, "=", node.value))
    return _any(document, node.path, lambda value: _compare(value, node.op, node.value))


def _any(document: Any, path: list[str], test: Any) -> bool:
    """Walk ``path``; an array on the way is searched element-wise (any element may match)."""
    if not path:
        return bool(test(document))
    if isinstance(document, list):
        return any(_any(item, path, test) for item in document)
    if not isinstance(document, dict) or path[0] not in document:
        return bool(test(_MISSING))
    return _any(document[path[0]], path[1:], test)


def _statements(node: Node) -> list[Statement | Presence]:
    if isinstance(node, (Statement, Presence)):
        return [node]
    if isinstance(node, Not):
        return _statements(node.operand)
    if isinstance(node, Within):
        return _statements(node.expr)
    return _statements(node.left) + _statements(node.right)


def _within(document: Any, expr: Node) -> bool:
    first = _statements(expr)[0]
    current, depth = document, 0
    for depth, part in enumerate(first.path):
        if not isinstance(current, dict) or part not in current:
            return False
        current = current[part]
        if isinstance(current, list):
            prefix = len(first.path[: depth + 1])
            return any(matches(item, _strip(expr, prefix)) for item in current)
    return matches(document, expr)


def _strip(node: Node, prefix: int) -> Node:
    if isinstance(node, Statement):
        return Statement(node.path[prefix:], node.op, node.value)
    if isinstance(node, Presence):
        return Presence(node.path[prefix:], node.present)
    if isinstance(node, Not):
        return Not(_strip(node.operand, prefix))
    if isinstance(node, Within):
        return Within(_strip(node.expr, prefix))
    return BoolOp(node.op, _strip(node.left, prefix), _strip(node.right, prefix))


def _compare(actual: Any, op: str, raw: str | None) -> bool:
    if raw is None:  # JGrep: nil equals a missing or null field; nil does not order
        return (actual is _MISSING or actual is None) if op == "=" else False
    if raw == "null":
        return (actual is _MISSING or actual is None) if op == "=" else False
    if actual is _MISSING or isinstance(actual, (dict, list)):
        return False  # Ruby: a Hash or Array neither equals nor orders against a string
    if raw in ("true", "false") and op == "=":
        return actual is (raw == "true") or (isinstance(actual, str) and actual == raw)
    if len(raw) >= 2 and raw.startswith("/") and raw.endswith("/"):
        try:
            found = re.search(raw[1:-1], actual if isinstance(actual, str) else _text(actual))
        except re.error:
            return False
        return bool(found) if op == "=" else False
    left: Any = actual
    right: Any = raw
    text = _text(actual)
    if _INT.match(text) and _INT.match(raw):
        left, right = int(text), int(raw)
    elif (
        _FLOAT.match(text)
        and _FLOAT.match(raw)
        or (_FLOAT.match(text) and _INT.match(raw))
        or (_INT.match(text) and _FLOAT.match(raw))
    ):
        left, right = float(text), float(raw)
    elif not isinstance(actual, str):
        left = text
    try:
        if op == "=":
            return bool(left == right)
        if op == "<":
            return bool(left < right)
        if op == ">":
            return bool(left > right)
        if op == "<=":
            return bool(left <= right)
        if op == ">=":
            return bool(left >= right)
    except TypeError:
        return False
    return False


def _text(value: Any) -> str:
    from .rubyfmt import to_s

    return to_s(value)


def jgrep(documents: list[Any], expression: str | Node) -> list[Any]:
    """The documents that match ``expression`` (a document that cannot be evaluated does not)."""
    node = parse(expression) if isinstance(expression, str) else expression
    return [doc for doc in documents if _safe(doc, node)]


def _safe(document: Any, node: Node) -> bool:
    try:
        return matches(document, node)
    except (TypeError, ValueError, KeyError, RecursionError):
        return False
