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
countries hold three fact dicts, not 50,000.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_KEYS = {"facts", "vary", "classes", "vary_classes"}


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
        except (OSError, yaml.YAMLError) as exc:
            raise FactsError(f"cannot read facts template {path}: {exc}") from None
        return cls.from_data(data or {}, str(path))

    @classmethod
    def from_data(cls, data: Any, source: str = "facts") -> FactsTemplate:
        if not isinstance(data, dict):
            raise FactsError(f"{source}: the facts template must be a mapping")
        if not TEMPLATE_KEYS.intersection(data):
            data = {"facts": data}
        unknown = set(data) - TEMPLATE_KEYS
        if unknown:
            raise FactsError(f"{source}: unknown keys {', '.join(sorted(unknown))} (use {', '.join(sorted(TEMPLATE_KEYS))})")
        facts, vary = data.get("facts") or {}, data.get("vary") or {}
        classes, vary_classes = data.get("classes") or [], data.get("vary_classes") or []
        if not isinstance(facts, dict):
            raise FactsError(f"{source}: facts must be a mapping")
        if not isinstance(vary, dict) or not all(isinstance(v, list) and v for v in vary.values()):
            raise FactsError(f"{source}: vary must map fact paths to non-empty lists")
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise FactsError(f"{source}: classes must be a list of strings")
        if not isinstance(vary_classes, list) or not all(isinstance(v, list) for v in vary_classes):
            raise FactsError(f"{source}: vary_classes must be a list of lists")
        return cls(facts, vary, classes, vary_classes)

    def facts_for(self, index: int, identity: str, name: str) -> dict[str, Any]:
        facts = _render(self.facts, {"index": index, "identity": identity, "name": name})
        for path, choices in self.vary.items():
            _set_path(facts, path, choices[index % len(choices)])
        key = json.dumps(facts, sort_keys=True, default=str)
        return self._facts_cache.setdefault(key, facts)

    def classes_for(self, index: int) -> tuple[str, ...]:
        extra = self.vary_classes[index % len(self.vary_classes)] if self.vary_classes else []
        classes = tuple(c.lower() for c in [*self.classes, *extra])
        return self._class_cache.setdefault(classes, classes)


def _render(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, str) and "{" in value:
        try:
            return value.format(**variables)
        except (KeyError, IndexError, ValueError):
            return value
    if isinstance(value, dict):
        return {k: _render(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, variables) for v in value]
    return copy.copy(value)


def _set_path(facts: dict[str, Any], path: str, value: Any) -> None:
    node = facts
    parts = path.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value
