"""``semver(version, constraint)`` of compound filters: Masterminds/semver v1 as go-choria uses it.

Versions are loose (``v1``, ``1.2``, ``1.2.3-rc.1+build``). Constraints are ``||``-separated
groups of ``,``-separated comparisons with the operators ``= != > < >= => <= =< ~ ~> ^``, ``x``/``*``
wildcards and ``1.2 - 1.4`` ranges; a pre-release version only satisfies comparisons whose own
version has a pre-release (Masterminds issue 21). Parsed constraints are cached.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

from ..compat import slotted_dataclass
from .version import SemVerError, Version

_CV = (
    r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_CONSTRAINT = re.compile(r"\s*(~>|=>|=<|>=|<=|!=|=|>|<|~|\^|)\s*(" + _CV + r")\s*\Z")
_RANGE = re.compile(r"\s*(" + _CV + r")\s+-\s+(" + _CV + r")\s*")


@slotted_dataclass(frozen=True)
class _Constraint:
    check: Callable[[Version, _Constraint], bool]
    con: Version
    dirty: bool
    minor_dirty: bool

    def __call__(self, version: Version) -> bool:
        return self.check(version, self)


def _excluded_pre(v: Version, c: _Constraint) -> bool:
    return bool(v.prerelease) and not c.con.prerelease


def _non_zero(v: Version) -> bool:
    return bool(v.major or v.minor or v.patch or v.prerelease)


def _not_equal(v: Version, c: _Constraint) -> bool:
    if c.dirty:
        if _excluded_pre(v, c):
            return False
        if c.con.major != v.major:
            return True
        return c.con.minor != v.minor and not c.minor_dirty
    return v.compare(c.con) != 0


def _greater(v: Version, c: _Constraint) -> bool:
    if not _non_zero(c.con) and _non_zero(v):
        return True
    return not _excluded_pre(v, c) and v.compare(c.con) == 1


def _less(v: Version, c: _Constraint) -> bool:
    if _excluded_pre(v, c):
        return False
    if not c.dirty:
        return v.compare(c.con) < 0
    return not (v.major > c.con.major or (v.minor > c.con.minor and not c.minor_dirty))


def _greater_equal(v: Version, c: _Constraint) -> bool:
    if not _non_zero(c.con) and _non_zero(v):
        return True
    return not _excluded_pre(v, c) and v.compare(c.con) >= 0


def _less_equal(v: Version, c: _Constraint) -> bool:
    if _excluded_pre(v, c):
        return False
    if not c.dirty:
        return v.compare(c.con) <= 0
    return not (v.major > c.con.major or (v.minor > c.con.minor and not c.minor_dirty))


def _tilde(v: Version, c: _Constraint) -> bool:
    if _excluded_pre(v, c) or v.compare(c.con) < 0:
        return False
    if c.con.major == c.con.minor == c.con.patch == 0:
        return True
    return v.major == c.con.major and (v.minor == c.con.minor or c.minor_dirty)


def _tilde_or_equal(v: Version, c: _Constraint) -> bool:
    if _excluded_pre(v, c):
        return False
    return _tilde(v, c) if c.dirty else v.compare(c.con) == 0


def _caret(v: Version, c: _Constraint) -> bool:
    return not _excluded_pre(v, c) and v.compare(c.con) >= 0 and v.major == c.con.major


_OPERATORS: dict[str, Callable[[Version, _Constraint], bool]] = {
    "": _tilde_or_equal,
    "=": _tilde_or_equal,
    "!=": _not_equal,
    ">": _greater,
    "<": _less,
    ">=": _greater_equal,
    "=>": _greater_equal,
    "<=": _less_equal,
    "=<": _less_equal,
    "~": _tilde,
    "~>": _tilde,
    "^": _caret,
}


def _is_x(part: str) -> bool:
    return part in ("x", "X", "*")


def _parse_one(text: str) -> _Constraint:
    match = _CONSTRAINT.match(text)
    if match is None:
        raise SemVerError(f"improper constraint: {text}")
    op, major, minor, patch, pre = (
        match.group(1),
        match.group(3),
        match.group(4) or "",
        match.group(5) or "",
        match.group(6) or "",
    )
    version, dirty, minor_dirty = match.group(2), False, False
    if _is_x(major):
        version, dirty = "0.0.0", True
    elif _is_x(minor.lstrip(".")):
        version, dirty, minor_dirty = f"{major}.0.0{pre}", True, True
    elif _is_x(patch.lstrip(".")):
        version, dirty = f"{major}{minor}.0{pre}", True
    try:
        con = Version.parse_loose(version)
    except SemVerError:
        raise SemVerError(f"improper constraint: {text}") from None
    return _Constraint(_OPERATORS[op], con, dirty, minor_dirty)


@lru_cache(maxsize=1024)
def _parse_version(text: str) -> Version:
    return Version.parse_loose(text)


@lru_cache(maxsize=256)
def parse_constraint(text: str) -> tuple[tuple[_Constraint, ...], ...]:
    """``||`` groups of ``,`` comparisons, ``a - b`` rewritten to ``>= a, <= b`` first."""
    text = _RANGE.sub(lambda m: f">= {m.group(1)}, <= {m.group(11)}", text)
    return tuple(tuple(_parse_one(part) for part in group.split(",")) for group in text.split("||"))


def satisfies(version: str, constraint: str) -> bool:
    """go-choria's ``semver(value, cmp)``: parse the constraint, then the version, then check."""
    groups = parse_constraint(constraint)
    parsed = _parse_version(version)
    return any(all(c(parsed) for c in group) for group in groups)
