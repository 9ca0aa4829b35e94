"""go-choria JSON agent DDLs: load and check them, validate request inputs, type reply outputs.

A DDL (schema ``mcorpc/ddl/v1/agent.json``) describes an agent's metadata and its actions'
inputs and outputs. ``choria-emulator emulate --ddl`` serves every agent it is given:

* :meth:`AgentDDL.load` checks a file the way the schema does (required keys, name and version
  patterns, input and output types) and names the field in every error, so a typo is one line,
  not a silently missing agent;
* :meth:`Action.validate_request` is go-choria's ``ValidateRequestData`` (its rules and texts, from
  ``providers/agent/mcorpc/ddl/agent/action.go`` and ``ddl/common/input_item.go``), used as the
  DDL-driven (external) agents of go-choria use it: a failure is ``Validation failed: <reason>``
  with status 1 (Aborted);
* :meth:`Action.typed_outputs` gives every declared output with its declared type, starting from
  the DDL defaults, so a reply always carries the keys and types a client expects.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from pathlib import Path
from typing import Any, Callable

from ..protocol import goregex

SHORTNAME = re.compile(r"^[a-z0-9_]*$")
VERSION = re.compile(r"^(\d+\.)?(\d+\.)?(\*|\d+)$")
INPUT_TYPES = ("string", "boolean", "integer", "float", "number", "Hash", "Array", "hash", "array", "list")
OUTPUT_TYPES = ("string", "list", "boolean", "integer", "float", "number", "Hash", "Array", "hash", "array")
DISPLAY = ("ok", "failed", "always")
METADATA_REQUIRED = ("name", "description", "author", "license", "version", "url", "timeout")
SHELL_UNSAFE = ("`", "$", ";", "|", "&&", ">", "<")  # go-choria validator/shellsafe, in its order


class DDLError(ValueError):
    """A DDL go-choria would not load; the message names the file and the field."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """A JSON number: Go decodes every one into a float64."""
    return (isinstance(value, (int, float))) and not isinstance(value, bool)


# ---- string validators (go-choria validator/*) -------------------------------------------------


def _shellsafe(value: str) -> str | None:
    for bad in SHELL_UNSAFE:
        if bad in value:
            return f"may not contain '{bad}'"
    return None


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Go's ``net.ParseIP``: dotted IPv4 or IPv6 text, no zone, no prefix."""
    if "%" in value or "/" in value:
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _is_v4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Go's ``To4() != nil``: IPv4, or IPv6 that is an IPv4-mapped address."""
    return isinstance(address, ipaddress.IPv4Address) or address.ipv4_mapped is not None


def _ipv4(value: str) -> str | None:
    address = _parse_ip(value)
    return None if address is not None and _is_v4(address) else f"{value} is not an IPv4 address"


def _ipv6(value: str) -> str | None:
    address = _parse_ip(value)
    return None if address is not None and not _is_v4(address) else f"{value} is not an IPv6 address"


def _ipaddress(value: str) -> str | None:
    return None if _parse_ip(value) is not None else f"{value} is not an IP address"


NAMED_VALIDATORS: dict[str, Callable[[str], str | None]] = {
    "shellsafe": _shellsafe,
    "ipv4address": _ipv4,
    "ipv6address": _ipv6,
    "ipaddress": _ipaddress,
}


def string_validation(validation: str, value: str) -> str | None:
    """go-choria ``validateStringValidation``: a named validator, else a Go regexp.

    Names go-choria does not know (``service_name``, ``puppet_tags``: Ruby validator plugins)
    only log a warning there, so they pass here too.
    """
    named = NAMED_VALIDATORS.get(validation)
    if named is not None:
        return named(value)
    if validation[:1].islower() and validation[:1].isascii():
        return None  # "Unsupported validator" warning in go-choria; the value is accepted
    matcher = goregex.compile_go(validation)
    if matcher is None:
        return f"invalid regex '{validation}'"
    if not matcher(value):
        return f"input does not match '{validation}'"
    return None


# ---- inputs and outputs ------------------------------------------------------------------------


class InputItem:
    """One action input (go-choria ``common.InputItem``)."""

    __slots__ = ("name", "type", "optional", "default", "validation", "maxlength", "enum", "prompt", "description")

    def __init__(self, name: str, spec: dict[str, Any]):
        self.name = name
        self.type = str(spec.get("type", ""))
        self.optional = bool(spec.get("optional", False))
        self.default = spec.get("default")
        self.validation = str(spec.get("validation") or "")
        self.maxlength = int(spec.get("maxlength") or 0)
        self.enum = [str(item) for item in spec.get("list") or []]
        self.prompt = str(spec.get("prompt", ""))
        self.description = str(spec.get("description", ""))

    @property
    def required(self) -> bool:
        return not self.optional

    def validate(self, value: Any) -> str | None:
        """go-choria ``InputItem.ValidateValue``: None, or why the value does not fit."""
        kind = self.type.lower()
        if kind in ("integer", "int"):
            if not (_is_int(value) or (isinstance(value, float) and value.is_integer())):
                return "is not an integer"
        elif kind == "number":
            if not _is_number(value):
                return "is not a number"
        elif kind == "float":
            if not _is_number(value):  # every JSON number is a float64 in Go
                return "is not a float"
        elif kind == "string":
            if not isinstance(value, str):
                return "is not a string"
            if self.maxlength == 0:
                return None  # go-choria skips the validation too when there is no maxlength
            if len(value.encode("utf-8", "surrogatepass")) > self.maxlength:  # Go's len() counts bytes
                return f"is longer than {self.maxlength} characters"
            if self.validation:
                return string_validation(self.validation, value)
        elif kind == "boolean":
            if not isinstance(value, bool):
                return "is not a boolean"
        elif kind == "list":
            if not self.enum:
                return "input type of list without a valid list of items in DDL"
            if not isinstance(value, str):
                return "should be a string"
            if value not in self.enum:
                return f"should be one of {', '.join(self.enum)}"
        elif kind == "hash":
            if not isinstance(value, dict):
                return "is not a hash map"
        elif kind == "array":
            if not isinstance(value, list):
                return "is not an array"
        else:
            return f"unsupported input type '{self.type}'"
        return None


_ZERO: dict[str, Any] = {
    "string": "",
    "list": "",
    "boolean": False,
    "integer": 0,
    "float": 0.0,
    "number": 0,
    "hash": {},
    "array": [],
}


def coerce(kind: str, value: Any) -> tuple[bool, Any]:
    """``value`` as DDL type ``kind``: (True, converted) or (False, the type's zero value).

    Lenient where the meaning is plain (``"12"`` for an integer, ``1``/``"true"`` for a boolean,
    ``3.0`` for an integer); anything else does not fit. An empty ``kind`` (no type declared)
    takes any value as it is.
    """
    kind = kind.lower()
    if not kind:
        return True, value
    zero = _ZERO.get(kind)
    if kind in ("string", "list"):
        if isinstance(value, str):
            return True, value
        if value is None or isinstance(value, (dict, list)):
            return False, zero
        if isinstance(value, bool):
            return True, "true" if value else "false"
        return True, str(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return True, value
        if _is_int(value) and value in (0, 1):
            return True, bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
            return True, value.strip().lower() in ("true", "yes", "1")
        return False, False
    if kind == "integer":
        if _is_int(value):
            return True, value
        if isinstance(value, float) and value.is_integer():
            return True, int(value)
        if isinstance(value, str):
            try:
                return True, int(value.strip())
            except ValueError:
                pass
        return False, 0
    if kind in ("float", "number"):
        number: Any = value
        if isinstance(value, str):
            try:
                number = float(value.strip()) if "." in value or "e" in value.lower() else int(value.strip())
            except ValueError:
                return False, zero
        if not _is_number(number) or (isinstance(number, float) and not math.isfinite(number)):
            return False, zero  # JSON has no NaN or infinity
        return True, float(number) if kind == "float" else number
    if kind == "hash":
        return (True, value) if isinstance(value, dict) else (False, {})
    if kind == "array":
        return (True, value) if isinstance(value, list) else (False, [])
    return True, value


class OutputItem:
    """One action output (go-choria ``common.OutputItem``)."""

    __slots__ = ("name", "type", "default", "description", "display_as")

    def __init__(self, name: str, spec: dict[str, Any]):
        self.name = name
        self.type = str(spec.get("type") or "")
        self.description = str(spec.get("description", ""))
        self.display_as = str(spec.get("display_as", ""))
        _fits, self.default = coerce(self.type, spec.get("default"))  # a default of the wrong type gives the zero value

    def value(self, value: Any) -> Any:
        """``value`` with the declared type (the type's zero value when it does not fit)."""
        return coerce(self.type, value)[1]


class Action:
    __slots__ = ("agent", "name", "description", "display", "inputs", "outputs", "input_names", "aggregate")

    def __init__(self, agent: str, spec: dict[str, Any]):
        self.agent = agent
        self.name = str(spec["action"])
        self.description = str(spec.get("description", ""))
        self.display = str(spec.get("display", ""))
        self.inputs = {name: InputItem(name, item) for name, item in (spec.get("input") or {}).items()}
        self.outputs = {name: OutputItem(name, item) for name, item in (spec.get("output") or {}).items()}
        self.input_names = sorted(self.inputs)
        self.aggregate = list(spec.get("aggregate") or [])

    def validate_request(self, data: dict[str, Any]) -> str | None:
        """go-choria ``Action.ValidateRequestData``: None, or the error text (without "Validation failed: ")."""
        names = self.input_names
        given = {key: value for key, value in data.items() if key != "process_results"}
        for name in names:
            if name not in given:
                if self.inputs[name].required:
                    return f"input '{name}' is required"
                continue
            problem = self.inputs[name].validate(given[name])
            if problem is not None:
                return f"validation failed for input '{name}': {problem}"
        if not names and given:
            return "request contains inputs while none are declared in the DDL"
        for key in given:
            if key not in self.inputs:
                return (
                    f"request contains an input '{key}' that is not declared in the DDL. "
                    f"Valid inputs are: {', '.join(names)}"
                )
        return None

    def with_defaults(self, data: dict[str, Any]) -> dict[str, Any]:
        """The request inputs with the DDL defaults of those not given (go-choria ``SetDefaults``)."""
        inputs = {key: value for key, value in data.items() if key != "process_results"}
        for name, item in self.inputs.items():
            if name not in inputs and item.default is not None:
                inputs[name] = item.default
        return inputs

    def typed_outputs(self, values: dict[str, Any] | None = None) -> dict[str, Any]:
        """Every declared output, in DDL order: ``values[name]`` typed as declared, else the typed default."""
        values = values or {}
        result = {}
        for name, item in self.outputs.items():
            result[name] = item.value(values[name]) if name in values else _copy(item.default)
        return result


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


class AgentDDL:
    """One agent: metadata in go-choria's field order, actions by name."""

    __slots__ = ("metadata", "actions", "source")

    def __init__(self, data: dict[str, Any], source: str = "<ddl>"):
        check(data, source)
        self.source = source
        meta = data["metadata"]
        self.metadata: dict[str, Any] = {key: meta[key] for key in METADATA_REQUIRED}
        for key in ("provider", "service"):
            if key in meta:
                self.metadata[key] = meta[key]
        self.actions: dict[str, Action] = {}
        for spec in data.get("actions") or []:
            self.actions[str(spec["action"])] = Action(self.name, spec)

    @property
    def name(self) -> str:
        return str(self.metadata["name"])

    @property
    def version(self) -> str:
        return str(self.metadata["version"])

    @property
    def timeout(self) -> int:
        return int(self.metadata["timeout"])

    @classmethod
    def load(cls, path: str | Path) -> AgentDDL:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DDLError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise DDLError(f"{path}: not JSON: {exc}") from None
        return cls(data, str(path))


# ---- the schema checks (mcorpc/ddl/v1/agent.json), by hand so every error names its field ------


def _fail(source: str, where: str, message: str) -> DDLError:
    return DDLError(f"{source}: {where}: {message}")


def _check_string(source: str, where: str, value: Any, min_length: int = 0) -> None:
    if not isinstance(value, str):
        raise _fail(source, where, f"must be a string, not {_json_type(value)}")
    if len(value) < min_length:
        raise _fail(source, where, "must not be empty")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _check_shortname(source: str, where: str, value: Any) -> None:
    _check_string(source, where, value, 1)
    if not SHORTNAME.match(value):
        raise _fail(source, where, f"{value!r} may only hold a-z, 0-9 and _")


def check(data: Any, source: str = "<ddl>") -> None:
    """Raise :class:`DDLError` unless ``data`` is a DDL the agent schema accepts."""
    if not isinstance(data, dict):
        raise DDLError(f"{source}: a DDL is a JSON object, not {_json_type(data)}")
    meta = data.get("metadata")
    if not isinstance(meta, dict):
        raise _fail(source, "metadata", "is required and must be an object")
    for key in METADATA_REQUIRED:
        if key not in meta:
            raise _fail(source, f"metadata.{key}", "is required")
    _check_shortname(source, "metadata.name", meta["name"])
    for key in ("description", "author", "license", "url"):
        _check_string(source, f"metadata.{key}", meta[key], 1)
    _check_string(source, "metadata.version", meta["version"])
    if not VERSION.match(meta["version"]):
        raise _fail(source, "metadata.version", f"{meta['version']!r} is not a version like 1.2.3")
    timeout = meta["timeout"]
    if not _is_int(timeout) or timeout < 2:
        raise _fail(source, "metadata.timeout", f"must be an integer of at least 2, not {timeout!r}")
    if "provider" in meta:
        _check_string(source, "metadata.provider", meta["provider"])
    if "service" in meta and not isinstance(meta["service"], bool):
        raise _fail(source, "metadata.service", "must be true or false")
    actions = data.get("actions", [])
    if not isinstance(actions, list):
        raise _fail(source, "actions", "must be an array")
    seen: set[str] = set()
    for index, action in enumerate(actions):
        where = f"actions[{index}]"
        if not isinstance(action, dict):
            raise _fail(source, where, "must be an object")
        for key in ("action", "description", "input", "output"):
            if key not in action:
                raise _fail(source, f"{where}.{key}", "is required")
        _check_shortname(source, f"{where}.action", action["action"])
        where = f"actions[{index}] ({action['action']})"
        if action["action"] in seen:
            raise _fail(source, where, "is declared twice")
        seen.add(action["action"])
        _check_string(source, f"{where}.description", action["description"], 1)
        if "display" in action and action["display"] not in DISPLAY:
            raise _fail(source, f"{where}.display", f"must be one of {', '.join(DISPLAY)}")
        _check_inputs(source, where, action["input"])
        _check_outputs(source, where, action["output"])
        if "aggregate" in action and not isinstance(action["aggregate"], list):
            raise _fail(source, f"{where}.aggregate", "must be an array")


def _check_inputs(source: str, where: str, inputs: Any) -> None:
    if not isinstance(inputs, dict):
        raise _fail(source, f"{where}.input", "must be an object")
    for name, spec in inputs.items():
        at = f"{where}.input.{name}"
        if not SHORTNAME.match(name):
            raise _fail(source, at, "input names may only hold a-z, 0-9 and _")
        if not isinstance(spec, dict):
            raise _fail(source, at, "must be an object")
        for key in ("prompt", "description"):
            if key not in spec:
                raise _fail(source, f"{at}.{key}", "is required")
            _check_string(source, f"{at}.{key}", spec[key], 1)
        if not isinstance(spec.get("optional"), bool):
            raise _fail(source, f"{at}.optional", "is required and must be true or false")
        kind = spec.get("type")
        if kind not in INPUT_TYPES:
            raise _fail(source, f"{at}.type", f"must be one of {', '.join(INPUT_TYPES)}, not {kind!r}")
        if kind == "string":
            for key in ("validation", "maxlength"):
                if key not in spec:
                    raise _fail(source, f"{at}.{key}", "is required for a string input")
            _check_string(source, f"{at}.validation", spec["validation"])
            if not _is_number(spec["maxlength"]):
                raise _fail(source, f"{at}.maxlength", "must be a number")
        if kind == "list":
            items = spec.get("list")
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise _fail(source, f"{at}.list", "is required for a list input and must be an array of strings")


def _check_outputs(source: str, where: str, outputs: Any) -> None:
    if not isinstance(outputs, dict):
        raise _fail(source, f"{where}.output", "must be an object")
    for name, spec in outputs.items():
        at = f"{where}.output.{name}"
        if not SHORTNAME.match(name):
            raise _fail(source, at, "output names may only hold a-z, 0-9 and _")
        if not isinstance(spec, dict):
            raise _fail(source, at, "must be an object")
        for key in ("description", "display_as"):
            if key not in spec:
                raise _fail(source, f"{at}.{key}", "is required")
            _check_string(source, f"{at}.{key}", spec[key])
        if "type" in spec and spec["type"] not in OUTPUT_TYPES:
            raise _fail(source, f"{at}.type", f"must be one of {', '.join(OUTPUT_TYPES)}, not {spec['type']!r}")


# ---- loading --flags ---------------------------------------------------------------------------

RESERVED = ("discovery", "rpcutil", "choria_util")


def load_paths(paths: list[str]) -> list[AgentDDL]:
    """Every DDL in ``paths`` (files, or directories whose ``*.json`` files are DDLs), in a stable order.

    An agent named twice, or one that would replace a built-in agent, is an error.
    """
    found: list[AgentDDL] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
            if not files:
                raise DDLError(f"--ddl {entry}: no *.json DDL files in this directory")
        elif path.is_file():
            files = [path]
        else:
            raise DDLError(f"--ddl {entry}: no such file or directory")
        found.extend(AgentDDL.load(p) for p in files)
    names: dict[str, str] = {}
    for agent in found:
        if agent.name in RESERVED or (agent.name.startswith("emulated") and agent.name[8:].isdigit()):
            raise DDLError(f"{agent.source}: agent {agent.name} is built into the emulator and cannot be replaced")
        if agent.name in names:
            raise DDLError(f"{agent.source}: agent {agent.name} is already loaded from {names[agent.name]}")
        names[agent.name] = agent.source
    return found
