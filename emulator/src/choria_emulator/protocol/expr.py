"""A small expression language: the subset of expr-lang (antonmedv/expr) Choria compound filters use.

:func:`compile_expression` tokenizes and parses an expression once (precedence climbing with
expr's operator table) into a tree of Python closures; running it is one call per node.
Names the caller does not define evaluate to ``nil`` (expr's ``AllowUndefinedVariables``).
Type errors at run time raise :class:`ExprError`; so do unknown functions at compile time.
What is supported, operator by operator, is listed in docs/protocol.md.
"""

from __future__ import annotations

import math
import operator
import re
from typing import Any, Callable

from ..compat import slotted_dataclass
from .goregex import compile_go

Env = Any
Fn = Callable[[Env], Any]
MAX_LENGTH = 10_000
MAX_DEPTH = 64


class ExprError(ValueError):
    """The expression does not compile, or failed while running on one node."""


# ---- tokens --------------------------------------------------------------------------------

WORD_OPERATORS = {"and", "or", "in", "matches", "contains", "startsWith", "endsWith", "not"}
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+
               |(?:[0-9][0-9_]*(?:\.(?!\.)[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<op>\?\.|\?\?|\.\.|==|!=|<=|>=|&&|\|\||\*\*|[-+*/%^!<>?:.,()\[\]{}|&~#])
    """,
    re.VERBOSE,
)
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"'}
_ESCAPE = re.compile(
    r"\\(?:([abfnrtv\\'\"])|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-7]{3})|(.))", re.S
)


@slotted_dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, op, eof
    text: str
    value: Any = None


def _unquote(literal: str) -> str:
    if literal[0] == "`":
        return literal[1:-1]

    def replace(match: re.Match[str]) -> str:
        simple, hex2, hex4, hex8, octal, bad = match.groups()
        if simple:
            return _ESCAPES[simple]
        if bad is not None:
            raise ExprError(f"invalid escape sequence \\{bad}")
        code = int(hex2 or hex4 or hex8 or octal, 8 if octal else 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise ExprError("invalid unicode escape")
        return chr(code)

    return _ESCAPE.sub(replace, literal[1:-1])


def _number(text: str) -> int | float:
    clean = text.replace("_", "")
    try:
        if clean[:2].lower() in ("0x", "0o", "0b"):
            value = int(clean, 0)
        elif any(c in clean for c in ".eE"):
            return float(clean)
        else:
            value = int(clean, 10)
    except ValueError:
        raise ExprError(f"invalid number literal {text}") from None
    if not -(2**63) <= value < 2**63:
        raise ExprError(f"integer literal {text} out of range")
    return value


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise ExprError(f"unrecognized character {source[pos]!r} at {pos}")
        pos = match.end()
        kind = match.lastgroup
        text = match.group()
        if kind == "space":
            continue
        if kind == "number":
            if pos < len(source) and (source[pos].isalnum() or source[pos] == "_"):
                raise ExprError(f"bad number syntax {text + source[pos]!r}")
            tokens.append(Token("number", text, _number(text)))
        elif kind == "string":
            tokens.append(Token("string", text, _unquote(text)))
        elif kind == "name" and text in WORD_OPERATORS:
            tokens.append(Token("op", text))
        else:
            tokens.append(Token("op" if kind == "op" else "name", text))
    # expr's lexer joins "not in" into one operator
    joined: list[Token] = []
    for token in tokens:
        if (
            token.kind == "op"
            and token.text == "in"
            and joined
            and joined[-1].kind == "op"
            and joined[-1].text == "not"
        ):
            joined[-1] = Token("op", "not in")
        else:
            joined.append(token)
    joined.append(Token("eof", ""))
    return joined


# ---- run-time semantics (expr's runtime package) -------------------------------------------


def _type(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "map"
    return type(value).__name__


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def equal(a: Any, b: Any) -> bool:
    """expr ``==``: numbers compare by value across int/float, other types only with their own."""
    if is_number(a) and is_number(b):
        return bool(a == b)
    if a is None or b is None:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    return bool(a == b)


def _bool(value: Any, what: str) -> bool:
    if value is True or value is False:
        return value
    raise ExprError(f"invalid operation: {what} on {_type(value)} (expected bool)")


COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
}  # fmt: skip


def _compare(op: str, a: Any, b: Any) -> bool:
    if (is_number(a) and is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
        return COMPARISONS[op](a, b)
    raise ExprError(f"invalid operation: {_type(a)} {op} {_type(b)}")


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, (list, tuple)):
        return any(equal(item, element) for element in container)
    if isinstance(container, dict):
        if not isinstance(item, str):
            raise ExprError(f"cannot use {_type(item)} as map key")
        return item in container
    raise ExprError(f'operator "in" not defined on {_type(container)}')


# expr's string operators: ``a contains b``, ``a startsWith b``, ``a endsWith b``.
_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda text, part: part in text,
    "startsWith": str.startswith,
    "endsWith": str.endswith,
}


def _strings(op: str, a: Any, b: Any) -> tuple[str, str]:
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    raise ExprError(f"invalid operation: {_type(a)} {op} {_type(b)}")


def _arithmetic(op: str, a: Any, b: Any) -> Any:
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    if not (is_number(a) and is_number(b)):
        raise ExprError(f"invalid operation: {_type(a)} {op} {_type(b)}")
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:  # Go float division: ±Inf, or NaN for 0/0
            return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1, b)
        return a / b
    if op == "%":
        if not (isinstance(a, int) and isinstance(b, int)):
            raise ExprError(f"invalid operation: {_type(a)} % {_type(b)}")
        if b == 0:
            raise ExprError("integer divide by zero")
        remainder = abs(a) % abs(b)
        return remainder if a >= 0 else -remainder  # Go truncates toward zero
    try:
        return math.pow(a, b)
    except (OverflowError, ValueError):
        return math.inf if a > 0 else math.nan


def _member(container: Any, key: Any, nil_safe: bool) -> Any:
    if container is None:
        if nil_safe:
            return None
        raise ExprError(f"cannot fetch {key} from nil")
    if isinstance(container, dict):
        if not isinstance(key, str):
            raise ExprError(f"cannot use {_type(key)} as map key")
        return container.get(key)
    if isinstance(container, (list, tuple, str)) and isinstance(key, int) and not isinstance(key, bool):
        index = key + len(container) if key < 0 else key
        if not 0 <= index < len(container):
            raise ExprError(f"index out of range: {key} (array length is {len(container)})")
        return container[index]
    raise ExprError(f"cannot fetch {key!r} from {_type(container)}")


# ---- compiled nodes -----------------------------------------------------------------------


@slotted_dataclass(frozen=True)
class Node:
    """A compiled sub-expression: ``run(env)`` plus what the compiler may know statically."""

    run: Fn
    kind: str = "any"  # bool, number, string, array, nil or any
    const: Any = None
    is_const: bool = False


def constant(value: Any, kind: str) -> Node:
    return Node(lambda env: value, kind, value, True)


def _ternary(cond: Fn, yes: Fn, no: Fn) -> Node:
    """``cond ? yes : no``; a function of its own so that each closure keeps its own three parts."""
    return Node(lambda env: yes(env) if _bool(cond(env), "?:") else no(env))


@slotted_dataclass(frozen=True)
class Function:
    """A function callable from expressions; ``compile_call`` may specialise on constant arguments."""

    arity: int
    call: Callable[..., Any]
    kind: str = "any"
    compile_call: Callable[[list[Node]], Node | None] | None = None


BUILTINS: dict[str, Function] = {
    "len": Function(1, lambda env, v: _len(v), "number"),
    "lower": Function(1, lambda env, v: _strings("lower", v, "")[0].lower(), "string"),
    "upper": Function(1, lambda env, v: _strings("upper", v, "")[0].upper(), "string"),
}


def _len(value: Any) -> int:
    if isinstance(value, (str, list, tuple, dict)):
        return len(value)
    raise ExprError(f"invalid argument for len (type {_type(value)})")


# expr's precedence table (parser/parser.go); unary not/! bind tighter than comparisons
BINARY = {
    "or": 10, "||": 10, "and": 15, "&&": 15,
    "==": 20, "!=": 20, "<": 20, ">": 20, ">=": 20, "<=": 20,
    "in": 20, "not in": 20, "matches": 20, "contains": 20, "startsWith": 20, "endsWith": 20,
    "+": 30, "-": 30, "^": 40, "*": 60, "/": 60, "%": 60, "**": 70,
}  # fmt: skip
RIGHT_ASSOCIATIVE = {"**"}
UNARY = {"not": 50, "!": 50, "-": 500, "+": 500}


class Parser:
    def __init__(self, source: str, names: dict[str, Fn], functions: dict[str, Function]):
        if len(source) > MAX_LENGTH:
            raise ExprError(f"expression longer than {MAX_LENGTH} characters")
        self.tokens = tokenize(source)
        self.pos = 0
        self.names = names
        self.functions = {**BUILTINS, **functions}
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind != "eof":
            self.pos += 1
        return token

    def expect(self, text: str) -> None:
        token = self.advance()
        if token.kind != "op" or token.text != text:
            raise ExprError(f"unexpected token {token.text or 'EOF'!r}, expected {text!r}")

    def is_op(self, *texts: str) -> bool:
        token = self.current
        return token.kind == "op" and token.text in texts

    def parse(self) -> Node:
        node = self.expression(0)
        if self.current.kind != "eof":
            raise ExprError(f"unexpected token {self.current.text!r}")
        return node

    def expression(self, precedence: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(f"expression nested deeper than {MAX_DEPTH}")
        left = self.unary()
        while self.current.kind == "op" and self.current.text in BINARY:
            op = self.current.text
            level = BINARY[op]
            if level < precedence:
                break
            self.advance()
            right = self.expression(level if op in RIGHT_ASSOCIATIVE else level + 1)
            left = binary(op, left, right)
        if precedence == 0:
            left = self.conditional(left)
        self.depth -= 1
        return left

    def conditional(self, condition: Node) -> Node:
        while self.is_op("?"):
            self.advance()
            if self.is_op(":"):
                self.advance()
                when_true, when_false = condition, self.expression(0)
            else:
                when_true = self.expression(0)
                self.expect(":")
                when_false = self.expression(0)
            condition = _ternary(condition.run, when_true.run, when_false.run)
        return condition

    def unary(self) -> Node:
        token = self.current
        if token.kind == "op" and token.text in UNARY:
            self.advance()
            operand = self.expression(UNARY[token.text])
            return self.postfix(unary(token.text, operand))
        if self.is_op("("):
            self.advance()
            inner = self.expression(0)
            self.expect(")")
            return self.postfix(inner)
        return self.postfix(self.primary())

    def primary(self) -> Node:
        token = self.advance()
        if token.kind == "number":
            return constant(token.value, "number")
        if token.kind == "string":
            return constant(token.value, "string")
        if token.kind == "name":
            if token.text in ("true", "false"):
                return constant(token.text == "true", "bool")
            if token.text == "nil":
                return constant(None, "nil")
            if self.is_op("("):
                return self.call(token.text)
            if token.text in self.functions:
                raise ExprError(f"function {token.text} used as a value")
            getter = self.names.get(token.text)
            return Node(getter) if getter is not None else constant(None, "nil")
        if token.kind == "op" and token.text == "[":
            items: list[Node] = []
            while not self.is_op("]"):
                if items:
                    self.expect(",")
                    if self.is_op("]"):
                        break
                items.append(self.expression(0))
            self.expect("]")
            if all(item.is_const for item in items):
                return constant([item.const for item in items], "array")
            runs = [item.run for item in items]
            return Node(lambda env: [run(env) for run in runs], "array")
        raise ExprError(f"unexpected token {token.text or 'EOF'!r}")

    def call(self, name: str) -> Node:
        function = self.functions.get(name)
        if function is None:
            raise ExprError(f"unknown func {name}")
        self.expect("(")
        args: list[Node] = []
        while not self.is_op(")"):
            if args:
                self.expect(",")
            args.append(self.expression(0))
        self.expect(")")
        if len(args) != function.arity:
            raise ExprError(f"{name}() takes {function.arity} argument(s), got {len(args)}")
        if function.compile_call is not None:
            special = function.compile_call(args)
            if special is not None:
                return special
        call, runs = function.call, [a.run for a in args]
        if len(runs) == 1:
            only = runs[0]
            return Node(lambda env: call(env, only(env)), function.kind)
        if len(runs) == 2:
            first, second = runs
            return Node(lambda env: call(env, first(env), second(env)), function.kind)
        return Node(lambda env: call(env, *[run(env) for run in runs]), function.kind)

    def postfix(self, node: Node) -> Node:
        while self.current.kind == "op" and self.current.text in (".", "?.", "["):
            op = self.advance().text
            if op == "[":
                index = self.expression(0)
                self.expect("]")
                node = member(node, index, nil_safe=False)
            else:
                name = self.advance()
                if name.kind not in ("name", "op") or not re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*", name.text):
                    raise ExprError("expected name")
                if self.is_op("("):
                    raise ExprError(f"method calls are not supported ({name.text})")
                node = member(node, constant(name.text, "string"), nil_safe=op == "?.")
        return node


def member(container: Node, key: Node, nil_safe: bool) -> Node:
    get, get_key = container.run, key.run
    if key.is_const:
        fixed = key.const
        return Node(lambda env: _member(get(env), fixed, nil_safe))
    return Node(lambda env: _member(get(env), get_key(env), nil_safe))


def unary(op: str, operand: Node) -> Node:
    run = operand.run
    if op in ("not", "!"):
        if operand.kind not in ("bool", "any"):
            raise ExprError(f"invalid operation: {op} ({operand.kind})")
        return Node(lambda env: not _bool(run(env), op), "bool")

    def sign(env: Env) -> Any:
        value = run(env)
        if not is_number(value):
            raise ExprError(f"invalid operation: {op} ({_type(value)})")
        return -value if op == "-" else value

    return Node(sign, "number")


def binary(op: str, left: Node, right: Node) -> Node:
    a, b = left.run, right.run
    if op in ("and", "&&", "or", "||"):
        for side in (left, right):
            if side.kind not in ("bool", "any"):
                raise ExprError(f"invalid operation: {op} on {side.kind}")
        if op in ("and", "&&"):
            return Node(lambda env: _bool(a(env), op) and _bool(b(env), op), "bool")
        return Node(lambda env: _bool(a(env), op) or _bool(b(env), op), "bool")
    if op == "==":
        return Node(lambda env: equal(a(env), b(env)), "bool")
    if op == "!=":
        return Node(lambda env: not equal(a(env), b(env)), "bool")
    if op in ("<", ">", "<=", ">="):
        return Node(lambda env: _compare(op, a(env), b(env)), "bool")
    if op == "in":
        return Node(lambda env: _contains(b(env), a(env)), "bool")
    if op == "not in":
        return Node(lambda env: not _contains(b(env), a(env)), "bool")
    if op == "matches":
        return _matches(left, right)
    if op in _STRING_TESTS:
        test = _STRING_TESTS[op]
        return Node(lambda env: test(*_strings(op, a(env), b(env))), "bool")
    arith = "**" if op == "^" else op
    kind = "string" if op == "+" and "string" in (left.kind, right.kind) else "number"
    return Node(lambda env: _arithmetic(arith, a(env), b(env)), kind)


def _matches(left: Node, right: Node) -> Node:
    a = left.run
    if right.is_const:
        if not isinstance(right.const, str):
            raise ExprError("matches needs a string pattern")
        search = compile_go(right.const)
        if search is None:
            raise ExprError(f"invalid regexp {right.const!r}")

        def fixed(env: Env) -> bool:
            text = a(env)
            if not isinstance(text, str):
                raise ExprError(f"invalid operation: {_type(text)} matches string")
            return search(text)

        return Node(fixed, "bool")
    b = right.run

    def dynamic(env: Env) -> bool:
        text, source = _strings("matches", a(env), b(env))
        compiled = compile_go(source)
        if compiled is None:
            raise ExprError(f"invalid regexp {source!r}")
        return compiled(text)

    return Node(dynamic, "bool")


def compile_expression(source: str, names: dict[str, Fn], functions: dict[str, Function], as_bool: bool = True) -> Node:
    """Parse ``source`` once into a runnable :class:`Node` (``names``: identifier → getter)."""
    try:
        node = Parser(source, names, functions).parse()
    except RecursionError:
        raise ExprError("expression nested too deeply") from None
    if as_bool and node.kind not in ("bool", "any"):
        raise ExprError(f"expected bool, but got {node.kind}")
    return node
