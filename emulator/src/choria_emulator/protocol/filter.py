"""Request filters and how a daemon evaluates them, as go-choria does (protocol.md §3).

Every non-empty category must pass (AND across categories); an empty filter matches all.
``identity`` entries are OR'd, ``agent``/``cf_class``/``fact`` entries AND'd, ``compound``
expressions are handed to :mod:`.compound`, the other categories to :mod:`.matching`. The rules
follow go-choria ``filter/{identity,agents,classes,facts}`` and ``protocol/filter.go``; every
place we differ is listed in docs/protocol.md. ``Filter.matches`` runs once per instance per request, so
regexes, fact comparisons and compound programs are prepared once and reused.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from ..compat import slotted_dataclass
from .compound import expression_error
from .errors import ProtocolError
from .factfilter import FactFilter
from .goregex import pattern_error
from .matching import NodeView, is_regex, unwrap_regex
from .prepared import PreparedFilter
from .rubycompound import is_ruby_query


def _string_list(data: dict[str, Any], key: str, required: bool) -> list[str]:
    if key not in data and not required:
        return []
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProtocolError(f"request filter {key} must be a list of strings")
    return list(value)


def _compound_list(value: Any) -> list[list[dict[str, Any]]]:
    if not isinstance(value, list):
        raise ProtocolError("request filter compound must be a list")
    for item in value:
        if is_ruby_query(item):  # the Ruby mco's call stack; fstatement values are objects
            continue
        if not isinstance(item, list) or not all(
            isinstance(query, dict) and all(isinstance(v, str) for v in query.values()) for query in item
        ):
            raise ProtocolError('request filter compound items must be lists of {"expr": "..."} objects')
    return value


@slotted_dataclass
class Filter:
    fact: list[FactFilter] = field(default_factory=list)
    cf_class: list[str] = field(default_factory=list)
    agent: list[str] = field(default_factory=list)
    identity: list[str] = field(default_factory=list)
    compound: list[list[dict[str, Any]]] = field(default_factory=list)

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
        if agent and agent not in self.agent:
            self.agent.append(agent)

    def add_compound(self, expression: str) -> None:
        if expression:
            self.compound.append([{"expr": expression}])

    @classmethod
    def from_dict(cls, data: Any, strict: bool = False) -> Filter:
        """A filter from a request envelope.

        ``strict`` mirrors the request schema go-choria daemons validate with: ``fact``,
        ``cf_class``, ``identity`` and ``compound`` must be present, every list must hold the
        right types, compound items must be lists of objects with string values.
        """
        if data is None and not strict:
            return cls()
        if not isinstance(data, dict):
            raise ProtocolError("request filter is not an object")
        if not strict:
            data = {k: v for k, v in data.items() if v is not None}
            data = {"fact": [], "cf_class": [], "identity": [], "compound": [], **data}
        facts = data.get("fact")
        if not isinstance(facts, list):
            raise ProtocolError("request filter fact must be a list")
        return cls(
            fact=[FactFilter.from_dict(f) for f in facts],
            cf_class=_string_list(data, "cf_class", True),
            agent=_string_list(data, "agent", False),
            identity=_string_list(data, "identity", True),
            compound=_compound_list(data.get("compound")),
        )

    def matches(self, node: NodeView) -> bool:
        """Evaluate the filter against one node (go-choria ``MatchServerRequest``).

        The rules live once, in :class:`~.prepared.PreparedFilter`, which daemons prepare once per
        request for all their nodes; this prepares it for one node, without limits.
        """
        return PreparedFilter(self, limits=None).matches(node)

    def check(self) -> None:
        """Raise ProtocolError naming the first entry no daemon can evaluate.

        A ``/regex/`` that RE2 cannot compile or a compound expression that does not parse only
        makes every daemon match nothing; a client checks before sending so the user hears why.
        """
        for kind, entries in (("identity", self.identity), ("agent", self.agent), ("class", self.cf_class)):
            for entry in entries:
                reason = pattern_error(unwrap_regex(entry)) if is_regex(entry) else None
                if reason:
                    raise ProtocolError(f"{kind} filter {entry!r} is not a valid regular expression: {reason}")
        for fact in self.fact:
            reason = pattern_error(fact.value.strip("/")) if fact.operator == "=~" else None
            if reason:
                raise ProtocolError(
                    f"fact filter {fact.fact}=~{fact.value} is not a valid regular expression: {reason}"
                )
        for item in self.compound:
            for query in item:
                expression = query.get("expr")
                reason = expression_error(expression) if isinstance(expression, str) else None
                if reason:
                    raise ProtocolError(f"compound filter {expression!r} does not compile: {reason}")
