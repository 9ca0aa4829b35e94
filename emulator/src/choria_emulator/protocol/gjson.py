"""The subset of gjson paths go-choria's fact filters and ``rpcutil#get_fact`` use, over a fact dict.

go-choria looks facts up with tidwall/gjson: ``os.family``, ``disks.0.size``, ``disks.#`` (count),
``disks.#.size`` (all), ``a\\.b`` (escaped dot), ``os.fam*`` (wildcards) and array queries
``disks.#(name=="sda").size``. Pipes and modifiers are not supported (the path finds nothing).
Paths are parsed once (cached) and wildcards run as RE2 globs, so a hostile path stays linear.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Callable

from ..compat import slotted_dataclass
from .expr import COMPARISONS
from .goregex import compile_go, never

MAX_PATH = 1024

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
    return compile_go("(?s)^" + "".join(out) + "$") or never


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


def gjson_int(number: int | float) -> int:
    """gjson ``Result.Int()`` of a number: integers as they are, floats truncated toward zero."""
    return number if isinstance(number, int) else int(number)
