"""Fact filters (``-F os.family=Debian``): parse the CLI form, and compare a fact as go-choria does.

Rules of go-choria ``filter/facts`` (``ParseFactFilterString``, ``matchers.go``): strings compare
case-insensitively, numbers as int or float by the value's form, booleans through
``strconv.ParseBool``, regexes with Go's engine; the fact is looked up with a gjson path
(:mod:`.gjson`). Each filter compiles its comparison once.
"""

from __future__ import annotations

import re
from dataclasses import field
from typing import Any, Callable

from ..compat import slotted_dataclass
from .errors import ProtocolError
from .expr import COMPARISONS
from .gjson import gjson_int, lookup_fact
from .goregex import compile_go, never
from .gostrconv import go_atoi, go_parse_float, go_truthy

FACT_OPERATORS = ("==", "=~", "!=", "<=", ">=", "<", ">")
PARSE_ERROR = "could not parse fact {} it does not appear to be in a valid format"
# go-choria filter/facts: the operators ParseFactFilterString recognises, in its match order
_VALID_OPERATORS = re.compile(r"<=|>=|=>|=<|<|>|!=|=~|={1,2}")


Comparison = Callable[[Any], bool]


def _compile_fact_comparison(op: str, value: str) -> Comparison:
    """One function that answers ``fact <op> value`` for any fact value, built once per filter.

    Strings compare case-insensitively (go-choria 58e80ba); numbers as int, or float when the
    value has a ``.`` (and Go's ``>`` with a float value is ``>=``); booleans through
    ``strconv.ParseBool``; null, objects and arrays never match.
    """
    lowered = value.lower()
    has_dot = "." in value
    as_float = go_parse_float(value) if has_dot else None
    as_int = None if has_dot else go_atoi(value)
    truthy_raw, truthy_lower = go_truthy(value), go_truthy(lowered)

    ordering = COMPARISONS.get(op, lambda left, right: False)
    float_ordering = COMPARISONS[">="] if op == ">" else ordering  # Go's ">" with a float value
    regex = (compile_go(value.strip("/"), ignore_case=True) or never) if op == "=~" else never

    def string_compare(fact: str) -> bool:
        if op == "=~":
            return regex(fact)
        return ordering(fact.lower(), lowered)

    def number_compare(fact: int | float) -> bool:
        if op == "=~":
            return regex(f"{float(fact):.4f}" if has_dot else str(gjson_int(fact)))
        if has_dot:
            return as_float is not None and float_ordering(float(fact), as_float)
        whole = gjson_int(fact)
        if op in ("==", "!="):
            return ordering(str(whole), value)  # strconv.Itoa(int(fact)) against the text
        return as_int is not None and ordering(whole, as_int)

    if op == "==":
        true_result, false_result = truthy_raw, not truthy_raw
    elif op == "=~":
        true_result, false_result = truthy_lower, not truthy_lower
    elif op == "!=":
        true_result, false_result = not truthy_lower, not truthy_lower  # Go: false != "false" is true
    else:
        true_result = false_result = False

    def compare(fact: Any) -> bool:
        if fact is True:
            return true_result
        if fact is False:
            return false_result
        if isinstance(fact, str):
            return string_compare(fact)
        if isinstance(fact, (int, float)):
            try:
                return number_compare(fact)
            except (OverflowError, ValueError):  # inf/nan facts from YAML
                return False
        if fact is None or isinstance(fact, (dict, list, tuple)):
            return False
        return string_compare(str(fact))  # dates and other YAML scalars are strings in JSON

    return compare if op in FACT_OPERATORS else never


@slotted_dataclass(frozen=True)
class FactFilter:
    fact: str
    operator: str
    value: str
    _compare: Comparison = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compare", _compile_fact_comparison(self.operator, self.value))

    def to_dict(self) -> dict[str, str]:
        return {"fact": self.fact, "operator": self.operator, "value": self.value}

    @classmethod
    def from_dict(cls, data: Any) -> FactFilter:
        """A fact filter from a request, checked like the schema go-choria validates against."""
        if not isinstance(data, dict):
            raise ProtocolError("fact filter entries must be objects")
        fact, op, value = data.get("fact"), data.get("operator"), data.get("value")
        if not isinstance(fact, str) or not fact or op not in FACT_OPERATORS or not isinstance(value, str) or not value:
            raise ProtocolError(f"invalid fact filter {data!r}")
        return cls(fact, op, value)

    @classmethod
    def parse(cls, text: str) -> FactFilter:
        """Parse the CLI form like go-choria ``ParseFactFilterString``.

        ``key=value``/``key==value`` → ``==``, ``key=/re/`` (any operator with a ``/re/`` value)
        → ``=~``, ``=<``/``=>`` → ``<=``/``>=``, and ``<= >= < > != =~``. When the text holds
        several operators the right-most one is used.
        """
        found = list(_VALID_OPERATORS.finditer(text))
        if not found:
            raise ProtocolError(PARSE_ERROR.format(text))
        last = found[-1]
        op = last.group()
        left, right = text[: last.start()].strip(), text[last.end() :].strip()
        if not left or not right or _VALID_OPERATORS.match(left[0]) or _VALID_OPERATORS.match(right[-1]):
            raise ProtocolError(PARSE_ERROR.format(text))
        op = {"=": "==", "=<": "<=", "=>": ">="}.get(op, op)
        if right[0] == "/" and right[-1] == "/":
            op = "=~"
        return cls(left, op, right)

    def matches(self, facts: dict[str, Any]) -> bool:
        found, value = lookup_fact(facts, self.fact)
        return found and self._compare(value)


def match_facts(filters: list[FactFilter], facts: dict[str, Any]) -> bool:
    """AND over fact filters (go-choria ``MatchFacts``)."""
    for fact_filter in filters:
        if not fact_filter.matches(facts):
            return False
    return bool(filters)
