"""One semantic version type: the two ways Choria reads version text, and SemVer 2.0 precedence.

:meth:`Version.parse` is strict SemVer 2.0 as SemanticPuppet reads it (playbook ``uses``):
``X.Y.Z[-pre][+build]``, no leading zeros in ``X.Y.Z``, numeric pre-release identifiers read as
numbers (``-01`` is ``-1``). :meth:`Version.parse_loose` is Masterminds/semver v1's
``NewVersion`` (compound ``semver()``): an optional ``v``, missing minor/patch read as 0,
leading zeros allowed, identifiers kept as written.

Precedence is go-choria's (Masterminds ``Compare``), which is SemVer 2.0 §11: a pre-release
sorts before its release, identifiers compare left to right, numeric ones by value and before
alphanumeric ones, a shorter list first; build metadata is ignored. Two different numeric
identifiers of the same value (``01`` and ``1``, only possible from :meth:`parse_loose`) sort
each below the other, as Go's ``comparePrePart`` has them.
"""

from __future__ import annotations

import re

from ..compat import slotted_dataclass

NUMBER = r"(0|[1-9][0-9]*)"
IDENTIFIERS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
QUALIFIER = rf"(?:-({IDENTIFIERS}))?(?:\+({IDENTIFIERS}))?"
_STRICT = re.compile(rf"^{NUMBER}\.{NUMBER}\.{NUMBER}{QUALIFIER}$")
_LOOSE = re.compile(rf"v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?{QUALIFIER}\Z")
_UINT64 = 2**64 - 1


class SemVerError(ValueError):
    """A version, range or constraint that cannot be parsed; the message quotes it."""


def identifiers(text: str | None) -> tuple[str, ...]:
    """Dot-separated pre-release identifiers, numeric ones as numbers (SemanticPuppet: ``01`` is ``1``)."""
    if not text:
        return ()
    return tuple(str(int(part)) if part.isdigit() else part for part in text.split("."))


@slotted_dataclass(frozen=True, eq=False)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str | None = None

    @classmethod
    def parse(cls, text: str) -> Version:
        """Strict ``X.Y.Z[-pre][+build]`` (surrounding blanks ignored)."""
        match = _STRICT.match(str(text).strip())
        if not match:
            raise SemVerError(f"Unable to parse {text!r} as a semantic version identifier")
        major, minor, patch, pre, build = match.groups()
        return cls(int(major), int(minor), int(patch), identifiers(pre), build)

    @classmethod
    def parse_loose(cls, text: str) -> Version:
        """Masterminds ``NewVersion``: ``v1``, ``1.2``, ``01.2.3-rc.01+build``; segments fit a uint64."""
        match = _LOOSE.match(text)
        if match is None:
            raise SemVerError(f"invalid semantic version {text!r}")
        numbers = [int(g) if g else 0 for g in match.group(1, 2, 3)]
        if any(n > _UINT64 for n in numbers):
            raise SemVerError(f"version segment out of range in {text!r}")
        pre, build = match.group(4, 5)
        return cls(*numbers, tuple(pre.split(".")) if pre else (), build)

    @property
    def stable(self) -> bool:
        return not self.prerelease

    @property
    def triple(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def compare(self, other: Version) -> int:
        """-1, 0 or 1 as ``self`` sorts before, with or after ``other``."""
        for mine, theirs in ((self.major, other.major), (self.minor, other.minor), (self.patch, other.patch)):
            if mine != theirs:
                return 1 if mine > theirs else -1
        if self.prerelease == other.prerelease:
            return 0
        if not self.prerelease:
            return 1
        if not other.prerelease:
            return -1
        return _compare_prerelease(self.prerelease, other.prerelease)

    def __eq__(self, other: object) -> bool:
        return self.compare(other) == 0 if isinstance(other, Version) else NotImplemented

    def __lt__(self, other: object) -> bool:
        return self.compare(other) < 0 if isinstance(other, Version) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.compare(other) <= 0 if isinstance(other, Version) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.compare(other) > 0 if isinstance(other, Version) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.compare(other) >= 0 if isinstance(other, Version) else NotImplemented

    def __hash__(self) -> int:
        return hash((self.major, self.minor, self.patch, self.prerelease))

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + self.build
        return text


def _compare_identifier(mine: str, theirs: str) -> int:
    if mine == theirs:
        return 0
    mine_num, theirs_num = mine.isdigit() and mine.isascii(), theirs.isdigit() and theirs.isascii()
    if not mine_num and not theirs_num:
        return 1 if mine > theirs else -1
    if not theirs_num:
        return -1  # numbers sort before alphanumerics
    if not mine_num:
        return 1
    return 1 if int(mine) > int(theirs) else -1


def _compare_prerelease(mine: tuple[str, ...], theirs: tuple[str, ...]) -> int:
    for a, b in zip(mine, theirs):
        order = _compare_identifier(a, b)
        if order:
            return order
    return (len(mine) > len(theirs)) - (len(mine) < len(theirs))
