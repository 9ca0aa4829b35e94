"""Facts and classes for emulated instances, from a YAML/JSON template with per-instance variation.

The Go emulator had neither, so fact and class filters never matched; ours can. Template::

    facts:                      # static facts; strings may use {index}, {identity}, {name}
      role: web
      os: {family: Debian}
      rack: "r{index}"
    vary:                       # dotted fact path -> list; instance i takes item i % len
      country: [mt, de, uk]
    classes: [base]             # classes of every instance
    vary_classes:               # instance i also gets item i % len
      - [apache]
      - [mysql]

A file without ``facts``/``vary``/``classes``/``vary_classes`` keys is taken as static facts.
Instances whose rendered facts are equal share one dict, so 50,000 instances with three
countries hold three fact dicts, not 50,000. Placeholders other than ``{index}``,
``{identity}`` and ``{name}`` are an error at load time (write ``{{`` for a literal brace).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_KEYS = {"facts", "vary", "classes", "vary_classes"}
PLACEHOLDERS = {"index": 0, "identity": "identity", "name": "name"}


class FactsError(ValueError):
    pass


@dataclass
class FactsTemplate:
    facts: dict[str, Any] = field(default_factory=dict)
    vary: dict[str, list[Any]] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)
    vary_classes: list[list[str]] = field(default_factory=list)
    _facts_cache: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    _class_cache: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: str | Path | None) -> FactsTemplate:
        if not path:
            return cls()
        try:
            data = yaml.safe_load(Path(path).read_text())
        except OSError as exc:
            raise FactsError(f"cannot read facts template {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise FactsError(f"cannot read facts template {path}: {yaml_error(exc)}") from None
        return cls.from_data(data or {}, str(path))

    @classmethod
    def from_data(cls, data: Any, source: str = "facts") -> FactsTemplate:
        if not isinstance(data, dict):
            raise FactsError(f"{source}: the facts template must be a mapping")
        if not TEMPLATE_KEYS.intersection(data):
            data = {"facts": data}
        unknown = set(data) - TEMPLATE_KEYS
        if unknown:
            raise FactsError(
                f"{source}: unknown keys {', '.join(sorted(unknown))} (use {', '.join(sorted(TEMPLATE_KEYS))})"
            )
        facts, vary = data.get("facts") or {}, data.get("vary") or {}
        classes, vary_classes = data.get("classes") or [], data.get("vary_classes") or []
        if not isinstance(facts, dict):
            raise FactsError(f"{source}: facts must be a mapping")
        if not isinstance(vary, dict) or not all(isinstance(v, list) and v for v in vary.values()):
            raise FactsError(f"{source}: vary must map fact paths to non-empty lists")
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise FactsError(f"{source}: classes must be a list of strings")
        if not isinstance(vary_classes, list) or not all(
            isinstance(v, list) and all(isinstance(c, str) for c in v) for v in vary_classes
        ):
            raise FactsError(f"{source}: vary_classes must be a list of lists of strings")
        if any(not path or "" in path.split(".") for path in vary):
            raise FactsError(f"{source}: vary has an empty fact path")
        # YAML may hold dates and other non-JSON values; facts travel as JSON, so convert once here
        facts, vary = json.loads(json.dumps(facts, default=str)), json.loads(json.dumps(vary, default=str))
        _render(facts, PLACEHOLDERS, f"{source}: facts")  # unknown placeholders fail at load, not per instance
        return cls(facts, vary, classes, vary_classes)

    def facts_for(self, index: int, identity: str, name: str) -> dict[str, Any]:
        facts = _render(self.facts, {"index": index, "identity": identity, "name": name}, "facts")
        for path, choices in self.vary.items():
            choice = choices[index % len(choices)]
            _set_path(facts, path, copy.deepcopy(choice) if isinstance(choice, (dict, list)) else choice)
        key = json.dumps(facts, sort_keys=True, default=str)
        return self._facts_cache.setdefault(key, facts)

    def classes_for(self, index: int) -> tuple[str, ...]:
        extra = self.vary_classes[index % len(self.vary_classes)] if self.vary_classes else []
        classes = tuple(c.lower() for c in [*self.classes, *extra])
        return self._class_cache.setdefault(classes, classes)


def yaml_error(exc: yaml.YAMLError) -> str:
    """One line: where and what, without PyYAML's multi-line excerpt."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"line {mark.line + 1} column {mark.column + 1}: {problem}" if mark else problem


def _render(value: Any, variables: dict[str, Any], where: str) -> Any:
    """A copy of ``value`` with ``{index}``, ``{identity}``, ``{name}`` filled into its strings."""
    if isinstance(value, str) and "{" in value:
        try:
            return value.format(**variables)
        except KeyError as exc:
            reason = f"unknown placeholder {{{exc.args[0]}}}"
        except (IndexError, ValueError) as exc:
            reason = str(exc)
        raise FactsError(
            f"{where}: cannot fill {value!r}: {reason} (placeholders: {{index}}, {{identity}}, {{name}}; write "
            f"{{{{ for a brace)"
        )
    if isinstance(value, dict):
        return {k: _render(v, variables, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, variables, f"{where}[{i}]") for i, v in enumerate(value)]
    return value  # JSON scalars are immutable


def _set_path(facts: dict[str, Any], path: str, value: Any) -> None:
    node = facts
    parts = path.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value
