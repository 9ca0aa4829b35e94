"""Compound filters: the expr-lang subset, go-choria's environment and its MatchExprString rule."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pytest

from choria_emulator.protocol import Filter
from choria_emulator.protocol.compound import compile_program, failure_count, match_compound
from choria_emulator.protocol.expr import ExprError, compile_expression
from choria_emulator.semver import SemVerError
from choria_emulator.semver.masterminds import satisfies


@dataclass
class Node:
    identity: str = "emu-1"
    agents: tuple[str, ...] = ("discovery", "rpcutil", "choria_util", "emulated0")
    classes: tuple[str, ...] = ("base", "apache", "role::web")
    facts: dict[str, Any] = field(
        default_factory=lambda: {
            "country": "mt",
            "cpus": 4,
            "load": 0.25,
            "virtual": True,
            "version": "1.2.3",
            "os": {"family": "Debian", "release": {"major": "12"}},
            "tags": ["web", "prod", 7],
            "disks": [{"name": "sda", "size": 32}, {"name": "nvme0n1", "size": 64}],
        }
    )


NODE = Node()


def run(expression: str, node: Node = NODE) -> bool | None:
    """The program's verdict for one node: True, False, or None when it failed."""
    return compile_program(expression).evaluate(node)


def queries(*expressions: str) -> list[list[dict[str, str]]]:
    return [[{"expr": e}] for e in expressions]


# ---- go-choria's environment -------------------------------------------------------------------

TRUE_EXPRESSIONS = [
    'with("apache")',  # a class
    'with("/^role::/")',  # a class regex
    'with("emulated0")',  # an agent
    'with("country=mt")',  # a fact filter
    'with("country=MT")',  # case-insensitive like fact filters
    'with("cpus>=4")',
    'with("os.family=/deb/")',
    'fact("country") == "mt"',
    'fact("os.release.major") == "12"',
    'fact("disks.#(name==\\"nvme0n1\\").size") == 64',
    'fact("cpus") == 4.0',
    'fact("missing") == nil',
    'include(fact("tags"), "prod")',
    'include(fact("tags"), 7)',
    'semver(fact("version"), ">= 1.2.0, < 2.0.0")',
    'semver("1.2.3", "~1.2") && semver("2.0.0", "^2") && !semver("1.9.0", "^2")',
    '"apache" in classes',
    '"rpcutil" in agents and "nginx" not in agents',
    "len(agents) == 4",
    'facts.os.family == "Debian"',  # our addition: member access on facts
    'facts["os"]["release"]["major"] == "12"',
    "facts.os?.nosuch?.deeper == nil",
    "facts.tags[-1] == 7",
    'fact("os.family") matches "^Deb"',
    'fact("os.family") contains "bia" and fact("os.family") startsWith "Deb" and fact("os.family") endsWith "ian"',
    'fact("cpus") * 2 + 1 == 9 and 7 % 4 == 3 and 2 ** 3 == 8 and 1 / 4 == 0.25 and -7 % 4 == -3',
    '"a" + "b" == "ab"',
    'fact("load") < 1 && fact("load") >= 0.25',
    "not false and !false",
    "(true or false) and !(false || false)",
    'with("apache") ? true : false',
    "undefined_name == nil",
    "[1, 2, 3][1] == 2 and 2 in [1, 2, 3]",
    "'single' == \"single\"",
    "1_000 == 1000 and 0x10 == 16 and 1e3 == 1000",
    'lower("ABC") == "abc" and upper(fact("country")) == "MT"',
]
FALSE_EXPRESSIONS = [
    'with("nginx")',
    'with("country=de")',
    'fact("country") == "MT"',  # == in expressions is exact, unlike fact filters
    'include(fact("tags"), "dev")',
    'semver(fact("version"), "> 1.2.3")',
    'semver("1.3.0-rc.1", ">= 1.0.0")',  # pre-releases only satisfy pre-release constraints
    '"mysql" in classes',
    "1 == true",  # no cross-type equality with booleans
    '"1" == 1',
    "nil == false",
    "not true",
]
VERDICTS = [(e, True) for e in TRUE_EXPRESSIONS] + [(e, False) for e in FALSE_EXPRESSIONS]


@pytest.mark.parametrize(("expression", "expected"), VERDICTS)
def test_expression_verdict_on_the_sample_node(expression: str, expected: bool):
    assert run(expression) is expected


FAILURES = {
    # fail when run on a node: no verdict, counted
    "non-bool-result": ('fact("cpus")', "run"),
    "nil-comparison": ('fact("missing") > 1', "run"),
    "mixed-comparison": ('fact("country") < 3', "run"),
    "and-on-non-bool": ('fact("country") and true', "run"),
    "not-on-string": ('not fact("country")', "run"),
    "fetch-from-nil": ("facts.nosuch.deeper == nil", "run"),
    "index-out-of-range": ("agents[9] == nil", "run"),
    "include-needs-a-list": ('include(fact("country"), "m")', "run"),
    "bad-semver-version": ('semver("one", ">= 1")', "run"),
    "bad-semver-constraint": ('semver("1.0.0", ">>= 1")', "run"),
    "in-on-string": ('"m" in fact("country")', "run"),
    "integer-modulo-by-zero": ("1 % 0 == 0", "run"),
    "matches-needs-string": ('fact("cpus") matches "4"', "run"),
    # fail to compile: reported once, never raised
    "unknown-function": ("nosuch(1)", "compile"),
    "wrong-arity": ('fact("a", "b")', "compile"),
    "dangling-operator": ('with("apache") and', "compile"),
    "unclosed-paren": ('(with("apache")', "compile"),
    "statically-non-bool": ("1 + 2", "compile"),
    "string-literal-root": ('"yes"', "compile"),
    "bad-regex-literal": ('fact("a") matches "("', "compile"),
    "method-call": ('fact("a").lower()', "compile"),
    "map-literal": ("{a: 1} == nil", "compile"),
    "unknown-character": ('with("apache") @ 1', "compile"),
    "empty": ("", "compile"),
    "bad-escape": ('"\\q" == "q"', "compile"),
    "function-as-value": ("with == nil", "compile"),
    "non-string-with-literal": ("with(1)", "compile"),
}


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_failing_expressions_give_no_verdict_and_never_raise(name: str):
    expression, stage = FAILURES[name]
    program = compile_program(expression)
    assert (program.node is None) is (stage == "compile")
    assert bool(program.error) is (stage == "compile")
    assert program.evaluate(NODE) is None


def test_not_binds_tighter_than_comparisons_as_in_expr():
    """expr gives unary not precedence 50, above ==: ``not a == b`` is ``(not a) == b``."""
    assert run("not true == false") is True
    assert run('not "apache" in classes') is None  # (not "apache") fails: not on a string


def test_exponent_is_right_associative():
    assert run("2 ** 3 ** 2 == 512")


def test_division_by_zero_is_infinity_like_go_floats():
    assert run("1 / 0 > 1000000")


def test_deep_nesting_is_refused_not_a_crash():
    assert run("(" * 500 + "true" + ")" * 500) is None
    assert run("!" * 2000 + "true") is None


# ---- MatchExprString -----------------------------------------------------------------------------


def test_single_true_query_matches():
    assert match_compound(queries('with("apache")'), NODE)


def test_false_results_subtract_like_go_matched_minus_minus():
    assert not match_compound(queries("true", "false"), NODE)
    assert match_compound(queries("true", "true", "false"), NODE)
    assert not match_compound(queries("false"), NODE)


def test_any_failed_query_fails_the_filter():
    assert not match_compound(queries("true", "true", "1 +"), NODE)
    assert not match_compound(queries("true", 'fact("cpus")'), NODE)


@pytest.mark.parametrize(
    "malformed",
    [[[{"expr": "true"}, {"expr": "true"}]], [[]], [[{"other": "true"}]], [["true"]], ["true"]],
    ids=["two-items", "empty-item", "no-expr-key", "string-in-item", "bare-string"],
)
def test_query_items_must_be_one_expr_object(malformed: Any):
    assert not match_compound(malformed, NODE)


def test_filter_with_compound_only_uses_match_expr_string():
    assert Filter(compound=queries('with("apache")')).matches(NODE)
    assert not Filter(compound=queries('with("apache")', 'with("nginx")')).matches(NODE)


def test_compound_and_other_categories_are_anded():
    assert not Filter(identity=["emu-2"], compound=queries("true")).matches(NODE)
    assert Filter(identity=["emu-1"], agent=["rpcutil"], compound=queries("true")).matches(NODE)


def test_programs_are_compiled_once_per_expression():
    first = compile_program('with("apache") and fact("cpus") > 1')
    assert compile_program('with("apache") and fact("cpus") > 1') is first


def test_failures_are_counted_and_logged_once(caplog: pytest.LogCaptureFixture):
    expression = 'fact("country") > 2'  # used by no other test: its counters are this test's
    program = compile_program(expression)
    before, total_before = program.failures, failure_count()
    with caplog.at_level(logging.WARNING, logger="choria_emulator.compound"):
        for _ in range(5):
            assert not match_compound(queries(expression), NODE)
    assert program.failures == before + 5
    assert failure_count() >= total_before + 5
    assert len([r for r in caplog.records if expression in r.getMessage()]) <= 1


def test_with_on_literal_is_decided_at_compile_time_and_at_run_time_alike():
    dynamic = 'with(fact("country") == "mt" ? "apache" : "nginx")'
    assert run(dynamic) is True
    assert run('with(fact("os.family"))') is False


def test_compile_expression_rejects_non_bool_roots_only_when_asked():
    assert compile_expression("1 + 2", {}, {}, as_bool=False).run(None) == 3
    with pytest.raises(ExprError, match="expected bool"):
        compile_expression("1 + 2", {}, {})


# ---- Masterminds/semver v1 -------------------------------------------------------------------------

SEMVER_CASES = [
    ("1.2.3", "1.2.3", True),
    ("1.2.3", "= 1.2.3", True),
    ("1.2.4", "!= 1.2.3", True),
    ("1.2.3", "> 1.2", True),
    ("1.2.3", "< 1.3", True),
    ("1.2.3", ">= 1.2.3", True),
    ("1.2.3", "=> 1.2.3", True),
    ("1.2.3", "=< 1.2.3", True),
    ("1.2.9", "~1.2.3", True),
    ("1.3.0", "~1.2.3", False),
    ("1.9.0", "^1.2", True),
    ("2.0.0", "^1.2", False),
    ("1.4.0", "1.x", True),
    ("2.0.0", "1.x", False),
    ("3.0.0", "*", True),
    ("1.2.3", "1.1 - 1.3", True),
    ("1.4.0", "1.1 - 1.3", False),
    ("1.0.0", "< 1 || > 2", False),
    ("3.0.0", "< 1 || > 2", True),
    ("v1.2.3", ">= 1.0.0, < 2", True),
    ("1.2", "1.2.0", True),
    ("1.2.3-beta.2", ">= 1.2.3-beta.1", True),
    ("1.2.3-beta.2", ">= 1.2.3-beta.11", False),  # numeric identifiers compare as numbers
    ("1.2.3-alpha", "< 1.2.3", False),  # pre-release excluded without a pre-release constraint
    ("1.2.3+build.5", "1.2.3", True),  # metadata ignored
]


@pytest.mark.parametrize(("version", "constraint", "expected"), SEMVER_CASES)
def test_semver_constraints_like_masterminds_v1(version: str, constraint: str, expected: bool):
    assert satisfies(version, constraint) is expected


@pytest.mark.parametrize(
    ("version", "constraint"), [("one", ">= 1"), ("1.2.3", ">>= 1"), ("1.2.3", "1.2.3.4"), ("", ">= 1")]
)
def test_semver_errors(version: str, constraint: str):
    with pytest.raises(SemVerError):
        satisfies(version, constraint)
