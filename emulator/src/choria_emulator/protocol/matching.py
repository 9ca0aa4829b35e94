"""How one node is tested against the entries of a request filter, as go-choria does (protocol.md §3).

``identity`` entries are OR'd, ``agent``/``cf_class``/``fact`` entries AND'd; ``/re/`` entries
are Go regular expressions; fact filters compare gjson paths of the node's facts with Go's
number and boolean parsing. :mod:`.filter` combines these per category and :mod:`.compound`
builds ``with()`` and ``fact()`` on them; regexes and fact comparisons are prepared once.
"""

from __future__ import annotations

import json
import re
from dataclasses import field
from functools import lru_cache
from typing import Any, Callable, Protocol

from ..compat import slotted_dataclass
from .errors import ProtocolError
from .expr import COMPARISONS
from .goregex import compile_go

FACT_OPERATORS = ("==", "=~", "!=", "<=", ">=", "<", ">")
PARSE_ERROR = "could not parse fact {} it does not appear to be in a valid format"
# go-choria filter/facts: the operators ParseFactFilterString recognises, in its match order
_VALID_OPERATORS = re.compile(r"<=|>=|=>|=<|<|>|!=|=~|={1,2}")
_TRUTHY = frozenset(("1", "t", "T", "TRUE", "true", "True"))  # strconv.ParseBool true values
_GO_INT = re.compile(r"[+-]?[0-9]+\Z")
# unambiguous forms (one way to split the digits): linear time on a megabyte of digits
_GO_FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)\Z", re.I)
_GO_HEX_FLOAT = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+\Z")
_INT64 = (-(2**63), 2**63 - 1)
MAX_PATH = 1024


class NodeView(Protocol):
    """What a filter needs to know about a node."""

    identity: str
    agents: tuple[str, ...]
    classes: tuple[str, ...]
    facts: dict[str, Any]


def is_regex(entry: str) -> bool:
    """``/re/`` entries of identity, agent and class filters (go-choria: prefix and suffix ``/``)."""
    return entry.startswith("/") and entry.endswith("/")


def unwrap_regex(entry: str) -> str:
    """Go's ``TrimPrefix(needle, "/")`` then ``TrimSuffix``: one slash off each end."""
    return entry[1:][:-1] if len(entry) > 1 else ""


# ---- fact lookup (gjson paths) -------------------------------------------------------------------

_MISSING = object()
_GJSON_SPECIAL = re.compile(r"[\\*?#|@]")
_QUERY = re.compile(r"\s*(.*?)\s*(==|!=|<=|>=|!%|=|<|>|%)\s*(.*?)\s*\Z", re.S)


@slotted_dataclass(frozen=True)
class _Query:
    """A gjson ``#(path op value)`` array query; ``every`` for ``#(...)#`` (all matches)."""

    path: tuple[Any, ...]
    op: str
    value: Any
    every: bool

    def accepts(self, item: Any) -> bool:
        found = _walk(item, self.path)
        if found is _MISSING:
            return False
        wanted, op = self.value, self.op
        if op in ("%", "!%"):
            if not isinstance(found, str) or not isinstance(wanted, str):
                return False
            hit = _glob(wanted)(found)
            return hit if op == "%" else not hit
        if isinstance(found, bool) or isinstance(wanted, bool) or found is None or wanted is None:
            same = type(found) is type(wanted) and found == wanted
            return same if op in ("=", "==") else (not same if op == "!=" else False)
        comparable = (isinstance(found, str) and isinstance(wanted, str)) or (
            isinstance(found, (int, float)) and isinstance(wanted, (int, float))
        )
        if not comparable:
            return op == "!="
        return COMPARISONS["==" if op == "=" else op](found, wanted)


def _query(text: str, every: bool) -> _Query | None:
    match = _QUERY.match(text)
    if match is None or not match.group(1):
        return None
    path, op, raw = match.groups()
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    inner = _path_parts(path)
    return None if inner is None else _Query(inner, op, value, every)


@lru_cache(maxsize=4096)
def _path_parts(path: str) -> tuple[Any, ...] | None:
    """Split a gjson path on unescaped dots into keys and ``#(...)`` queries; None when it uses
    syntax we do not support (pipes, modifiers) or is longer than any fact name (1 KiB)."""
    if len(path) > MAX_PATH:
        return None
    if not _GJSON_SPECIAL.search(path):
        return tuple(path.split("."))
    parts: list[Any] = []
    current: list[str] = []
    i, size = 0, len(path)
    while i < size:
        ch = path[i]
        if ch == "\\" and i + 1 < size:
            current.append("\\" + path[i + 1] if path[i + 1] in "*?" else path[i + 1])
            i += 2
            continue
        if ch in "|@":
            return None
        if ch == "#" and path.startswith("#(", i) and not current:
            depth, j, quoted = 0, i + 1, False
            while j < size:
                c = path[j]
                if quoted:
                    if c == "\\":
                        j += 1
                    elif c == '"':
                        quoted = False
                elif c == '"':
                    quoted = True
                elif c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= size:
                return None
            every = path.startswith(")#", j)
            query = _query(path[i + 2 : j], every)
            if query is None:
                return None
            parts.append(query)
            i = j + (2 if every else 1)
            if i < size and path[i] != ".":
                return None
            i += 1
            if i >= size:
                return tuple(parts)
            continue
        if ch == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return tuple(parts)


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> Callable[[str], bool]:
    """A gjson/tidwall match glob (``*``, ``?``, ``\\`` escapes) as an anchored RE2 test:
    linear time whatever the key, however many stars the request put in the path."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if pattern[i] == "*" else "." if pattern[i] == "?" else re.escape(pattern[i]))
        i += 1
    return compile_go("(?s)^" + "".join(out) + "$") or _never


@lru_cache(maxsize=1024)
def _wildcard(part: str) -> Callable[[str], bool] | None:
    """The key test of a path component with ``*``/``?`` wildcards (``\\*`` is a literal star)."""
    if "*" not in part.replace("\\*", "") and "?" not in part.replace("\\?", ""):
        return None
    return _glob(part)


def _literal(part: str) -> str:
    return part.replace("\\*", "*").replace("\\?", "?")


def lookup_fact(facts: dict[str, Any], path: str) -> tuple[bool, Any]:
    """A gjson path lookup: ``os.family``, ``disks.0.size``, ``disks.#`` (count), ``disks.#.size``
    (all), ``a\\.b`` (escaped dot), ``os.fam*`` (wildcards), ``disks.#(name=="sda").size``."""
    parts = _path_parts(path)
    if parts is None:
        return False, None
    value = _walk(facts, parts)
    return (False, None) if value is _MISSING else (True, value)


def _walk(value: Any, parts: tuple[Any, ...]) -> Any:
    for index, part in enumerate(parts):
        if isinstance(part, _Query):
            if not isinstance(value, list):
                return _MISSING
            rest = parts[index + 1 :]
            if part.every:
                found = (_walk(item, rest) for item in value if part.accepts(item))
                return [item for item in found if item is not _MISSING]
            value = next((item for item in value if part.accepts(item)), _MISSING)
        elif isinstance(value, dict):
            pattern = _wildcard(part)
            if pattern is None:
                value = value.get(_literal(part), _MISSING)
            else:
                value = next((v for k, v in value.items() if pattern(k)), _MISSING)
        elif isinstance(value, list):
            if part == "#":
                rest = parts[index + 1 :]
                if not rest:
                    return len(value)
                found = (_walk(item, rest) for item in value)
                return [item for item in found if item is not _MISSING]
            if not part.isdigit() or not part.isascii() or int(part) >= len(value):
                return _MISSING
            value = value[int(part)]
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


# ---- fact comparisons (go-choria filter/facts/matchers.go) ----------------------------------------


def go_truthy(text: str) -> bool:
    """``strconv.ParseBool(text)`` returned true without error."""
    return text in _TRUTHY


def go_atoi(text: str) -> int | None:
    """``strconv.Atoi``: optional sign and ASCII digits only, 64-bit range."""
    if not _GO_INT.match(text):
        return None
    number = int(text)
    return number if _INT64[0] <= number <= _INT64[1] else None


def go_parse_float(text: str) -> float | None:
    """``strconv.ParseFloat(text, 64)`` for the forms it accepts (no spaces, no underscores)."""
    if _GO_FLOAT.match(text):
        return float(text)
    if _GO_HEX_FLOAT.match(text):
        sign = -1.0 if text.startswith("-") else 1.0
        return sign * float.fromhex(text.lstrip("+-"))
    return None


def gjson_int(number: int | float) -> int:
    """gjson ``Result.Int()`` of a number: integers as they are, floats truncated toward zero."""
    return number if isinstance(number, int) else int(number)


Comparison = Callable[[Any], bool]


def _never(_value: Any) -> bool:
    return False


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
    regex = (compile_go(value.strip("/"), ignore_case=True) or _never) if op == "=~" else _never

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

    return compare if op in FACT_OPERATORS else _never


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


# ---- identity, agents, classes ---------------------------------------------------------------------


def _entry_tests(entries: tuple[str, ...], ignore_case: bool) -> list[Callable[[str], bool]]:
    """One test per entry: ``/re/`` compiled once (a pattern Go cannot compile never matches),
    anything else exact (class needles lower-cased, as go-choria does)."""
    tests: list[Callable[[str], bool]] = []
    for entry in entries:
        if is_regex(entry):
            tests.append(compile_go(unwrap_regex(entry), ignore_case) or _never)
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


def match_classes(entries: list[str], classes: tuple[str, ...]) -> bool:
    """AND: the lower-cased entry is a class, or the case-insensitive ``/re/`` matches one."""
    return _all_entries_test(tuple(entries), True)(tuple(classes))


def match_facts(filters: list[FactFilter], facts: dict[str, Any]) -> bool:
    """AND over fact filters (go-choria ``MatchFacts``)."""
    for fact_filter in filters:
        if not fact_filter.matches(facts):
            return False
    return bool(filters)
