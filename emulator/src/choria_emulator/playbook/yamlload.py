"""YAML loading with Ruby's view of ``:symbols`` (playbooks.md §8).

Psych turns an *unquoted* ``:foo`` into a Symbol, while ``":foo"`` stays a String, and the
difference matters: ``type: :string`` is a valid input type, ``type: ":string"`` is not.
PyYAML's implicit resolvers only see plain scalars, so a resolver for ``:name`` marks exactly
the values Ruby would have made symbols.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml


class Symbol(str):
    """A Ruby symbol: compares and serialises as its name (``:message`` -> ``"message"``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f":{str.__str__(self)}"


class PlaybookLoader(yaml.SafeLoader):
    """SafeLoader (YAML 1.1 booleans, merge keys) plus Ruby symbols."""


_SYMBOL = re.compile(r"^:[A-Za-z_][A-Za-z0-9_]*[?!=]?$")
PlaybookLoader.add_implicit_resolver("!ruby/symbol", _SYMBOL, [":"])
PlaybookLoader.add_constructor("!ruby/symbol", lambda loader, node: Symbol(loader.construct_scalar(node)[1:]))
PlaybookLoader.add_constructor("!ruby/sym", lambda loader, node: Symbol(loader.construct_scalar(node)))


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=PlaybookLoader)  # a SafeLoader subclass


def load_yaml_file(path: str | Path) -> Any:
    return load_yaml(Path(path).read_text())


def plain(value: Any) -> Any:
    """A deep copy of built-in types only: symbols and other ``str``/``dict``/``list`` subclasses
    (Ansible's tagged values) become plain ones, so JSON, YAML and RPC encoders accept them."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
