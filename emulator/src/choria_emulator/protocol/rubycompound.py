"""Compound filters as the Ruby ``mco`` sends them: MCollective's call stack (``mco find -S``).

mcollective 2.12 parses ``-S "role=web and not /db/"`` on the client into a list of one-key
objects — ``{"statement": "role=web"}``, ``{"and": "and"}``, ``{"or": "or"}``, ``{"not": "not"}``,
``{"(": "("}``, ``{")": ")"}`` and ``{"fstatement": {...}}`` for data plugin calls — and the
Ruby daemon (``Security::Base#validate_filter?``) turns each statement into ``true``/``false``
and ``eval``s the joined Ruby boolean expression. go-choria only knows ``[{"expr": ...}]``
queries, so without this a real ``mco -S`` matched no emulated node.

A statement means what the same text means to ``-F``/``-C`` on an emulated node (go-choria's
fact and class matchers, :mod:`.matching`): ``/re/`` or a bare word is a class, text with one of
``>= <= = < >`` a fact filter (``ParseFactFilterString``). Emulated nodes have no data plugins,
so an ``fstatement`` fails its query, as a Ruby daemon fails it without the plugin. Operator
precedence is Ruby's: ``!`` binds tighter than ``&&``, which binds tighter than ``||``.
"""

from __future__ import annotations

from typing import Any, Callable

from .errors import ProtocolError
from .matching import FactFilter, match_classes, match_facts

KEYS = frozenset({"statement", "fstatement", "and", "or", "not", "(", ")"})
_FACT_OPERATOR_CHARS = ("=", "<", ">")
CACHE_LIMIT = 1024

Test = Callable[[Any], bool]


def _never(node: Any) -> bool:
    return False


def is_ruby_query(query: Any) -> bool:
    """Whether a ``compound`` entry is a Ruby call stack (every item a one-key object of :data:`KEYS`)."""
    return (
        isinstance(query, list)
        and bool(query)
        and all(isinstance(item, dict) and len(item) == 1 and next(iter(item)) in KEYS for item in query)
    )


def statement_test(statement: str) -> Test:
    """What one ``statement`` checks on a node (Ruby ``Matcher.eval_compound_statement``)."""
    if statement.startswith("/"):
        inner = statement.strip("/")
        entries = [f"/{inner}/"]
        return lambda node: match_classes(entries, node.classes)
    if any(c in statement for c in _FACT_OPERATOR_CHARS):
        try:
            filters = [FactFilter.parse(statement)]
        except ProtocolError:
            return _never
        return lambda node: match_facts(filters, node.facts)
    classes = [statement]
    return lambda node: match_classes(classes, node.classes)


class _Parser:
    """Recursive descent over the call stack: or := and ('or' and)*; and := not ('and' not)*;
    not := 'not' not | '(' or ')' | statement."""

    def __init__(self, items: list[tuple[str, Any]]):
        self.items = items
        self.pos = 0

    def peek(self) -> str | None:
        return self.items[self.pos][0] if self.pos < len(self.items) else None

    def take(self) -> tuple[str, Any]:
        item = self.items[self.pos]
        self.pos += 1
        return item

    def parse(self) -> Test:
        test = self.disjunction()
        if self.pos != len(self.items):
            raise ValueError(f"unexpected {self.peek()!r}")
        return test

    def disjunction(self) -> Test:
        tests = [self.conjunction()]
        while self.peek() == "or":
            self.take()
            tests.append(self.conjunction())
        return tests[0] if len(tests) == 1 else (lambda node: any(t(node) for t in tests))

    def conjunction(self) -> Test:
        tests = [self.negation()]
        while self.peek() == "and":
            self.take()
            tests.append(self.negation())
        return tests[0] if len(tests) == 1 else (lambda node: all(t(node) for t in tests))

    def negation(self) -> Test:
        kind = self.peek()
        if kind is None:
            raise ValueError("expression ends early")
        if kind == "not":
            self.take()
            inner = self.negation()
            return lambda node: not inner(node)
        if kind == "(":
            self.take()
            inner = self.disjunction()
            if self.peek() != ")":
                raise ValueError("missing )")
            self.take()
            return inner
        key, value = self.take()
        if key == "statement" and isinstance(value, str):
            return statement_test(value)
        if key == "fstatement":
            return _never  # no data plugins on emulated nodes
        raise ValueError(f"unexpected {key!r}")


_compiled: dict[tuple[tuple[str, Any], ...], Test] = {}


def compile_query(query: list[dict[str, Any]]) -> Test:
    """The node test of one Ruby call stack; one that does not parse never matches (Ruby's ``eval`` raises)."""
    items = tuple(
        (key, value if isinstance(value, str) else repr(value)) for item in query for key, value in item.items()
    )
    test = _compiled.get(items)
    if test is None:
        try:
            test = _Parser(list(items)).parse()
        except ValueError:
            test = _never
        if len(_compiled) >= CACHE_LIMIT:
            del _compiled[next(iter(_compiled))]
        _compiled[items] = test
    return test


def match_ruby_query(query: list[dict[str, Any]], node: Any) -> bool:
    return bool(compile_query(query)(node))
