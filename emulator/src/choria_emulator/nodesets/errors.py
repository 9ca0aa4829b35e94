"""The one error type of node sets, and the option checks every source shares.

Messages follow the Choria playbook specification (playbooks.md §1.7); where the upstream text
does not name the node set, the message is prefixed with it so an Ansible user sees which set
of a large inventory failed. ``reason`` keeps the upstream text alone for callers that need it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Exactly the regex of mcollective-choria's node sources (playbooks.md §1.7).
HOSTNAME_RE = re.compile(
    r"^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9])$"
)


class NodeSetError(ValueError):
    """A node set could not be validated or resolved; the message names the set and what failed."""

    def __init__(
        self, message: str, node_set: str | None = None, reason: str | None = None, problems: list[str] | None = None
    ):
        super().__init__(message)
        self.node_set = node_set
        self.reason = reason if reason is not None else message
        self.problems = list(problems or [])
        # what discovery found before the failure, set by name (a playbook's report keeps it, as 0.6.0's did)
        self.discovered: dict[str, list[str]] = {}

    @classmethod
    def in_set(cls, node_set: str, reason: str) -> NodeSetError:
        """An error of one set whose upstream text does not name it: ``Node set S: reason``."""
        return cls(f"Node set {node_set}: {reason}", node_set, reason)


def check_hostnames(node_set: str, names: list[str]) -> list[str]:
    """Raise ``<name> is not a valid hostname`` for the first name that is not one."""
    for name in names:
        if not HOSTNAME_RE.match(name):
            raise NodeSetError.in_set(node_set, f"{name} is not a valid hostname")
    return names


def yaml_problem(exc: Exception) -> str:
    """A PyYAML error as one line: `` at line L column C: problem``."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{where}: {problem}"


class Options:
    """Typed access to one node set's options with errors that name the set and the option."""

    def __init__(self, node_set: str, spec: Mapping[str, Any]):
        self.node_set = node_set
        self.spec = spec

    def error(self, reason: str) -> NodeSetError:
        return NodeSetError.in_set(self.node_set, reason)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.spec.get(key)
        return default if value is None else value

    def string(self, key: str, default: str | None = None) -> str | None:
        value = self.get(key, default)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
            raise self.error(f"option {key} must be a string, got {type(value).__name__}")
        return None if value is None else str(value)

    def integer(self, key: str, default: int | None = None, minimum: int = 0) -> int | None:
        value = self.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool):
            raise self.error(f"option {key} must be an integer, got {value!r}")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise self.error(f"option {key} must be an integer, got {value!r}") from None
        if number < minimum:
            raise self.error(f"option {key} must be at least {minimum}, got {number}")
        return number

    def number(self, key: str, default: float | None = None) -> float | None:
        value = self.get(key, default)
        if value is None:
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self.error(f"option {key} must be a number, got {value!r}") from None
        if number <= 0:
            raise self.error(f"option {key} must be positive, got {value!r}")
        return number

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.get(key, default)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("yes", "true", "on", "1", "no", "false", "off", "0"):
            return value.lower() in ("yes", "true", "on", "1")
        raise self.error(f"option {key} must be true or false, got {value!r}")

    def strings(self, key: str, default: list[str] | None = None) -> list[str]:
        """A list of strings; a single string is taken as a one-item list (as YAML users write it)."""
        value = self.get(key, default if default is not None else [])
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
        ):
            raise self.error(f"option {key} must be a list of strings")
        return [str(v) for v in value]

    def reject_unknown(self, known: set[str]) -> None:
        unknown = sorted(set(self.spec) - known)
        if unknown:
            kind = self.spec.get("type")
            raise self.error(
                f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} for a {kind} node set "
                f"(valid: {', '.join(sorted(known))})"
            )
