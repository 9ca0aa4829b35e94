"""SemanticPuppet version ranges as playbook ``uses`` reads them (playbooks.md §1.3)."""

from __future__ import annotations

import pytest

from choria_emulator.semver import SemVerError, Version
from choria_emulator.semver.puppet import VersionRange, agent_version, satisfies


@pytest.mark.parametrize(
    "wanted, version, expected",
    [
        ("~1.0.0", "1.0.0", True),
        ("~1.0.0", "1.0.9", True),
        ("~1.0.0", "1.1.0", False),
        ("~ 1.0.0", "1.0.3", True),  # space after the operator is allowed
        (">= 1.0.0 < 2.0.0", "1.9.9", True),
        (">= 1.0.0 < 2.0.0", "2.0.0", False),
        (">= 1.0.0 < 2.0.0", "0.9.0", False),
        ("1.x", "1.4.2", True),
        ("1.x", "2.0.0", False),
        ("^1.2", "1.2.0", True),
        ("^1.2", "1.99.0", True),
        ("^1.2", "1.1.9", False),
        ("^1.2", "2.0.0", False),
        ("^0.2.3", "0.2.9", True),  # caret on 0.x allows patch updates only
        ("^0.2.3", "0.3.0", False),
        ("> 1.0.1", "1.0.2", True),
        ("> 1.0.1", "1.0.1", False),
        (">1.0", "1.0.9", False),  # a partial version after > means the next minor
        (">1.0", "1.1.0", True),
        ("<=1.2", "1.2.7", True),
        ("<=1.2", "1.3.0", False),
        ("1.0.0 - 1.3", "1.3.0", True),
        ("1.0.0 - 1.3", "1.3.1", False),
        ("1.2.3", "1.2.3", True),
        ("=1.2.3", "1.2.4", False),
        ("<1.0 || >=3", "3.1.0", True),
        ("<1.0 || >=3", "2.0.0", False),
        ("*", "9.9.9", True),
        (">=1.0.0", "1.1.0-rc.1", False),  # pre-releases only match a range naming one of the same X.Y.Z
        (">=1.1.0-rc.1", "1.1.0-rc.2", True),
        (">=1.1.0-rc.1", "1.1.0", True),
    ],
)
def test_range_membership_follows_semantic_puppet(wanted: str, version: str, expected: bool) -> None:
    assert VersionRange.parse(wanted).include(Version.parse(version)) is expected


def test_agent_versions_of_the_form_x_y_are_padded() -> None:
    assert agent_version("1.1") == Version(1, 1, 0)
    assert satisfies("1.1", "~1.1.0")
    assert not satisfies("1.2", "~1.1.0")


def test_tilde_means_patch_updates_only() -> None:
    assert satisfies("0.29.4", "~0.29")
    assert not satisfies("0.29.4", "~1.0.0")


def test_prerelease_ordering_follows_semver() -> None:
    assert (
        Version.parse("1.0.0-alpha")
        < Version.parse("1.0.0-alpha.1")
        < Version.parse("1.0.0-beta")
        < Version.parse("1.0.0")
    )
    assert Version.parse("1.0.0-2") < Version.parse("1.0.0-10")
    assert Version.parse("1.0.0+build.1") == Version.parse("1.0.0")


@pytest.mark.parametrize("text", [">=1.x", "~>", "1.2.3.4", "bogus", ">= 1.0 <"])
def test_unparsable_ranges_raise_with_the_range_quoted(text: str) -> None:
    with pytest.raises(SemVerError, match="Unparsable version range"):
        VersionRange.parse(text)


@pytest.mark.parametrize("text", ["1", "1.2.3.4", "01.2.3", "v1.2.3", ""])
def test_invalid_versions_raise(text: str) -> None:
    with pytest.raises(SemVerError):
        Version.parse(text)
