"""Request filters and how a daemon evaluates them, as go-choria does (protocol.md §3).

Every non-empty category must pass (AND across categories); an empty filter matches all.
``identity`` entries are OR'd, ``agent``/``cf_class``/``fact`` entries AND'd, ``compound``
expressions are handed to :mod:`choria_emulator.protocol.compound`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from .errors import ProtocolError

FACT_OPERATORS = ("==", "=~", "!=", "<=", ">=", "<", ">")


class NodeView(Protocol):
    """What a filter needs to know about a node."""

    identity: str
    agents: tuple[str, ...]
    classes: tuple[str, ...]
    facts: dict[str, Any]


@lru_cache(maxsize=4096)
def compile_regex(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """Compile ``/re/`` (slashes stripped) once; filters repeat across thousands of instances."""
    return re.compile(pattern.strip("/"), re.IGNORECASE if ignore_case else 0)


def is_regex(entry: str) -> bool:
    return len(entry) >= 2 and entry.startswith("/") and entry.endswith("/")


@dataclass(slots=True, frozen=True)
class FactFilter:
    fact: str
    operator: str
    value: str

    def to_dict(self) -> dict[str, str]:
        return {"fact": self.fact, "operator": self.operator, "value": self.value}

    @classmethod
    def from_dict(cls, data: Any) -> FactFilter:
        if not isinstance(data, dict):
            raise ProtocolError("fact filter entries must be objects")
        fact, op, value = data.get("fact"), data.get("operator"), data.get("value")
        if not isinstance(fact, str) or op not in FACT_OPERATORS or not isinstance(value, str):
            raise ProtocolError(f"invalid fact filter {data!r}")
        return cls(fact, op, value)

    @classmethod
    def parse(cls, text: str) -> FactFilter:
        """Parse the CLI form: ``key=value``, ``key=/re/``, ``key>=1``, ``key=<1`` ... (like ``-F``)."""
        match = re.match(r"^([^=<>!~\s]+)\s*(==|=~|!=|<=|>=|=<|=>|<|>|=)\s*(.+)$", text.strip())
        if not match:
            raise ProtocolError(f"could not parse fact {text} it does not appear to be in a valid format")
        fact, op, value = match.groups()
        op = {"=<": "<=", "=>": ">="}.get(op, op)
        if op == "=":
            op = "=~" if is_regex(value) else "=="
        return cls(fact, op, value)

    def matches(self, facts: dict[str, Any]) -> bool:
        found, value = lookup_fact(facts, self.fact)
        if not found:
            return False
        return _compare_fact(value, self.operator, self.value)


_MISSING = object()


def lookup_fact(facts: dict[str, Any], path: str) -> tuple[bool, Any]:
    """A gjson-style dot path lookup (``os.family``, ``disks.0.size``)."""
    value: Any = facts
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
        if value is _MISSING:
            return False, None
    return True, value


def _parse_bool(text: str) -> bool | None:
    """Go's ``strconv.ParseBool``."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


def _number(text: str) -> float | int | None:
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return None


def _compare_fact(fact: Any, op: str, value: str) -> bool:
    if isinstance(fact, bool):
        wanted = _parse_bool(value.lower() if op != "==" else value)
        if op in ("==", "=~"):
            return wanted is fact
        if op == "!=":
            return wanted is not fact
        return False
    if isinstance(fact, (int, float)):
        if op == "=~":
            text = f"{float(fact):.4f}" if "." in value else str(int(fact))
            return bool(compile_regex(value, True).search(text))
        number = _number(value)
        if number is None:
            return False
        if isinstance(number, int):
            fact = int(fact)
        return {
            "==": fact == number,
            "!=": fact != number,
            "<": fact < number,
            ">": fact >= number if isinstance(number, float) else fact > number,  # Go quirk, §3
            "<=": fact <= number,
            ">=": fact >= number,
        }.get(op, False)
    if isinstance(fact, str):
        if op == "=~":
            return bool(compile_regex(value, True).search(fact))
        left, right = fact.lower(), value.lower()
        return {
            "==": left == right,
            "!=": left != right,
            "<": left < right,
            ">": left > right,
            "<=": left <= right,
            ">=": left >= right,
        }.get(op, False)
    return False  # null, objects and arrays never match


def match_identity(entries: list[str], identity: str) -> bool:
    for entry in entries:
        if is_regex(entry):
            if compile_regex(entry).search(identity):
                return True
        elif entry == identity:
            return True
    return False


def match_agents(entries: list[str], agents: tuple[str, ...]) -> bool:
    for entry in entries:
        if is_regex(entry):
            rx = compile_regex(entry)
            if not any(rx.search(agent) for agent in agents):
                return False
        elif entry not in agents:
            return False
    return True


def match_classes(entries: list[str], classes: tuple[str, ...]) -> bool:
    for entry in entries:
        if is_regex(entry):
            rx = compile_regex(entry, True)
            if not any(rx.search(cls) for cls in classes):
                return False
        elif entry.lower() not in classes:
            return False
    return True


@dataclass(slots=True)
class Filter:
    fact: list[FactFilter] = field(default_factory=list)
    cf_class: list[str] = field(default_factory=list)
    agent: list[str] = field(default_factory=list)
    identity: list[str] = field(default_factory=list)
    compound: list[list[dict[str, str]]] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.fact or self.cf_class or self.agent or self.identity or self.compound)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fact": [f.to_dict() for f in self.fact],
            "cf_class": list(self.cf_class),
            "agent": list(self.agent),
            "identity": list(self.identity),
            "compound": [list(c) for c in self.compound],
        }

    def add_agent(self, agent: str) -> None:
        if agent not in self.agent:
            self.agent.append(agent)

    def add_compound(self, expression: str) -> None:
        self.compound.append([{"expr": expression}])

    @classmethod
    def from_dict(cls, data: Any) -> Filter:
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ProtocolError("request filter is not an object")

        def strings(key: str) -> list[str]:
            value = data.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ProtocolError(f"filter {key} must be a list of strings")
            return value

        facts = data.get("fact") or []
        compound = data.get("compound") or []
        if not isinstance(facts, list) or not isinstance(compound, list):
            raise ProtocolError("filter fact and compound must be lists")
        return cls(
            fact=[FactFilter.from_dict(f) for f in facts],
            cf_class=strings("cf_class"),
            agent=strings("agent"),
            identity=strings("identity"),
            compound=[c if isinstance(c, list) else [{"expr": str(c)}] for c in compound],
        )

    def matches(self, node: NodeView) -> bool:
        """Evaluate the filter against one node (go-choria ``server`` semantics)."""
        if self.empty():
            return True
        if self.identity and not match_identity(self.identity, node.identity):
            return False
        if self.agent and not match_agents(self.agent, node.agents):
            return False
        if self.cf_class and not match_classes(self.cf_class, node.classes):
            return False
        if self.fact and not all(f.matches(node.facts) for f in self.fact):
            return False
        if self.compound:
            from .compound import match_compound

            if not match_compound(self.compound, node):
                return False
        return True

    def node_independent(self) -> bool:
        """True when only the agent list is set: every instance of a worker answers alike."""
        return not (self.fact or self.cf_class or self.identity or self.compound)
