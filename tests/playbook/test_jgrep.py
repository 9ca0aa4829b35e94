"""The JGrep subset behind ``assert`` (playbooks.md §5.1)."""

from __future__ import annotations

import pytest

from choria_emulator.playbook.jgrep import jgrep, validate_expression

DOCS = [
    {
        "idling": True,
        "enabled": True,
        "count": 5,
        "ratio": 1.5,
        "name": "web1",
        "summary": {"resources": {"failed_to_restart": 0}},
        "items": [{"a": 1, "b": 2}, {"a": 2, "b": 1}],
    },
    {
        "idling": False,
        "enabled": True,
        "count": 10,
        "ratio": 0.5,
        "name": "db1",
        "summary": {"resources": {"failed_to_restart": 2}},
        "items": [],
        "extra": None,
    },
]


@pytest.mark.parametrize(
    "expression, names",
    [
        ("idling=true and enabled=true", ["web1"]),
        ("idling=false", ["db1"]),
        ("count>6", ["db1"]),
        ("count<=5", ["web1"]),
        ("count>=5", ["web1", "db1"]),
        ("ratio>1.0", ["web1"]),
        ("name=/^w/", ["web1"]),
        ("name='web1'", ["web1"]),
        ('name="db1"', ["db1"]),
        ("name!=web1", ["db1"]),
        ("summary.resources.failed_to_restart=0", ["web1"]),
        ("items.a=2", ["web1"]),
        ("[items.a=1 and items.b=2]", ["web1"]),
        ("[items.a=1 and items.b=1]", []),
        ("+extra", ["db1"]),
        ("-extra", ["web1"]),
        ("extra=null", ["web1", "db1"]),
        ("not idling=true", ["db1"]),
        ("!idling=true", ["db1"]),
        ("(idling=true or count=10) and enabled=true", ["web1", "db1"]),
        ("idling=true or count=10 and enabled=false", ["web1"]),
    ],
)
def test_expressions(expression, names):
    assert [d["name"] for d in jgrep(DOCS, expression)] == names


@pytest.mark.parametrize("expression", ["and x=1", "idling = true", "(a=1", "foo", "a=1 b=2", "", "x=1 or"])
def test_invalid_expressions_are_reported(expression):
    assert isinstance(validate_expression(expression), str)


def test_nothing_after_the_operator_is_nil_as_in_jgrep():
    """JGrep 1.5.4 splits ``idling=`` (and ``idling==``) on its operators and compares with nil: a missing
    or null field matches (measured against the real jgrep gem the 0.6.0 runner loads)."""
    docs = [{"n": 1}, {"n": 2, "idling": None}, {"n": 3, "idling": ""}, {"n": 4, "idling": "="}]
    assert [d["n"] for d in jgrep(docs, "idling=")] == [1, 2]
    assert [d["n"] for d in jgrep(docs, "idling==")] == [1, 2]
    assert [d["n"] for d in jgrep(docs, "idling= and n=1")] == [1]


def test_strings_compare_as_strings_and_mappings_never_match_an_order():
    assert jgrep([{"v": "abc"}, {"v": {"x": 1}}, {"v": [0]}], "v>1") == [{"v": "abc"}]
