"""Inputs of a converted play (docs/playbooks.md "Inputs"): given as ``input_<name>``, resolved as Choria does.

A converted play declares its inputs in the play variable ``choria_inputs`` (as in the Choria
playbook) and reads each through the ``chorialab.choria.playbook_input`` lookup, which lands here:
the value given as the extra variable ``input_<name>`` (``-e``, an AWX survey; strings get the
input's type), else the input's data store, else its default, with the engine's own rules
(:class:`~choria_emulator.playbook.inputs.Inputs`). A namespace of their own keeps an input called
``environment``, ``name`` or ``hosts`` from meeting Ansible's keywords and magic variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..playbook.errors import DataStoreError, PlaybookError
from ..playbook.inputs import Inputs, cli_type
from ..playbook.stores import DataStores
from ..playbook.stores.base import DataStore, StoreContext
from ..playbook.yamlload import plain
from .data import open_stores

SUPPLIED_PREFIX = "input_"
_TRUE = ("1", "true", "yes", "on", "y", "t")


def supplied_name(name: str) -> str:
    """The extra variable that gives input ``name`` a value."""
    return f"{SUPPLIED_PREFIX}{name}"


def coerce(value: Any, kind: str) -> Any:
    """Extra variables from ``-e k=v`` and AWX surveys are strings; give them the input's type."""
    if not isinstance(value, str):
        return value
    try:
        if kind == "Integer":
            return int(value)
        if kind == "Float":
            return float(value)
        if kind == "Numeric":
            return float(value) if any(c in value for c in ".eE") else int(value)
    except ValueError:
        return value  # left as given: validation (or the task using it) says what is wrong
    if kind == "Boolean":
        return value.strip().lower() in _TRUE
    if kind == "Array":  # one per line (AWX textarea) or comma separated (-e hosts=a,b)
        return [part.strip() for line in value.splitlines() for part in line.split(",") if part.strip()]
    return value


class FactMemoryStore(DataStore):
    """A ``memory`` store whose items live in the play's ``choria_memory`` fact."""

    type_name = "Memory"

    def __init__(self, name: str, context: StoreContext, items: dict[str, Any]):
        super().__init__(name, context)
        self.items = items

    def read(self, key: str) -> Any:
        if key not in self.items:
            raise DataStoreError(f"No such key {key}")
        return self.items[key]


class FactEnvironmentStore(DataStore):
    """An ``environment`` store: the play's ``choria_environment`` fact over the controller's environment."""

    type_name = "Environment"

    def __init__(self, name: str, context: StoreContext, written: dict[str, Any]):
        super().__init__(name, context)
        self.written = written

    def read(self, key: str) -> Any:
        name = f"{self.properties.get('prefix') or ''}{key}"
        if name in self.written:
            return self.written[name]
        if name not in os.environ:
            raise DataStoreError(f"No such environment variable {name}")
        return os.environ[name]


@dataclass
class PlayInputs:
    """What a converted play knows about its inputs, read from its variables."""

    declarations: dict[str, Any]
    supplied: dict[str, Any] = field(default_factory=dict)
    stores: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    connection: dict[str, Any] = field(default_factory=dict)  # choria_servers / choria_config_file, for nats_kv

    def kind(self, name: str) -> str:
        try:
            return cli_type((self.declarations.get(name) or {}).get("type"), name)
        except PlaybookError:
            return "String"

    def values(self) -> dict[str, Any]:
        """The supplied values with the inputs' types."""
        return {name: coerce(value, self.kind(name)) for name, value in plain(self.supplied).items()}

    def engine(self, stores: DataStores | None = None) -> Inputs:
        return Inputs(stores).from_hash(plain(self.declarations))


def check_inputs(play: PlayInputs) -> str:
    """``""`` when the supplied values pass Choria's checks (validation, then ``required``), else the message."""
    try:
        play.engine().prepare(play.values())
    except PlaybookError as exc:
        return str(exc)
    return ""


def to_save(play: PlayInputs, name: str) -> bool:
    """Whether input ``name`` is written to its store (``save``): a value was given and Ruby finds it true."""
    if name not in (play.declarations or {}):
        raise PlaybookError(f"Unknown input {name}")
    props = (play.declarations or {}).get(name) or {}
    saving = bool(props.get("save") and props.get("data") and not props.get("dynamic"))
    value = play.values().get(name)
    return saving and value is not None and value is not False


def static_values(play: PlayInputs) -> dict[str, Any]:
    """The run's static input values (given values and defaults), what a nested ``playbook`` task passes on."""
    inputs = play.engine()
    inputs.supply(play.values(), validate=False)
    return inputs.static_values()


def resolve_input(play: PlayInputs, name: str) -> Any:
    """Input ``name``: its supplied value, else its store, else its default (§1.4), or :class:`PlaybookError`."""
    declared = (play.declarations or {}).get(name)
    if declared is None:
        raise PlaybookError(f"Unknown input {name}")
    props = declared or {}
    needs_store = "data" in props and not (play.supplied.get(name) is not None and not props.get("dynamic"))
    if not needs_store:
        inputs = play.engine()
        inputs.supply(play.values(), validate=False)
        return inputs[name]
    servers = (play.connection or {}).get("servers")
    settings = {
        "servers": [servers] if isinstance(servers, str) else servers,
        "config_file": (play.connection or {}).get("config_file"),
    }
    stores, services = open_stores({"stores": play.stores, **settings})
    try:
        for store, spec in (play.stores or {}).items():
            kind = (spec or {}).get("type")
            if kind == "memory":
                stores.use(store, FactMemoryStore(store, stores.context, dict((play.memory or {}).get(store) or {})))
            elif kind == "environment":
                stores.use(store, FactEnvironmentStore(store, stores.context, dict(play.environment or {})))
        stores.prepare()
        inputs = play.engine(stores)
        inputs.supply(play.values(), validate=False)
        return inputs[name]
    finally:
        stores.close()
        services.close()
