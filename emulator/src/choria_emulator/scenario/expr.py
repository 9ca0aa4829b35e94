"""``{{ expression }}`` templates in scenario values, checked when the file loads.

An expression is a small, safe subset of Python's syntax: names, ``a.b`` and ``a["b"]`` lookups
(missing keys give ``null``), literals, ``+ - * / // %``, comparisons, ``and``/``or``/``not``,
``x if c else y``, and a few functions (``int``, ``float``, ``str``, ``bool``, ``len``, ``round``,
``min``, ``max``, ``abs``, ``lower``, ``upper``). ``true``, ``false`` and ``null`` are JSON's.
The names a node offers are in :data:`NODE_NAMES` and :data:`REQUEST_NAMES`; an unknown name, an
undeclared state variable or an input the DDL does not have is an error that names the field.

A value that is exactly one ``{{ ... }}`` keeps the expression's type (``"{{ state.enabled }}"``
is a boolean); text around it makes a string. Each template knows which per-node names it reads
(:attr:`Template.node_refs`), so a reply that reads none is built once per request and one that
reads only state is built once per distinct state.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any, Callable

from .errors import ScenarioError

NODE_NAMES = ("identity", "index", "name", "facts", "classes", "state", "counter")
REQUEST_NAMES = ("inputs", "now", "agent", "action", "caller", "sender", "requestid", "collective", "seed")
CONSTANTS = {"true": True, "false": False, "null": None}


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def items(text: Any) -> list[str]:
    """A comma list held in a string state variable: ``"httpd,ntpd"`` -> ``["httpd", "ntpd"]``."""
    if not isinstance(text, str):
        return []
    return [item.strip() for item in text.split(",") if item.strip()]


def _join(values: list[str]) -> str:
    return ",".join(values)


def has_item(text: Any, item: Any) -> bool:
    return str(item) in items(text)


def add_item(text: Any, item: Any) -> str:
    present = items(text)
    return _join(present if str(item) in present else [*present, str(item)])


def remove_item(text: Any, item: Any) -> str:
    return _join([entry for entry in items(text) if entry != str(item)])


def _pairs(text: Any) -> list[tuple[str, str]]:
    return [(entry.partition("=")[0], entry.partition("=")[2]) for entry in items(text)]


def get_item(text: Any, key: Any, default: Any = None) -> Any:
    """``key=value`` entries of a comma list: ``get_item("httpd=2.4,ntp=4.2", "ntp")`` -> ``"4.2"``."""
    for name, value in _pairs(text):
        if name == str(key):
            return value
    return default


def set_item(text: Any, key: Any, value: Any) -> str:
    pairs = [(name, old) for name, old in _pairs(text) if name != str(key)]
    return _join([f"{name}={old}" for name, old in [*pairs, (str(key), render_text(value))]])


def del_item(text: Any, key: Any) -> str:
    return _join([f"{name}={value}" for name, value in _pairs(text) if name != str(key)])


def _replace(text: Any, old: Any, new: Any) -> Any:
    return text.replace(str(old), str(new)) if isinstance(text, str) else text


def render_text(value: Any) -> str:
    """A value inside text: JSON's spelling for booleans, null and structures."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "items": items,
    "has_item": has_item,
    "add_item": add_item,
    "remove_item": remove_item,
    "get_item": get_item,
    "set_item": set_item,
    "del_item": del_item,
    "replace": _replace,
    "int": int,
    "float": float,
    "str": render_text,
    "bool": bool,
    "len": len,
    "round": round,
    "min": min,
    "max": max,
    "abs": abs,
    "lower": _lower,
    "upper": _upper,
}
_ALLOWED = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.IfExp,
    ast.Call,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.Subscript,
    ast.List,
    ast.Tuple,
    ast.Dict,
)
# What a failing expression may raise at run time; the value is then null.
RUNTIME_ERRORS = (ArithmeticError, TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError)


def _get(container: Any, key: Any) -> Any:
    try:
        return container[key]
    except (KeyError, IndexError, TypeError):
        return None


_GLOBALS: dict[str, Any] = {"__builtins__": {}, "_get": _get, **FUNCTIONS}


class Names:
    """What a template may refer to; the model checks ``state.X`` and ``inputs.X`` against these."""

    def __init__(
        self,
        state: set[str] | frozenset[str],
        inputs: set[str] | frozenset[str] | None = None,
        request: bool = True,
        what: str = "",
    ):
        self.state = state
        self.inputs = inputs
        self.request = request
        self.what = what  # e.g. "puppet#status" for messages

    def allowed(self) -> tuple[str, ...]:
        return NODE_NAMES + (REQUEST_NAMES if self.request else ("now", "seed"))


class _Rewrite(ast.NodeTransformer):
    """Checks every node and turns lookups into ``_get`` calls; collects the names read."""

    def __init__(self, names: Names, where: str, source: str):
        self.names = names
        self.where = where
        self.source = source
        self.refs: set[str] = set()

    def fail(self, message: str) -> ScenarioError:
        return ScenarioError(f"{self.where}: {message} in {{{{ {self.source} }}}}")

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if not isinstance(node, _ALLOWED):
            raise self.fail(f"{type(node).__name__} is not allowed")
        return super().generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if not isinstance(node.value, (str, int, float, bool, type(None))):
            raise self.fail(f"the constant {node.value!r} is not allowed")
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            raise self.fail(f"only the functions {', '.join(FUNCTIONS)} can be called, without keywords")
        node.args = [self.visit(arg) for arg in node.args]
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in CONSTANTS:
            return ast.copy_location(ast.Constant(CONSTANTS[node.id]), node)
        if node.id not in self.names.allowed():
            raise self.fail(f"unknown name {node.id!r} (names: {', '.join(self.names.allowed())})")
        self.refs.add(node.id)
        return node

    def _lookup(self, node: ast.AST, value: ast.AST, key: ast.AST) -> ast.AST:
        if isinstance(value, ast.Name) and isinstance(key, ast.Constant) and isinstance(key.value, str):
            self._check_member(value.id, key.value)
        elif isinstance(value, ast.Name) and value.id == "state":
            self.refs |= {f"state.{name}" for name in self.names.state}  # a computed key may read any variable
        value = self.visit(value)
        key = self.visit(key)
        call = ast.Call(func=ast.Name(id="_get", ctx=ast.Load()), args=[value, key], keywords=[])
        return ast.copy_location(call, node)

    def _check_member(self, root: str, member: str) -> None:
        if root == "state":
            if member not in self.names.state:
                declared = ", ".join(sorted(self.names.state)) or "none"
                raise self.fail(f"state.{member} is not a declared state variable (declared: {declared})")
            self.refs.add(f"state.{member}")
        elif root == "inputs" and self.names.inputs is not None and member not in self.names.inputs:
            known = ", ".join(sorted(self.names.inputs)) or "none"
            raise self.fail(f"inputs.{member} is not an input of {self.names.what or 'this action'} (inputs: {known})")

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        return self._lookup(node, node.value, ast.Constant(node.attr))

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        key = node.slice
        if not isinstance(key, ast.expr):  # ast.Slice / ExtSlice
            raise self.fail("slices are not allowed")
        return self._lookup(node, node.value, key)


_LOOKUP = re.compile(r"^([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?$")


class Expr:
    """One compiled expression; a plain ``name`` or ``root.member`` skips ``eval`` (most reply fields)."""

    __slots__ = ("source", "code", "refs", "lookup")

    def __init__(self, source: str, names: Names, where: str):
        self.source = source.strip()
        try:
            tree = ast.parse(self.source, mode="eval")
        except SyntaxError as exc:
            raise ScenarioError(f"{where}: cannot parse {{{{ {self.source} }}}}: {exc.msg}") from None
        rewrite = _Rewrite(names, where, self.source)
        tree = ast.fix_missing_locations(rewrite.visit(tree))
        refs = set(rewrite.refs)
        if "state" in refs:
            refs.discard("state")
            if not any(ref.startswith("state.") for ref in refs):
                refs |= {f"state.{name}" for name in names.state}  # the whole state, e.g. len(state)
        self.refs = frozenset(refs)
        self.code = compile(tree, "<scenario>", "eval")
        plain = _LOOKUP.match(self.source)
        self.lookup = (plain.group(1), plain.group(2)) if plain and plain.group(1) not in CONSTANTS else None

    def evaluate(self, context: dict[str, Any]) -> Any:
        """The value, or None when it fails at run time (``null + 1``)."""
        lookup = self.lookup
        if lookup is not None:
            value = context.get(lookup[0])
            return value if lookup[1] is None else _get(value, lookup[1])
        try:
            return eval(self.code, _GLOBALS, context)  # the tree was checked node by node
        except RUNTIME_ERRORS:
            return None


_PART = re.compile(r"\{\{(.*?)\}\}", re.S)
NODE_ROOTS = frozenset(NODE_NAMES)


class Template:
    """A scenario value: a constant, one expression (typed), text with expressions, or a list/map of these."""

    __slots__ = ("constant", "value", "parts", "items", "kind", "refs", "node_refs")

    def __init__(self, spec: Any, names: Names, where: str):
        self.constant = True
        self.value = spec
        self.parts: list[str | Expr] = []
        self.items: Any = None
        self.kind = "constant"
        refs: set[str] = set()
        if isinstance(spec, str) and "{{" in spec:
            matches = list(_PART.finditer(spec))
            if not matches:
                raise ScenarioError(f"{where}: '{{{{' without a closing '}}}}' in {spec!r}")
            self.constant = False
            if len(matches) == 1 and matches[0].span() == (0, len(spec.rstrip())) and not spec[: matches[0].start()]:
                expr = Expr(matches[0].group(1), names, where)
                self.kind, self.parts = "expr", [expr]
                refs |= expr.refs
            else:
                self.kind = "text"
                position = 0
                for match in matches:
                    if match.start() > position:
                        self.parts.append(spec[position : match.start()])
                    expr = Expr(match.group(1), names, where)
                    self.parts.append(expr)
                    refs |= expr.refs
                    position = match.end()
                if position < len(spec):
                    self.parts.append(spec[position:])
        elif isinstance(spec, dict):
            self.items = {}
            for key, item in spec.items():
                template = Template(item, names, f"{where}.{key}")
                self.items[key] = template
                refs |= template.refs
            self.constant = all(t.constant for t in self.items.values())
            self.kind = "dict" if not self.constant else "constant"
        elif isinstance(spec, list):
            self.items = [Template(item, names, f"{where}[{i}]") for i, item in enumerate(spec)]
            for template in self.items:
                refs |= template.refs
            self.constant = all(t.constant for t in self.items)
            self.kind = "list" if not self.constant else "constant"
        self.refs = frozenset(refs)
        # the per-node names this template reads (identity, state.enabled, ...): what makes bodies differ
        self.node_refs = frozenset(ref for ref in self.refs if ref.split(".", 1)[0] in NODE_ROOTS)

    def render(self, context: dict[str, Any]) -> Any:
        kind = self.kind
        if kind == "constant":
            return self.value
        if kind == "expr":
            return self.parts[0].evaluate(context)  # type: ignore[union-attr]  # an "expr" template is one Expression
        if kind == "text":
            return "".join(
                part if isinstance(part, str) else render_text(part.evaluate(context)) for part in self.parts
            )
        if kind == "dict":
            return {key: template.render(context) for key, template in self.items.items()}
        return [template.render(context) for template in self.items]
