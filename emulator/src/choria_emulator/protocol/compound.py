"""Compound filters: go-choria's expr-lang expressions over ``classes``, ``agents`` and ``facts``.

Environment (go-choria ``filter/compound``): ``agents`` and ``classes`` (lists of strings),
``facts`` (the fact tree; member access ``facts.os.family`` / ``facts["os"]`` is our addition,
see docs/protocol.md), and the functions ``with("<fact filter|class|agent>")``, ``fact("path")``,
``include(list, x)`` and ``semver(version, constraint)``.

A request's ``compound`` list holds queries shaped ``[{"expr": "..."}]`` (or the Ruby ``mco``'s
call stacks, evaluated by :mod:`.rubycompound`). As go-choria's
``MatchExprString``: a malformed query fails the whole filter; a query that does not compile,
errors while running or returns a non-bool counts as failed; a true result counts +1, a false
one -1; the filter matches when nothing failed and the count is above zero. Each expression is
compiled once per process and cached; failures are counted per program and logged at a
bounded rate (one hostile request may carry many).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Callable

from ..ratelog import RateLimitedLog
from ..semver import SemVerError
from ..semver.masterminds import satisfies
from .errors import ProtocolError
from .expr import ExprError, Function, Node, compile_expression, equal
from .factfilter import FactFilter, match_facts
from .gjson import lookup_fact
from .goregex import never
from .matching import NodeView, match_agents, match_classes
from .rubycompound import compile_query, is_ruby_query

log = logging.getLogger("choria_emulator.compound")
_limited = RateLimitedLog(log)  # hostile requests can carry any number of bad expressions
CACHE_LIMIT = 1024


def _string(value: Any, function: str) -> str:
    if not isinstance(value, str):
        raise ExprError(f"{function}() needs a string argument, got {type(value).__name__}")
    return value


@lru_cache(maxsize=1024)
def with_matcher(query: str) -> Callable[[NodeView], bool]:
    """What ``with(query)`` tests, decided once per query: a fact filter, else a class or agent."""
    try:
        fact_filter = FactFilter.parse(query)
    except ProtocolError:
        entries = [query]
        return lambda node: match_classes(entries, node.classes) or match_agents(entries, node.agents)
    filters = [fact_filter]
    return lambda node: match_facts(filters, node.facts)


def _with_call(node: NodeView, query: Any) -> bool:
    return with_matcher(_string(query, "with"))(node)


def _with_compile(args: list[Node]) -> Node | None:
    if not args[0].is_const:
        return None
    matcher = with_matcher(_string(args[0].const, "with"))
    return Node(matcher, "bool")


def _fact_call(node: NodeView, path: Any) -> Any:
    found, value = lookup_fact(node.facts, _string(path, "fact"))
    return value if found else None


def _fact_compile(args: list[Node]) -> Node | None:
    if not args[0].is_const:
        return None
    path = _string(args[0].const, "fact")
    return Node(lambda node: _fact_call(node, path))


def _include_call(node: NodeView, haystack: Any, needle: Any) -> bool:
    if not isinstance(haystack, (list, tuple)):
        raise ExprError(f"include() needs a list, got {type(haystack).__name__}")
    return any(equal(item, needle) for item in haystack)


def _semver_call(node: NodeView, version: Any, constraint: Any) -> bool:
    try:
        return satisfies(_string(version, "semver"), _string(constraint, "semver"))
    except SemVerError as exc:
        raise ExprError(str(exc)) from None


FUNCTIONS = {
    "with": Function(1, _with_call, "bool", _with_compile),
    "fact": Function(1, _fact_call, "any", _fact_compile),
    "include": Function(2, _include_call, "bool"),
    "semver": Function(2, _semver_call, "bool"),
}
NAMES = {
    "agents": lambda node: node.agents,
    "classes": lambda node: node.classes,
    "facts": lambda node: node.facts,
}
_RUNTIME_ERRORS = (ExprError, TypeError, ValueError, IndexError, KeyError, OverflowError, RecursionError)


class Program:
    """One compiled compound expression, or the reason it does not compile."""

    __slots__ = ("source", "node", "error", "failures")

    def __init__(self, source: str):
        self.source = source
        self.failures = 0
        self.node: Node | None = None
        self.error = ""
        try:
            self.node = compile_expression(source, NAMES, FUNCTIONS)
        except ExprError as exc:
            self.error = str(exc)
            _limited.warning("compound filter %r does not compile: %s", source[:200], exc)

    def evaluate(self, node: NodeView) -> bool | None:
        """True or False for this node, None when the expression failed (counted, logged once)."""
        if self.node is None:
            self.failures += 1
            return None
        try:
            result = self.node.run(node)
        except _RUNTIME_ERRORS as exc:
            self._failed(node, f"could not execute compound query: {exc}")
            return None
        if result is True or result is False:
            return result
        self._failed(node, f"compound query returned non boolean {type(result).__name__}")
        return None

    def _failed(self, node: NodeView, message: str) -> None:
        self.failures += 1
        if self.failures == 1:
            _limited.warning(
                "%s: compound filter %r: %s (further failures of it are only counted)",
                getattr(node, "identity", "?"),
                self.source[:200],
                message,
            )
        return None


_programs: dict[str, Program] = {}


def compile_program(source: str) -> Program:
    """The cached program for ``source`` (compiled on first use, at most once per process)."""
    program = _programs.get(source)
    if program is None:
        if len(_programs) >= CACHE_LIMIT:
            del _programs[next(iter(_programs))]
        program = _programs[source] = Program(source)
    return program


def failure_count() -> int:
    """Compound evaluations that failed in this process since it started (for diagnostics)."""
    return sum(program.failures for program in _programs.values())


def expression_error(source: str) -> str | None:
    """Why a compound expression does not compile (a daemon would count it as failed), or None."""
    try:
        compile_expression(source, NAMES, FUNCTIONS)
    except ExprError as exc:
        return str(exc)
    return None


def compile_compound(queries: list[list[dict[str, Any]]]) -> tuple[Callable[[Any], bool], int]:
    """go-choria ``MatchExprString`` as one node test, every program compiled once, and its cost per
    node in work units. A Ruby ``mco -S`` call stack must hold, as in mcollective's
    ``validate_filter?`` (:mod:`.rubycompound`); a malformed query or an expression that does not
    compile fails the filter on every node (the test is :func:`~.goregex.never`); a query that fails
    while running, or returns a non-bool, fails it on that node; else true counts +1, false -1 and
    the filter matches above zero."""
    ruby: list[Callable[[Any], Any]] = []
    programs: list[Program] = []
    cost = 0
    for query in queries:
        if is_ruby_query(query):
            ruby.append(compile_query(query))
            cost += 1 + sum(len(str(v)) for item in query for v in item.values()) // 32
            continue
        if not isinstance(query, list) or len(query) != 1 or not isinstance(query[0], dict):
            return never, 1
        source = query[0].get("expr")
        if not isinstance(source, str):
            return never, 1
        program = compile_program(source)
        if program.node is None:
            program.failures += 1  # counted like an evaluation that failed
            return never, 1
        programs.append(program)
        cost += 1 + len(source) // 32  # about a token per 4 characters, ~0.2 us per node run

    def test(node: Any) -> bool:
        for check in ruby:
            if not check(node):
                return False
        matched = len(ruby)
        for program in programs:
            result = program.evaluate(node)
            if result is None:
                return False
            matched += 1 if result else -1
        return matched > 0

    return test, cost


def match_compound(queries: list[list[dict[str, Any]]], node: Any) -> bool:
    """go-choria ``MatchExprString`` over one node."""
    return compile_compound(queries)[0](node)
