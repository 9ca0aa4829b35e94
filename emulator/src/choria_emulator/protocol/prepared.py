"""A request filter prepared once for many nodes, with its cost counted and bounded.

:meth:`Filter.matches <.filter.Filter.matches>` walks every entry for every node. A daemon
process that emulates thousands of nodes sees the same request thousands of times, so a
filter of 10,000 identity regexes, 1,100 compound queries or 60 fact filters on distinct facts
costs thousands of times its size (issue 12). :class:`PreparedFilter` splits the filter by what
each part depends on and prepares every part once:

* **agents**: every instance of a process has the same agents: one verdict per process;
* **identity**: exact names in a ``frozenset`` and every ``/regex/`` in one RE2 set: a hash
  lookup and one linear scan per node, however many entries there are;
* **classes, facts and compound queries** depend only on a node's facts and classes: a caller
  evaluates them once per distinct (facts, classes) pair, its "node kind", and reuses the
  verdict (:meth:`kind_matches`); compound programs are compiled once per request, and a query
  that does not compile fails the filter for every node at once, as in go-choria.

It also counts what it costs in work units (about one entry tested against one node each):
:attr:`prepare_cost` once, :attr:`identity_cost` per node, :attr:`kind_cost` per node kind.
Entries beyond :class:`Limits` raise :class:`FilterRefused`; a daemon drops and counts such a
request instead of evaluating it, as it does a request whose cost is over its budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable

from .compound import compile_compound
from .errors import ProtocolError
from .factfilter import FactFilter
from .goregex import compile_set, never
from .matching import classes_test, is_regex, match_agents, unwrap_regex

if TYPE_CHECKING:
    from .filter import Filter  # the filter module builds on this one


class FilterRefused(ProtocolError):
    """The filter asks for more than one request may (a counted drop, never evaluated)."""


class Limits:
    """What one request filter may hold; go-choria has no limits, real clients stay far below these."""

    __slots__ = ("entries", "regexes", "pattern_length", "facts", "compound", "compound_length")

    def __init__(
        self,
        entries: int = 50_000,  # identity + agent + class entries (a client may list every node's name)
        regexes: int = 256,  # /regex/ entries over identity, agent and class
        pattern_length: int = 1024,  # characters of one /regex/ entry
        facts: int = 64,  # fact filters
        compound: int = 64,  # compound queries
        compound_length: int = 16 * 1024,  # characters of all compound expressions together
    ):
        self.entries = entries
        self.regexes = regexes
        self.pattern_length = pattern_length
        self.facts = facts
        self.compound = compound
        self.compound_length = compound_length


LIMITS = Limits()


def _always(_node: Any) -> bool:
    return True


class PreparedFilter:
    __slots__ = (
        "empty",
        "has_identity",
        "has_kind",
        "prepare_cost",
        "identity_cost",
        "kind_cost",
        "class_cost",
        "_agents",
        "_exact",
        "_regex",
        "_kind",
    )

    def __init__(self, filt: Filter, limits: Limits | None = LIMITS):
        self.empty = filt.empty()
        exact: list[str] = []
        patterns: list[str] = []
        for entry in filt.identity:  # one pass, no calls per entry: a list of every node's name is legitimate
            if entry[:1] == "/" == entry[-1:]:
                patterns.append(entry[1:][:-1])
            else:
                exact.append(entry)
        if limits is not None:
            _check_limits(filt, patterns, limits)
        self._agents = tuple(filt.agent)
        self._exact = frozenset(exact)
        self._regex = compile_set(patterns) if patterns else None
        self.has_identity = bool(filt.identity)
        self._kind, self.kind_cost = _kind_test(filt)
        self.has_kind = self._kind is not _always
        self.class_cost = len(filt.cf_class)  # per distinct set of classes: verdicts are kept per set
        pattern_chars = sum(map(len, patterns))
        self.prepare_cost = len(filt.identity) + len(filt.agent) + len(filt.cf_class) + pattern_chars // 16
        self.identity_cost = (1 if self._exact else 0) + (4 if self._regex is not None else 0)

    def agents_match(self, agents: tuple[str, ...]) -> bool:
        """The agent entries against a process's agents (the same for all its instances)."""
        return not self._agents or match_agents(list(self._agents), agents)

    def identity_matches(self, identity: str) -> bool:
        """OR over identity entries: an exact name, or any ``/regex/`` found in the identity."""
        if not self.has_identity or identity in self._exact:
            return True
        regex = self._regex
        return regex is not None and regex(identity)

    def kind_matches(self, node: Any) -> bool:
        """Classes, fact filters and compound queries: the same for nodes with equal facts and classes."""
        return self._kind(node)

    def matches(self, node: Any) -> bool:
        """The whole filter on one node (what :meth:`Filter.matches` answers, prepared once)."""
        return (
            self.identity_matches(node.identity) and self.agents_match(tuple(node.agents)) and self.kind_matches(node)
        )


def _check_limits(filt: Filter, identity_patterns: list[str], limits: Limits) -> None:
    entries = len(filt.identity) + len(filt.agent) + len(filt.cf_class)
    if entries > limits.entries:
        raise FilterRefused(f"filter has {entries} identity, agent and class entries; at most {limits.entries}")
    patterns = identity_patterns + [unwrap_regex(e) for e in (*filt.agent, *filt.cf_class) if is_regex(e)]
    if len(patterns) > limits.regexes:
        raise FilterRefused(f"filter has {len(patterns)} /regex/ entries; at most {limits.regexes}")
    longest = max(map(len, patterns), default=0)
    if longest > limits.pattern_length:
        raise FilterRefused(f"a /regex/ entry has {longest} characters; at most {limits.pattern_length}")
    if len(filt.fact) > limits.facts:
        raise FilterRefused(f"filter has {len(filt.fact)} fact filters; at most {limits.facts}")
    if len(filt.compound) > limits.compound:
        raise FilterRefused(f"filter has {len(filt.compound)} compound queries; at most {limits.compound}")
    length = sum(len(str(v)) for query in filt.compound for item in query for v in item.values())
    if length > limits.compound_length:
        raise FilterRefused(f"compound queries hold {length} characters; at most {limits.compound_length}")


def _kind_test(filt: Filter) -> tuple[Callable[[Any], bool], int]:
    """One test over a node's classes, facts and compound queries, and its cost per node kind."""
    tests: list[Callable[[Any], bool]] = []
    cost = 0
    if filt.cf_class:
        classes = classes_test(filt.cf_class)  # verdicts kept per set of classes
        tests.append(lambda node: classes(tuple(node.classes)))
        cost += 1
    if filt.fact:
        facts: Sequence[FactFilter] = tuple(filt.fact)
        tests.append(lambda node: all(f.matches(node.facts) for f in facts))
        cost += sum(2 + f.fact.count(".") for f in facts)  # a lookup per path part, one comparison
    if filt.compound:
        test, compound_cost = compile_compound(filt.compound)
        if test is never:
            return never, 1  # a query that does not compile fails the filter on every node
        tests.append(test)
        cost += compound_cost
    if not tests:
        return _always, 0
    if len(tests) == 1:
        return tests[0], cost
    return (lambda node: all(test(node) for test in tests)), cost
