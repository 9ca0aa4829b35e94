"""How one node is tested against the identity, agent and class entries of a request filter (protocol.md §3).

``identity`` entries are OR'd, ``agent``/``cf_class`` entries AND'd; ``/re/`` entries are Go
regular expressions (:mod:`.goregex`), compiled once per entry list. Fact filters live in
:mod:`.factfilter` (comparisons, with :mod:`.gjson` paths and :mod:`.gostrconv` parsing);
:mod:`.filter` combines the categories and :mod:`.compound` builds ``with()`` and ``fact()`` on them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Protocol

from .factfilter import FactFilter, match_facts
from .goregex import compile_go, never

# FactFilter and match_facts live in .factfilter; named here too so one import tests a whole node
__all__ = [
    "FactFilter",
    "NodeView",
    "classes_test",
    "is_regex",
    "match_agents",
    "match_classes",
    "match_facts",
    "match_identity",
    "unwrap_regex",
]


class NodeView(Protocol):
    """What a filter needs to know about a node (read-only: attributes or properties)."""

    @property
    def identity(self) -> str:
        """The node's identity."""

    @property
    def agents(self) -> tuple[str, ...]:
        """Names of the agents the node runs."""

    @property
    def classes(self) -> tuple[str, ...]:
        """Its configuration-management classes."""

    @property
    def facts(self) -> dict[str, Any]:
        """Its fact tree."""


def is_regex(entry: str) -> bool:
    """``/re/`` entries of identity, agent and class filters (go-choria: prefix and suffix ``/``)."""
    return entry.startswith("/") and entry.endswith("/")


def unwrap_regex(entry: str) -> str:
    """Go's ``TrimPrefix(needle, "/")`` then ``TrimSuffix``: one slash off each end."""
    return entry[1:][:-1] if len(entry) > 1 else ""


# ---- identity, agents, classes ---------------------------------------------------------------------


def _entry_tests(entries: tuple[str, ...], ignore_case: bool) -> list[Callable[[str], bool]]:
    """One test per entry: ``/re/`` compiled once (a pattern Go cannot compile never matches),
    anything else exact (class needles lower-cased, as go-choria does)."""
    tests: list[Callable[[str], bool]] = []
    for entry in entries:
        if is_regex(entry):
            tests.append(compile_go(unwrap_regex(entry), ignore_case) or never)
        else:
            tests.append((entry.lower() if ignore_case else entry).__eq__)
    return tests


@lru_cache(maxsize=1024)
def _identity_test(entries: tuple[str, ...]) -> Callable[[str], bool]:
    exact = frozenset(e for e in entries if not is_regex(e))
    patterns = [t for e, t in zip(entries, _entry_tests(entries, False)) if is_regex(e)]
    return lambda identity: identity in exact or any(test(identity) for test in patterns)


@lru_cache(maxsize=1024)
def _all_entries_test(entries: tuple[str, ...], ignore_case: bool) -> Callable[[tuple[str, ...]], bool]:
    """AND over entries, each matching some name; verdicts are kept per name list because all
    instances of a worker share one agent tuple and few class tuples."""
    tests = _entry_tests(entries, ignore_case)
    verdicts: dict[tuple[str, ...], bool] = {}

    def test(names: tuple[str, ...]) -> bool:
        verdict = verdicts.get(names)
        if verdict is None:
            verdict = bool(tests) and all(any(t(name) for name in names) for t in tests)
            if len(verdicts) < 4096:
                verdicts[names] = verdict
        return verdict

    return test


def match_identity(entries: list[str], identity: str) -> bool:
    """OR: exact name, or ``/re/`` searched (unanchored) in the identity."""
    return _identity_test(tuple(entries))(identity)


def match_agents(entries: list[str], agents: tuple[str, ...]) -> bool:
    """AND: every entry names a known agent or ``/re/`` matches one."""
    return _all_entries_test(tuple(entries), False)(tuple(agents))


def classes_test(entries: list[str]) -> Callable[[tuple[str, ...]], bool]:
    """The class entries as one prepared test over a node's classes (verdicts kept per class set)."""
    return _all_entries_test(tuple(entries), True)


def match_classes(entries: list[str], classes: tuple[str, ...]) -> bool:
    """AND: the lower-cased entry is a class, or the case-insensitive ``/re/`` matches one."""
    return _all_entries_test(tuple(entries), True)(tuple(classes))
