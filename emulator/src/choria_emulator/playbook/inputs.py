"""Playbook inputs (§1.4): static values from the CLI or a file, dynamic values from data stores.

The 0.6.0 rules are kept, quirks included (documented in docs/playbooks.md): ``required``
defaults to true and a ``default`` does not satisfy it; a supplied ``false`` counts as missing;
validation never applies to defaults; a ``dynamic: true`` input ignores supplied values; a
data-bound input re-reads its store on every reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import validators
from .errors import PlaybookError, ValidatorError, describe
from .rubyfmt import to_s
from .yamlload import Symbol

if TYPE_CHECKING:
    from .logger import PlaybookLogger
    from .stores import DataStores

_MISSING = object()

# (accepted YAML values) -> the CLI type upstream builds the option with.
_TYPES: list[tuple[tuple[Any, ...], str]] = [
    ((Symbol("string"), "String"), "String"),
    ((Symbol("fixnum"), "Fixnum", "Integer"), "Integer"),
    ((Symbol("float"), "Float"), "Float"),
    ((Symbol("numeric"), "Numeric"), "Numeric"),
    ((Symbol("array"), ":array", "Array"), "Array"),
    ((Symbol("bool"), ":bool", ":boolean", "Boolean"), "Boolean"),
]


def cli_type(declared: Any, name: str) -> str:
    """``String|Integer|Float|Numeric|Array|Boolean`` for a declared ``type``, as upstream maps it."""
    for accepted, kind in _TYPES:
        for candidate in accepted:
            if declared == candidate and isinstance(declared, Symbol) == isinstance(candidate, Symbol):
                return kind
    # Ruby's "%s": nothing for a missing type, a symbol's name without its colon
    raise PlaybookError(f"Invalid input type {to_s(declared)} given for input {name}")


@dataclass
class Input:
    name: str
    properties: dict[str, Any]
    dynamic: bool
    value: Any = _MISSING

    @property
    def has_value(self) -> bool:
        return self.value is not _MISSING

    @property
    def forced_dynamic(self) -> bool:
        return bool(self.properties.get("dynamic"))

    @property
    def data_path(self) -> str | None:
        return self.properties.get("data")


@dataclass
class CLIOption:
    """One ``--name VALUE`` option generated from an input (§1.4 "CLI exposure")."""

    input: str
    flag: str
    kind: str
    help: str
    metavar: str


@dataclass
class Inputs:
    stores: DataStores | None = None
    log: PlaybookLogger | None = None
    inputs: dict[str, Input] = field(default_factory=dict)

    def from_hash(self, data: dict[str, Any]) -> Inputs:
        for name, props in (data or {}).items():
            props = dict(props or {})
            props.setdefault("required", True)
            self._debug(f"Loading input {name}")
            self.inputs[str(name)] = Input(str(name), props, dynamic="data" in props)
        return self

    # -- what exists --------------------------------------------------------------------
    def keys(self) -> list[str]:
        return list(self.inputs)

    def dynamic_keys(self) -> list[str]:
        return [name for name, item in self.inputs.items() if item.dynamic]

    def static_keys(self) -> list[str]:
        dynamic = set(self.dynamic_keys())
        return [name for name in self.inputs if name not in dynamic]

    def __contains__(self, name: str) -> bool:
        return name in self.inputs

    def properties(self, name: str) -> dict[str, Any]:
        return self._get(name).properties

    def _get(self, name: str) -> Input:
        if name not in self.inputs:
            raise PlaybookError(f"Unknown input {name}")
        return self.inputs[name]

    # -- preparing ----------------------------------------------------------------------
    def prepare(self, data: dict[str, Any] | None) -> None:
        """Validate supplied values, make them static, then check ``required`` (§3.2 step 1)."""
        self.supply(data)
        self.validate_requirements()

    def supply(self, data: dict[str, Any] | None, validate: bool = True) -> None:
        """Make supplied values static (``None`` is not a value; ``dynamic: true`` inputs ignore them)."""
        data = data or {}
        for name, item in self.inputs.items():
            if name not in data or data[name] is None or item.forced_dynamic:
                continue
            if validate:
                self.validate_data(name, data[name])
            item.value = data[name]
            item.dynamic = False

    def validate_requirements(self) -> None:
        missing = []
        for name, item in self.inputs.items():
            if not item.properties.get("required") or "data" in item.properties:
                continue
            if not item.has_value or item.value is None or item.value is False:
                self._warn(f"Input {name} requires a value but has none or nil")
                missing.append(name)
        if missing:
            raise PlaybookError(f"Values were required but not given for inputs: {', '.join(missing)}")

    def validate_data(self, name: str, value: Any) -> None:
        props = self.inputs[name].properties
        if "validation" not in props:
            return
        validation = props["validation"]
        self._debug(f"Validating input {name} using {validation} validator")
        try:
            validators.validate(value, validation)
        except ValidatorError as exc:
            self._warn(f"Attempt to validate input {name} with validator {validation} failed: {exc}")
            raise PlaybookError(f"Failed to validate value for input {name}: {exc}") from None

    def save_input_data(self) -> None:
        """Write static values of ``save: true`` inputs to their ``data`` path (§3.2 step 3)."""
        for name, item in self.inputs.items():
            if not (item.properties.get("save") and item.data_path and item.has_value and item.value):
                continue
            if item.dynamic:
                continue
            self._debug(f"Saving value for input {name} to data item {item.data_path}")
            assert self.stores is not None
            self.stores.write(item.data_path, item.value)

    # -- resolving ----------------------------------------------------------------------
    def __getitem__(self, name: str) -> Any:
        """Static value, then the data store, then the default (§1.4 resolution order)."""
        item = self._get(name)
        if item.has_value:
            self._debug(f"Resolving {name} as static")
            return item.value
        if "data" in item.properties:
            self._debug(f"Resolving {name} as dynamic")
            return self.lookup_from_datastore(name)
        if "default" in item.properties:
            self._debug(f"Resolving {name} as default")
            return item.properties["default"]
        raise PlaybookError(f"Input {name} has no value, data source or default")

    def static_values(self) -> dict[str, Any]:
        """Every static input, resolved (defaults included), for the report and nested playbooks.

        An input without value or default is left out: upstream raised here and lost the report
        (the quirk is not kept, it would crash)."""
        values: dict[str, Any] = {}
        for name in self.static_keys():
            try:
                values[name] = self[name]
            except PlaybookError:
                continue
        return values

    def lookup_from_datastore(self, name: str) -> Any:
        props = self._get(name).properties
        try:
            if self.stores is None:
                raise PlaybookError("no data stores are configured")
            value = self.stores.read(props["data"])
            self.validate_data(name, value)
            return value
        except PlaybookError as exc:
            if "default" not in props:
                raise PlaybookError(f"Could not resolve {props['data']} for input {name}: {describe(exc)}") from None
            self._warn(f"Could not find {props['data']}, returning default value")
            return props["default"]

    # -- the CLI ------------------------------------------------------------------------
    def cli_options(self) -> list[CLIOption]:
        """Options for every input except ``dynamic: true`` ones; raises for an invalid ``type``."""
        options = []
        for name, item in self.inputs.items():
            props = item.properties
            if props.get("dynamic"):
                continue
            kind = cli_type(props.get("type"), name)
            default = props.get("default")
            shown_default = f"default: {default}" if default else ""
            shown_kind = {"Array": "array", "Boolean": "boolean"}.get(kind, kind)
            description = f"{props.get('description')} ({shown_kind}) {shown_default}".rstrip()
            options.append(CLIOption(name, f"--{name.lower()}", kind, description, name.upper()))
        return options

    def _debug(self, msg: str) -> None:
        if self.log is not None:
            self.log.debug(msg)

    def _warn(self, msg: str) -> None:
        if self.log is not None:
            self.log.warn(msg)
