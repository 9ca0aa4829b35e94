"""Filters as a go-choria daemon evaluates them (protocol.md §3), then end to end on real daemons.

The fact cases are go-choria's own (``filter/facts/facts_test.go`` against
``server/discovery/testdata/facts.yaml``, copied in fixtures/facts), as are the
``ParseFactFilterString`` cases (``filter/filter_test.go``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from choria_wire import apoll
from isolated_network import own_client, own_nats, start_network  # noqa: F401 - fixtures

from choria_emulator.client import discover, ping
from choria_emulator.protocol import FactFilter, Filter, ProtocolError
from choria_emulator.protocol.gjson import lookup_fact
from choria_emulator.protocol.goregex import compile_go, search

FIXTURES = Path(__file__).parent / "fixtures" / "facts"
GO_FACTS = yaml.safe_load((FIXTURES / "go-choria-facts.yaml").read_text())


@dataclass
class Node:
    identity: str = "test.example.net"
    agents: tuple[str, ...] = ("discovery", "rpcutil", "choria_util", "emulated0")
    classes: tuple[str, ...] = ("role::testing", "base", "apache")
    facts: dict[str, Any] = field(default_factory=lambda: GO_FACTS)


def has_fact(fact: str, op: str, value: str) -> bool:
    return FactFilter(fact, op, value).matches(GO_FACTS)


# ---- go-choria filter/facts/facts_test.go -----------------------------------------------------------

GO_FACT_CASES = [
    # Should match strings (== and != are case-insensitive since 58e80ba, as are =~ and < >)
    ("string", "==", "hello world", True),
    ("string", "==", "HeLlO WoRLD", True),
    ("string", "==", "helloworld", False),
    ("string", "!=", "hello world", False),
    ("string", "!=", "HeLlO WOrLd", False),
    ("string", "!=", "helloworld", True),
    ("string", "=~", "/hello/", True),
    ("string", "=~", "/HeLlO/", True),
    ("string", "=~", "/bye/", False),
    ("string", "<", "h", False),
    ("string", "<", "H", False),
    ("string", "<", "i", True),
    ("string", "<", "I", True),
    ("string", ">", "h", True),
    ("string", ">", "H", True),
    ("string", ">", "i", False),
    ("string", ">", "I", False),
    ("nested.string", "==", "nested hello world", True),
    # Should match ints
    ("nested.inumber", "==", "2", True),
    ("inumber", "==", "2", False),
    ("inumber", "!=", "1", False),
    ("inumber", ">=", "1", True),
    ("inumber", ">", "1", False),
    ("inumber", "<", "10", True),
    # Should match floats
    ("nested.fnumber", "==", "2.2", True),
    ("fnumber", "==", "1.2", True),
    ("fnumber", "=~", "/1\\.\\d+/", True),
    ("fnumber", "!=", "1.2", False),
    ("fnumber", "<=", "1.01", False),
    ("fnumber", ">=", "1", True),
    ("fnumber", "<", "10", True),
    ("fnumber", "<", "1.0", False),
    ("fnumber", ">", "10", False),
    ("fnumber", ">", "1.0", True),
    # Should match true booleans
    ("tbool", "==", "true", True),
    ("tbool", "==", "T", True),
    ("tbool", "==", "1", True),
    ("tbool", "==", "t", True),
    ("tbool", "==", "false", False),
    ("tbool", "!=", "bob", True),
    ("tbool", "!=", "false", True),
    ("tbool", "!=", "T", False),
    # Should match false booleans (Go: false != "false" is true, false == "bob" is true)
    ("fbool", "==", "false", True),
    ("fbool", "==", "F", True),
    ("fbool", "==", "0", True),
    ("fbool", "==", "f", True),
    ("fbool", "==", "true", False),
    ("fbool", "!=", "bob", True),
    ("fbool", "!=", "true", False),
    ("fbool", "!=", "false", True),
]


@pytest.mark.parametrize(("fact", "op", "value", "expected"), GO_FACT_CASES, ids=lambda v: str(v))
def test_go_choria_fact_matcher_cases(fact: str, op: str, value: str, expected: bool):
    assert has_fact(fact, op, value) is expected


def test_fact_filters_are_anded_like_go_match_facts():
    both = [FactFilter("string", "==", "hello world"), FactFilter("nested.string", "==", "nested hello world")]
    assert Filter(fact=both).matches(Node())
    assert not Filter(fact=[both[0], FactFilter("nested.string", "==", "fail")]).matches(Node())


def test_missing_fact_never_matches_even_with_not_equal():
    assert not has_fact("nosuch", "!=", "x")
    assert not has_fact("nested.nosuch", "==", "x")


def test_null_objects_and_arrays_never_match():
    facts = {"nothing": None, "nested": {"a": 1}, "list": [1]}
    for fact in ("nothing", "nested", "list"):
        for op in ("==", "!=", "=~", "<", ">="):
            assert not FactFilter(fact, op, "1").matches(facts), (fact, op)


def test_go_greater_than_with_a_float_value_is_greater_or_equal():
    assert FactFilter("n", ">", "1.5").matches({"n": 1.5})  # Go quirk kept (protocol.md §3)
    assert not FactFilter("n", ">", "1").matches({"n": 1})


def test_integer_equality_compares_go_itoa_text():
    assert FactFilter("n", "==", "4").matches({"n": 4})
    assert not FactFilter("n", "==", "04").matches({"n": 4})  # strconv.Itoa(4) != "04"
    assert not FactFilter("n", "==", "+4").matches({"n": 4})
    assert FactFilter("n", "==", "4").matches({"n": 4.9})  # gjson Int() truncates


def test_unparsable_numbers_do_not_match_like_go_atoi_errors():
    assert not FactFilter("n", "<", "ten").matches({"n": 4})
    assert not FactFilter("n", "<", " 10").matches({"n": 4})
    assert not FactFilter("n", "<", "1_0").matches({"n": 4})
    assert not FactFilter("n", "<=", "1.x").matches({"n": 4})


def test_number_regex_uses_four_decimals_when_the_value_has_a_dot():
    assert FactFilter("n", "=~", "/^1\\.5000$/").matches({"n": 1.5})
    assert FactFilter("n", "=~", "/^15$/").matches({"n": 15})


def test_fact_regex_is_case_insensitive_and_unanchored():
    assert FactFilter("os", "=~", "/deb/").matches({"os": "Debian"})
    assert FactFilter("os", "=~", "deb").matches({"os": "Debian"})


def test_invalid_regex_matches_nothing():
    assert not FactFilter("os", "=~", "/deb(/").matches({"os": "Debian"})
    assert not Filter(identity=["/emu-(/"]).matches(Node(identity="emu-("))


# ---- go-choria filter/filter_test.go: ParseFactFilterString ---------------------------------------

PARSE_CASES = [
    ("foo=/bar/", "foo", "=~", "/bar/"),
    ("foo = /bar/", "foo", "=~", "/bar/"),
    ("foo=bar", "foo", "==", "bar"),
    ("foo = bar", "foo", "==", "bar"),
    ("foo=~bar", "foo", "=~", "bar"),
    ("foo =~ bar", "foo", "=~", "bar"),
    ("foo=>bar", "foo", ">=", "bar"),
    ("foo => bar", "foo", ">=", "bar"),
    ("foo=<bar", "foo", "<=", "bar"),
    ("foo =< bar", "foo", "<=", "bar"),
    ("foo<=bar", "foo", "<=", "bar"),
    ("foo <= bar", "foo", "<=", "bar"),
    ("foo>=bar", "foo", ">=", "bar"),
    ("foo >= bar", "foo", ">=", "bar"),
    ("foo<bar", "foo", "<", "bar"),
    ("foo < bar", "foo", "<", "bar"),
    ("foo>bar", "foo", ">", "bar"),
    ("foo > bar", "foo", ">", "bar"),
    ("foo!=bar", "foo", "!=", "bar"),
    ("foo != bar", "foo", "!=", "bar"),
    ("foo==bar", "foo", "==", "bar"),
    ("foo == bar", "foo", "==", "bar"),
    ('storage.#(name="nvme0n1").size==64', 'storage.#(name="nvme0n1").size', "==", "64"),
    ("storage.#(name='nvme0n1').size==64", "storage.#(name='nvme0n1').size", "==", "64"),
    ('storage.#(name=="nvme0n1").size=64', 'storage.#(name=="nvme0n1").size', "==", "64"),
    ('storage.#(name="nvme0n1").size == 64', 'storage.#(name="nvme0n1").size', "==", "64"),
    ('storage.#(name<= "nvme0n1" ).size==64', 'storage.#(name<= "nvme0n1" ).size', "==", "64"),
    ('storage.#(name="foo bar").size=>baz bar', 'storage.#(name="foo bar").size', ">=", "baz bar"),
    ("country=mt", "country", "==", "mt"),
]


@pytest.mark.parametrize(("text", "fact", "op", "value"), PARSE_CASES)
def test_parse_fact_filter_string_like_go_choria(text: str, fact: str, op: str, value: str):
    assert FactFilter.parse(text) == FactFilter(fact, op, value)


@pytest.mark.parametrize("text", ["foobarbaz", "=foo(bar=baz)", "foo=", "foo(bar=baz)>", "=><==", "foo", ""])
def test_parse_fact_filter_string_errors_like_go_choria(text: str):
    with pytest.raises(ProtocolError) as caught:
        FactFilter.parse(text)
    assert str(caught.value) == f"could not parse fact {text} it does not appear to be in a valid format"


def test_any_operator_with_a_slashed_value_becomes_a_regex_match():
    assert FactFilter.parse("os!=/deb/").operator == "=~"


def test_gjson_array_query_from_go_choria_parse_case_matches():
    facts = {"storage": [{"name": "sda", "size": 32}, {"name": "nvme0n1", "size": 64}]}
    assert FactFilter.parse('storage.#(name="nvme0n1").size==64').matches(facts)
    assert not FactFilter.parse('storage.#(name="sda").size==64').matches(facts)


# ---- gjson paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("nested.string", (True, "nested hello world")),
        ("iarray.1", (True, 2)),
        ("iarray.3", (False, None)),
        ("iarray.#", (True, 3)),
        ("sarray.#", (True, 3)),
        ("nest*.inumber", (True, 2)),
        ("nested.f?ool", (True, False)),
        ("string.x", (False, None)),
        ("", (False, None)),
        ("nested|string", (False, None)),
    ],
)
def test_gjson_paths(path: str, expected: tuple[bool, Any]):
    assert lookup_fact(GO_FACTS, path) == expected


def test_hostile_fact_paths_and_values_cannot_stall_the_daemon():
    """Globs run on RE2, number parsing is linear, paths over 1 KiB are missing facts; if any of
    this regressed to backtracking, the test would hang until pytest's timeout."""
    assert lookup_fact({"a" * 40 + "c": 1}, "a*" * 20 + "b") == (False, None)
    assert not FactFilter("n", "<", "1" * 200_000 + ".x").matches({"n": 1})
    assert lookup_fact({"x": 1}, "x" + "." * 2000) == (False, None)
    assert not FactFilter.parse('disks.#(name%"' + "*a" * 30 + '")=1').matches({"disks": [{"name": "a" * 60 + "b"}]})


def test_gjson_escaped_dot_and_collected_values():
    facts = {"a.b": 1, "disks": [{"size": 1}, {"size": 2}, {"name": "x"}]}
    assert lookup_fact(facts, "a\\.b") == (True, 1)
    assert lookup_fact(facts, "disks.#.size") == (True, [1, 2])
    assert lookup_fact(facts, "disks.#(size>1)#.size") == (True, [2])


# ---- identity, agents, classes (go-choria filter/{identity,agents,classes}) ------------------------


def test_identity_regex_matches_unanchored_and_exact_names_only_exactly():
    """protocol.md §7 item 13."""
    regex, exact = Filter(identity=["/^emu-1\\d*$/"]), Filter(identity=["emu-1"])
    assert regex.matches(Node(identity="emu-1")) and regex.matches(Node(identity="emu-10"))
    assert not regex.matches(Node(identity="emu-2"))
    assert exact.matches(Node(identity="emu-1")) and not exact.matches(Node(identity="emu-10"))
    assert Filter(identity=["/mu-1/"]).matches(Node(identity="emu-12"))


def test_identity_entries_are_ored():
    either = Filter(identity=["emu-1", "/^emu-3$/"])
    assert either.matches(Node(identity="emu-1")) and either.matches(Node(identity="emu-3"))
    assert not either.matches(Node(identity="emu-2"))


def test_empty_filter_matches_everyone():
    assert Filter().matches(Node(identity="anyone", agents=(), classes=(), facts={}))


def test_agent_entries_are_anded():
    """protocol.md §7 item 14: rpcutil is a real agent now, E1's special case is gone."""
    wanted = Filter(agent=["emulated0", "rpcutil"])
    assert wanted.matches(Node(agents=("discovery", "rpcutil", "choria_util", "emulated0")))
    assert not wanted.matches(Node(agents=("discovery", "emulated0")))
    assert Filter(agent=["/^emulated\\d$/"]).matches(Node())
    assert not Filter(agent=["/^emulated\\d\\d$/"]).matches(Node())


def test_class_needle_is_lower_cased_and_regexes_ignore_case():
    node = Node(classes=("role::testing", "apache"))
    assert Filter(cf_class=["Role::Testing"]).matches(node)
    assert Filter(cf_class=["/^ROLE::/"]).matches(node)
    assert not Filter(cf_class=["apache", "mysql"]).matches(node)
    assert not Filter(cf_class=["role"]).matches(node)


def test_regex_entries_lose_one_slash_at_each_end_like_go_trim_prefix():
    assert Filter(identity=["//x//"]).matches(Node(identity="a/x/b"))
    assert not Filter(identity=["//x//"]).matches(Node(identity="x"))
    assert Filter(identity=["/"]).matches(Node(identity="anything"))  # "/" is the empty regex in Go


def test_every_category_must_pass_go_choria_match_request_cases():
    """go-choria protocol/filter_test.go "MatchRequest" with the facts fixture."""
    node = Node(identity="test.example.net", agents=("apache", "rpcutil"))
    assert Filter(
        agent=["apache"],
        cf_class=["role::testing", "/test/"],
        fact=[FactFilter("nested.string", "=~", "/hello/")],
        identity=["/test/"],
    ).matches(node)
    assert not Filter(
        agent=["apache"], cf_class=["role::test"], fact=[FactFilter("nested.string", "=~", "/meh/")]
    ).matches(node)


def test_only_agent_filters_are_node_independent():
    """A prepared filter says what each part depends on: agents nothing (one verdict per process),
    identity the instance, classes/facts/compound the node kind (facts and classes)."""
    from choria_emulator.protocol.prepared import PreparedFilter

    agents_only = PreparedFilter(Filter(agent=["rpcutil"]))
    assert not agents_only.has_identity and not agents_only.has_kind
    assert PreparedFilter(Filter(identity=["x"])).has_identity
    for other in (
        Filter(cf_class=["x"]),
        Filter(fact=[FactFilter("a", "==", "b")]),
        Filter(compound=[[{"expr": "true"}]]),
    ):
        prepared = PreparedFilter(other)
        assert prepared.has_kind and not prepared.has_identity


def test_filter_from_a_request_keeps_its_wire_form():
    wire = {
        "fact": [{"fact": "country", "operator": "==", "value": "mt"}],
        "cf_class": ["apache"],
        "agent": ["rpcutil"],
        "identity": ["/emu/"],
        "compound": [[{"expr": 'with("apache")'}]],
    }
    assert Filter.from_dict(wire, strict=True).to_dict() == wire
    assert Filter.from_dict({"identity": ["x"]}).to_dict()["fact"] == []  # lenient form for callers


# ---- Go regexps with Python re ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("^a$", "a\n", False),  # Go's $ is end of text without (?m)
        ("(?m)^b$", "a\nb\nc", True),
        ("a\\z", "a", True),
        ("[[:digit:]]+", "x42", True),
        ("\\Qa.b\\E", "axb", False),
        ("\\Qa.b\\E", "a.b", True),
        ("(?P<n>x)y", "xy", True),
        ("\\d", "\u0663", False),  # Go's \d is ASCII
        ("(?=x)", "x", False),  # look-ahead does not compile in Go: no match
        ("(a)\\1", "aa", False),  # nor back-references
        ("\\101", "A", True),  # octal escape
        ("(?<n>x)y", "xy", True),  # Go 1.22 named groups
        ("\\pL+", "é", True),  # Unicode classes
        ("(?i)é", "É", True),  # Unicode case folding
        ("a(?i)b", "aB", True),  # flags from the middle of a pattern on
    ],
)
def test_go_regexp_semantics(pattern: str, text: str, expected: bool):
    assert search(pattern, text) is expected


def test_regexes_are_compiled_once_and_reused():
    assert compile_go("^emu-\\d+$") is compile_go("^emu-\\d+$")


def test_catastrophic_patterns_run_in_linear_time_like_go():
    """A backtracking engine needs ~2^40 steps here; RE2 (and Go) one pass. If this regresses,
    the test hangs until pytest's timeout instead of failing fast, like a stalled daemon would."""
    identity = "emu-" + "1" * 40
    assert not Filter(identity=["/^(.*)*X$/"]).matches(Node(identity=identity))
    assert not FactFilter("rack", "=~", "/^(a|a)*X$/").matches({"rack": "a" * 40})


# ---- end to end: emulated daemons with facts and classes answer filtered discovery ----------------


@pytest.fixture(scope="module")
def facts_network(tmp_path_factory: pytest.TempPathFactory, own_nats):
    emulator = start_network(
        own_nats, tmp_path_factory, 10, "--workers", "2", "--facts", str(FIXTURES / "template.yaml"), name="fct"
    )
    yield emulator
    emulator.stop()


def names(*indexes: int) -> list[str]:
    return sorted(f"fct-{i}" for i in indexes)


E2E_FILTERS = {
    "fact-equals": (Filter(fact=[FactFilter.parse("country=mt")]), names(0, 3, 6, 9)),
    "fact-equals-ignores-case": (Filter(fact=[FactFilter.parse("country=MT")]), names(0, 3, 6, 9)),
    "fact-bool": (Filter(fact=[FactFilter.parse("virtual=true")]), names(0, 2, 4, 6, 8)),
    "fact-number": (
        Filter(fact=[FactFilter.parse("cpus>=4"), FactFilter.parse("os.release.major=12")]),
        names(*range(10)),
    ),
    "fact-gjson-query": (Filter(fact=[FactFilter.parse('disks.#(name="nvme0n1").size=64')]), names(*range(10))),
    "fact-regex": (Filter(fact=[FactFilter.parse("rack=/^r[12]$/")]), names(1, 2)),
    "class": (Filter(cf_class=["apache"]), names(1, 3, 5, 7, 9)),
    "class-regex-ignores-case": (Filter(cf_class=["/^APACHE::mod/"]), names(1, 3, 5, 7, 9)),
    "class-mixed-case-needle": (Filter(cf_class=["Role::Web", "mysql"]), names(0, 2, 4, 6, 8)),
    "compound-with": (Filter(compound=[[{"expr": 'with("apache") and with("country=mt")'}]]), names(3, 9)),
    "compound-semver": (Filter(compound=[[{"expr": 'semver(fact("version"), ">= 1.2.5")'}]]), names(5, 6, 7, 8, 9)),
    "compound-facts-member": (Filter(compound=[[{"expr": 'facts.country == "de" && "mysql" in classes'}]]), names(4)),
    "compound-and-identity": (
        Filter(identity=["/^fct-[0-4]$/"], compound=[[{"expr": 'fact("virtual") == false'}]]),
        names(1, 3),
    ),
    "compound-non-bool-matches-nobody": (Filter(compound=[[{"expr": 'fact("cpus")'}]]), []),
    "compound-syntax-error-matches-nobody": (Filter(compound=[[{"expr": 'with("apache") and'}]]), []),
}


@pytest.mark.parametrize("name", sorted(E2E_FILTERS))
async def test_filtered_discovery_on_real_daemons(facts_network, own_client, name: str):
    filt, expected = E2E_FILTERS[name]
    found = await discover(own_client, filt, timeout=1.0)
    assert sorted(found) == expected


async def test_failing_compound_filters_are_counted_as_filtered_and_daemons_keep_answering(facts_network, own_client):
    before = facts_network.debug_vars()["counters"]["filtered"]
    assert await discover(own_client, Filter(compound=[[{"expr": "1 + "}], [{"expr": "true"}]]), timeout=0.5) == []
    result = await ping(own_client, timeout=5, expect=10)
    assert len(result.times) == 10
    await apoll(
        lambda: facts_network.debug_vars()["counters"]["filtered"] >= before + 10, timeout=10, what="filtered count"
    )
