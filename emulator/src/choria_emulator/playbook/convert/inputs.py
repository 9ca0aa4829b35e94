"""Inputs as Ansible variables (§1.4): ``-e name=value`` (or an AWX survey) supplies them, the play
resolves each into ``choria_inputs.<name>`` and ``assert`` tasks check ``required`` and ``validation``.

Kept from Choria 0.6.0: ``required`` defaults to true and a ``default`` does not satisfy it; a
supplied ``false`` counts as missing; validation applies to supplied values, not defaults; a
``dynamic: true`` input ignores a supplied value; a data-bound input reads its store every time
it is used (the variable's value is a lookup, and Ansible evaluates variables when used).
"""

from __future__ import annotations

from typing import Any

from ..errors import PlaybookError
from ..inputs import cli_type
from ..stores import parse_path
from ..validators import SHELL_UNSAFE, TYPECHECKS, _Regex, normalise
from ..yamlload import Symbol, plain
from .jinja import IDENTIFIER, ConvertError, literal

IPV4 = r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$"
IPV6 = r"^(([0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(([0-9A-Fa-f]{1,4}:){0,7}[0-9A-Fa-f]{1,4})?::(([0-9A-Fa-f]{1,4}:){0,7}[0-9A-Fa-f]{1,4})?)$"
KINDS = {"Array": "list", "Boolean": "bool"}
SURVEY_TYPES = {
    "String": "text",
    "Integer": "integer",
    "Float": "float",
    "Numeric": "float",
    "Array": "textarea",
    "Boolean": "multiplechoice",
}


def user_var(name: str) -> str:
    """How the play reads the variable a user sets with ``-e name=...``."""
    if IDENTIFIER.match(name):
        return name
    return f"lookup('ansible.builtin.vars', {literal(name)}, default=none)"


def supplied(name: str) -> str:
    """Jinja test: a value was supplied (Choria: present, not nil, not false)."""
    var = user_var(name)
    defined = f"{var} is defined and " if IDENTIFIER.match(name) else ""
    return f"({defined}{var} is not none and {var} is not sameas false)"


def coerce(expr: str, kind: str) -> str:
    """Extra-vars arrive as strings from ``-e k=v`` and AWX surveys; give them the input's type."""
    if kind == "Integer":
        return f"({expr} | int)"
    if kind == "Float":
        return f"({expr} | float)"
    if kind == "Numeric":
        return f"(({expr} | float) if ({expr} | string) is search('[.eE]') else ({expr} | int))"
    if kind == "Boolean":
        return f"({expr} | bool)"
    if kind == "Array":
        # one per line (AWX textarea) or comma-separated (-e hosts=a,b)
        return f"(({expr}.splitlines() | map('split', ',') | flatten | map('trim') | select | list) if {expr} is string else {expr})"
    return expr


class InputPlan:
    """Everything the play needs for the inputs: vars, assert tasks, save tasks, survey questions."""

    def __init__(self, inputs: dict[str, Any], stores: dict[str, Any]):
        self.inputs = {str(k): dict(v or {}) for k, v in (inputs or {}).items()}
        self.stores = stores or {}
        self.kinds: dict[str, str] = {}
        for name, props in self.inputs.items():
            declared = "String"
            if not props.get("dynamic"):
                try:
                    declared = cli_type(props.get("type"), name)
                except PlaybookError as exc:
                    raise ConvertError(str(exc)) from None
            elif props.get("type") is not None:
                try:
                    declared = cli_type(props.get("type"), name)
                except PlaybookError:
                    declared = "String"
            props["_kind"] = declared
            self.kinds[name] = KINDS.get(declared, "scalar" if "data" not in props else "any")

    # -- values -----------------------------------------------------------------------------
    def store_read(self, name: str, props: dict[str, Any]) -> str:
        path = props["data"]
        try:
            store, key = parse_path(path)
        except PlaybookError as exc:
            raise ConvertError(f"input {name}: {exc}") from None
        kind = (self.stores.get(store) or {}).get("type")
        default = f", default={literal(plain(props['default']))}" if "default" in props else ""
        missing = f"undef({literal(f'Could not resolve {path} for input {name}: RuntimeError: No such key {key}')})"
        if kind == "memory":
            fallback = literal(plain(props["default"])) if "default" in props else missing
            return f"(choria_memory[{literal(store)}][{literal(key)}] if {literal(key)} in choria_memory[{literal(store)}] else {fallback})"
        if kind == "environment":
            env = f"{(self.stores[store] or {}).get('prefix') or ''}{key}"
            fallback = literal(plain(props["default"])) if "default" in props else missing
            from_env = f"lookup('ansible.builtin.env', {literal(env)}, default={fallback})"
            return f"(choria_environment[{literal(env)}] if {literal(env)} in choria_environment else {from_env})"
        validation = f", validation={literal(plain(props['validation']))}" if "validation" in props else ""
        return f"lookup('chorialab.choria.playbook_data', {literal(path)}, stores=choria_data_stores, input={literal(name)}{validation}{default})"

    def value(self, name: str) -> str:
        props = self.inputs[name]
        kind = props["_kind"]
        no_value = f"undef({literal(f'Input {name} has no value, data source or default')})"
        if props.get("dynamic"):
            if "data" not in props:
                return "{{ " + (literal(plain(props["default"])) if "default" in props else no_value) + " }}"
            return "{{ " + self.store_read(name, props) + " }}"
        given = coerce(user_var(name), kind)
        if "data" in props:
            return "{{ " + f"{given} if {supplied(name)} else {self.store_read(name, props)}" + " }}"
        if "default" in props:
            return "{{ " + f"{given} if {supplied(name)} else {literal(plain(props['default']))}" + " }}"
        return "{{ " + f"{given} if {supplied(name)} else {no_value}" + " }}"

    def variables(self) -> dict[str, str]:
        return {name: self.value(name) for name in self.inputs}

    # -- checks -----------------------------------------------------------------------------
    def required(self) -> list[str]:
        return [n for n, p in self.inputs.items() if p.get("required", True) and "data" not in p]

    def tasks(self) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = []
        required = self.required()
        if required:
            missing = " + ".join(f"([{literal(n)}] if not {supplied(n)} else [])" for n in required)
            tasks.append(
                {
                    "name": "Check required inputs",
                    "ansible.builtin.assert": {
                        "that": ["choria_missing_inputs | length == 0"],
                        "fail_msg": "Values were required but not given for inputs: {{ choria_missing_inputs | join(', ') }}",
                        "quiet": True,
                    },
                    "vars": {"choria_missing_inputs": "{{ " + missing + " }}"},
                }
            )
        for name, props in self.inputs.items():
            if "validation" not in props or props.get("dynamic"):
                continue
            that, message = self.validation(name, props["validation"])
            tasks.append(
                {
                    "name": f"Validate input {name}",
                    "ansible.builtin.assert": {
                        "that": [that],
                        "fail_msg": f"Failed to validate value for input {name}: {message}",
                        "quiet": True,
                    },
                    "when": supplied(name),
                }
            )
        return tasks

    def validation(self, name: str, validation: Any) -> tuple[str, str]:
        """``(condition, message)`` over the coerced value ``choria_inputs.<name>``."""
        from .jinja import attr

        value = attr("choria_inputs", name)
        rule = normalise(validation)
        if isinstance(rule, Symbol):
            check = str.__str__(rule)
            if check in TYPECHECKS:
                test = {
                    "integer": "integer",
                    "float": "float",
                    "number": "number",
                    "string": "string",
                    "boolean": "boolean",
                }[check]
                return f"{value} is {test}", f"value should be a {check}"
            if check == "shellsafe":
                chars = literal(list(SHELL_UNSAFE))
                found = f"(({chars} | select('in', {value} | string) | list) + ['']) | first"
                return (
                    f"{value} is string and ({chars} | select('in', {value}) | list | length == 0)",
                    "{{ ('value should not have ' ~ "
                    + found
                    + " ~ ' in it') if "
                    + value
                    + " is string else 'value should be a String' }}",
                )
            if check == "ipv4address":
                return f"({value} | string) is match({literal(IPV4)})", "value should be an ipv4 address"
            if check == "ipv6address":
                return f"({value} | string) is match({literal(IPV6)})", "value should be an ipv6 address"
            raise ConvertError(f"input {name}: Unknown validator: '{check}'.")
        if isinstance(rule, str):
            shown = f"(?-mix:{rule})" if isinstance(rule, _Regex) else rule
            return (
                f"{value} is string and {value} is search({literal(str.__str__(rule))})",
                f"value should match {shown}",
            )
        if isinstance(rule, list):
            return (
                f"{value} in {literal(plain(rule))}",
                f"value should be one of {', '.join(str(v) for v in plain(rule))}",
            )
        raise ConvertError(f"input {name}: unsupported validation {validation!r}")

    def save_tasks(self) -> list[dict[str, Any]]:
        tasks = []
        for name, props in self.inputs.items():
            if not (props.get("save") and "data" in props) or props.get("dynamic"):
                continue
            tasks.append({"_save": name, "path": props["data"], "when": supplied(name)})
        return tasks

    # -- AWX survey -------------------------------------------------------------------------
    def survey(self, title: str, description: str) -> dict[str, Any]:
        spec = []
        for name, props in self.inputs.items():
            if props.get("dynamic"):
                continue
            kind = props["_kind"]
            question: dict[str, Any] = {
                "question_name": name,
                "question_description": str(props.get("description") or ""),
                "required": bool(props.get("required", True)) and "data" not in props,
                "type": SURVEY_TYPES[kind],
                "variable": name,
                "new_question": True,
            }
            validation = normalise(props["validation"]) if "validation" in props else None
            if kind == "Boolean":
                question["choices"] = ["true", "false"]
            elif isinstance(validation, list):
                question["type"] = "multiselect" if kind == "Array" else "multiplechoice"
                question["choices"] = [str(v) for v in plain(validation)]
            if "default" in props and props["default"] is not None:
                default = plain(props["default"])
                question["default"] = (
                    "\n".join(map(str, default))
                    if isinstance(default, list)
                    else (str(default).lower() if isinstance(default, bool) else default)
                )
            if question["type"] in ("text", "textarea"):
                question.update(min=0, max=4096 if question["type"] == "textarea" else 1024)
            spec.append(question)
        return {"name": title, "description": description, "spec": spec}
