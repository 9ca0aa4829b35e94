"""``mco -S`` compound filters in the shape the real Ruby ``mco`` sends (protocol/rubycompound.py).

The call stacks below are the output of the real parser, ``MCollective::Matcher.create_compound_callstack``
of Debian's mcollective 2.12.5 (``ruby -r mcollective``), copied literally. ``tests/interop`` sends
them with the real ``mco`` against emulated and real daemons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from choria_emulator.protocol import Filter, ProtocolError
from choria_emulator.protocol.rubycompound import is_ruby_query

RUBY_STACKS = {
    "role=web": [{"statement": "role=web"}],
    "webserver": [{"statement": "webserver"}],
    "/server/": [{"statement": "/server/"}],
    "role=web and webserver": [{"statement": "role=web"}, {"and": "and"}, {"statement": "webserver"}],
    "role=web or database": [{"statement": "role=web"}, {"or": "or"}, {"statement": "database"}],
    "not role=web": [{"not": "not"}, {"statement": "role=web"}],
    "!database": [{"not": "not"}, {"statement": "database"}],
    "role=web and (country=mt or country=de)": [
        {"statement": "role=web"},
        {"and": "and"},
        {"(": "("},
        {"statement": "country=mt"},
        {"or": "or"},
        {"statement": "country=de"},
        {")": ")"},
    ],
    "(role=db or country=uk) and not /web/": [
        {"(": "("},
        {"statement": "role=db"},
        {"or": "or"},
        {"statement": "country=uk"},
        {")": ")"},
        {"and": "and"},
        {"not": "not"},
        {"statement": "/web/"},
    ],
    "role=/^w/": [{"statement": "role=/^w/"}],
    "cpus>2": [{"statement": "cpus>2"}],
    "role=web and not (country=mt and webserver)": [
        {"statement": "role=web"},
        {"and": "and"},
        {"not": "not"},
        {"(": "("},
        {"statement": "country=mt"},
        {"and": "and"},
        {"statement": "webserver"},
        {")": ")"},
    ],
    "fact('role').value=web": [
        {"fstatement": {"r_compare": "web", "operator": "==", "value": "value", "name": "fact", "params": "role"}}
    ],
}


@dataclass
class Node:
    identity: str
    facts: dict[str, Any]
    classes: tuple[str, ...]
    agents: tuple[str, ...] = field(default=("rpcutil",))


NODES = [
    Node("web-mt", {"role": "web", "country": "mt", "cpus": 4}, ("webserver",)),
    Node("web-de", {"role": "web", "country": "de", "cpus": 2}, ("webserver",)),
    Node("db-uk", {"role": "db", "country": "uk", "cpus": 8}, ("database",)),
]
EXPECTED = {
    "role=web": {"web-mt", "web-de"},
    "webserver": {"web-mt", "web-de"},
    "/server/": {"web-mt", "web-de"},
    "role=web and webserver": {"web-mt", "web-de"},
    "role=web or database": {"web-mt", "web-de", "db-uk"},
    "not role=web": {"db-uk"},
    "!database": {"web-mt", "web-de"},
    "role=web and (country=mt or country=de)": {"web-mt", "web-de"},
    "(role=db or country=uk) and not /web/": {"db-uk"},
    "role=/^w/": {"web-mt", "web-de"},
    "cpus>2": {"web-mt", "db-uk"},
    "role=web and not (country=mt and webserver)": {"web-de"},
    "fact('role').value=web": set(),  # emulated nodes have no data plugins
}


def matching(stack: list[dict[str, Any]]) -> set[str]:
    flt = Filter.from_dict({"fact": [], "cf_class": [], "agent": [], "identity": [], "compound": [stack]}, strict=True)
    return {node.identity for node in NODES if flt.matches(node)}


@pytest.mark.parametrize("expression", sorted(RUBY_STACKS))
def test_ruby_call_stack_matches_like_the_cli_filters(expression):
    assert is_ruby_query(RUBY_STACKS[expression])
    assert matching(RUBY_STACKS[expression]) == EXPECTED[expression]


def test_every_ruby_query_must_hold():
    """Several ``-S`` flags: mcollective counts each query and fails the filter on any false one."""
    both = Filter.from_dict(
        {"fact": [], "cf_class": [], "identity": [], "compound": [RUBY_STACKS["webserver"], RUBY_STACKS["cpus>2"]]},
        strict=True,
    )
    assert {n.identity for n in NODES if both.matches(n)} == {"web-mt"}


@pytest.mark.parametrize(
    "stack",
    [
        [{"statement": "role=web"}, {"and": "and"}],
        [{"(": "("}, {"statement": "role=web"}],
        [{"statement": "role=web"}, {"statement": "webserver"}],
        [{"or": "or"}],
        [{")": ")"}],
    ],
)
def test_broken_call_stacks_match_nothing(stack):
    """Ruby's ``eval`` would raise on these: the request is dropped, nothing matches."""
    assert matching(stack) == set()


def test_go_expr_queries_are_unchanged():
    flt = Filter(compound=[[{"expr": "'webserver' in classes && fact('cpus') > 2"}]])
    assert {n.identity for n in NODES if flt.matches(n)} == {"web-mt"}


@pytest.mark.parametrize("stack", [[{"statement": "a", "and": "and"}], [{"unknown": "x"}], []])
def test_other_shapes_are_go_queries_that_fail(stack):
    """Only one-key objects with the Ruby parser's keys are call stacks; anything else is judged as
    a go-choria query, and a malformed one fails the whole filter."""
    assert not is_ruby_query(stack)
    assert matching(stack) == set()


def test_a_statement_that_is_not_text_matches_nothing():
    assert is_ruby_query([{"statement": 1}]) and matching([{"statement": 1}]) == set()


def test_non_string_values_outside_a_call_stack_are_refused():
    with pytest.raises(ProtocolError):
        matching([{"expr": 1}])
