"""SemanticPuppet version ranges, as Choria playbooks' ``uses`` reads them (over :mod:`.version`).

MCollective agents never promised SemVer, so :func:`agent_version` pads ``X.Y`` to ``X.Y.0``
before comparing (mcollective-choria ``valid_version?``). Range syntax and meaning follow
SemanticPuppet's ``VersionRange.parse`` (itself node-semver): ``~1.0.0`` is ``>=1.0.0 <1.1.0``,
``^1.2`` is ``>=1.2.0 <2.0.0``, ``1.x`` is ``>=1.0.0 <2.0.0``, ``> 1.0`` is ``>=1.1.0``, spaces
join comparators with AND, ``a - b`` is inclusive, ``||`` is OR. A pre-release version only
matches a range that names a pre-release of the same ``X.Y.Z``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .version import NUMBER, QUALIFIER, SemVerError, Version, identifiers

XR = r"(x|X|\*|0|[1-9][0-9]*)"
LOOSE_VERSION_RE = re.compile(rf"^{NUMBER}(?:\.{NUMBER}(?:\.{NUMBER}{QUALIFIER})?)?$")
PARTIAL_RE = re.compile(rf"^{XR}(?:\.{XR}(?:\.{XR}{QUALIFIER})?)?$")
PARTIAL = (
    r"(?:x|X|\*|0|[1-9][0-9]*)(?:\.(?:x|X|\*|0|[1-9][0-9]*)"
    r"(?:\.(?:x|X|\*|0|[1-9][0-9]*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)?)?"
)
SIMPLE_RE = re.compile(rf"^(<=|>=|~>|~=|[<>=~^])?({PARTIAL})$")
HYPHEN_RE = re.compile(rf"^({PARTIAL})\s+-\s+({PARTIAL})$")


def agent_version(text: str) -> Version:
    """An agent's DDL version; ``X.Y`` is read as ``X.Y.0`` as mcollective-choria does."""
    text = str(text).strip()
    if len(text.split(".")) == 2:
        text += ".0"
    return Version.parse(text)


@dataclass(frozen=True)
class Comparator:
    op: str  # one of >, >=, <, <=, =
    version: Version

    def test(self, version: Version) -> bool:
        if self.op == ">":
            return version > self.version
        if self.op == ">=":
            return version >= self.version
        if self.op == "<":
            return version < self.version
        if self.op == "<=":
            return version <= self.version
        return version == self.version

    def allows_prerelease_of(self, version: Version) -> bool:
        return not self.version.stable and self.version.triple == version.triple

    def __str__(self) -> str:
        return f"{'' if self.op == '=' else self.op}{self.version}"


NOTHING = (Comparator("<", Version(0, 0, 0)),)


@dataclass(frozen=True)
class VersionRange:
    """A union (``||``) of intersections of comparators; an empty intersection matches everything."""

    text: str
    alternatives: tuple[tuple[Comparator, ...], ...]

    @classmethod
    def parse(cls, text: str) -> VersionRange:
        source = str(text)
        # Whitespace (or a "v") after an operator does not split comparators: "~ 1.0.0", ">= v1".
        squeezed = re.sub(r"([><=~^])(?:\s+|\s*v)", r"\1", source.strip())
        ranges = re.split(r"\s*\|\|\s*", squeezed)
        if not squeezed:
            return cls(source, ((),))
        alternatives = []
        for part in ranges:
            hyphen = HYPHEN_RE.match(part)
            if hyphen:
                alternatives.append(
                    (
                        Comparator(">=", _padded(hyphen.group(1), source)),
                        Comparator("<=", _padded(hyphen.group(2), source)),
                    )
                )
                continue
            comparators: list[Comparator] = []
            for simple in part.split():
                match = SIMPLE_RE.match(simple)
                if not match:
                    raise SemVerError(f'Unparsable version range: "{source}"')
                comparators.extend(_simple(match.group(1), match.group(2), source))
            alternatives.append(tuple(comparators))
        return cls(source, tuple(alternatives))

    def include(self, version: Version | str) -> bool:
        if isinstance(version, str):
            version = Version.parse(version)
        for comparators in self.alternatives:
            if not all(c.test(version) for c in comparators):
                continue
            if version.stable or not comparators or any(c.allows_prerelease_of(version) for c in comparators):
                return True
        return False

    __contains__ = include

    def __str__(self) -> str:
        return self.text


def _digit(text: str | None) -> int | None:
    return None if text is None or text in ("x", "X", "*") else int(text)


def _loose(operand: str, source: str) -> tuple[int | None, int | None, int | None, str | None, str | None]:
    match = LOOSE_VERSION_RE.match(operand)
    if not match:
        raise SemVerError(f'Unparsable version range: "{source}"')
    major, minor, patch, pre, build = match.groups()
    return _digit(major), _digit(minor), _digit(patch), pre, build


def _padded(operand: str, source: str) -> Version:
    major, minor, patch, pre, build = _loose(operand, source)
    return Version(major or 0, minor or 0, patch or 0, identifiers(pre), build)


def _between(low: Version, high: Version) -> list[Comparator]:
    return [Comparator(">=", low), Comparator("<", high)]


def _patch_updates(
    major: int | None, minor: int | None, patch: int | None, pre: str | None, build: str | None, exact: bool
) -> list[Comparator]:
    if major is None:
        return []
    if minor is None:
        return _between(Version(major, 0, 0), Version(major + 1, 0, 0))
    if patch is None:
        return _between(Version(major, minor, 0), Version(major, minor + 1, 0))
    version = Version(major, minor, patch, identifiers(pre), build)
    if exact:
        return [Comparator("=", version)]
    return _between(version, Version(major, minor + 1, 0))


def _simple(op: str | None, operand: str, source: str) -> list[Comparator]:
    if op in ("~", "~>", "~="):
        major, minor, patch, pre, build = _loose(operand, source)
        return _patch_updates(major, minor, patch, pre, build, exact=False)
    if op == "^":
        major, minor, patch, pre, build = _loose(operand, source)
        if major == 0:
            return _patch_updates(major, minor, patch, pre, build, exact=False)
        low = Version(major or 0, minor or 0, patch or 0, identifiers(pre) if patch is not None else (), build)
        return _between(low, Version((major or 0) + 1, 0, 0))
    if op == ">":
        major, minor, patch, pre, build = _loose(operand, source)
        if major is None:
            return list(NOTHING)
        if minor is None:
            return [Comparator(">=", Version(major + 1, 0, 0))]
        if patch is None:
            return [Comparator(">=", Version(major, minor + 1, 0))]
        return [Comparator(">", Version(major, minor, patch, identifiers(pre), build))]
    if op == ">=":
        return [Comparator(">=", _padded(operand, source))]
    if op == "<":
        return [Comparator("<", _padded(operand, source))]
    if op == "<=":
        major, minor, patch, pre, build = _loose(operand, source)
        if major is None:
            return []
        if minor is None:
            return [Comparator("<", Version(major + 1, 0, 0))]
        if patch is None:
            return [Comparator("<", Version(major, minor + 1, 0))]
        return [Comparator("<=", Version(major, minor, patch, identifiers(pre), build))]
    # "=" or no operator: an x-range ("1.x", "1.2", "*") or one exact version.
    match = PARTIAL_RE.match(operand)
    if not match:
        raise SemVerError(f'Unparsable version range: "{source}"')
    major, minor, patch, pre, build = match.groups()
    return _patch_updates(_digit(major), _digit(minor), _digit(patch), pre, build, exact=True)


def satisfies(version: str, range_text: str) -> bool:
    """Whether an agent version (``X.Y`` padded) lies in a SemanticPuppet range."""
    return VersionRange.parse(range_text).include(agent_version(version))
