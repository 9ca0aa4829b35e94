"""Inputs in a converted play (§1.4; docs/playbooks.md "Converting a playbook").

A value is given as the extra variable ``input_<name>`` (``-e``, an AWX survey): a namespace of
its own, so an input called ``environment``, ``name`` or ``hosts`` never meets Ansible's keywords
or magic variables. The play declares the inputs in ``choria_inputs`` (as the Choria playbook
does) and each task reads ``inputs.<name>``, whose value is the ``chorialab.choria.playbook_input``
lookup: the given value, else the data store, else the default, by the engine's own rules (read
again on every use, so a dynamic input follows its store). One ``assert`` checks what was given
as Choria's prepare step does (validation, then ``required``).
"""

from __future__ import annotations

from typing import Any

from ..errors import PlaybookError
from ..inputs import cli_type
from ..validators import normalise
from ..yamlload import Symbol, plain
from .jinja import ConvertError, attr, literal

SURVEY_TYPES = {
    "String": "text",
    "Integer": "integer",
    "Float": "float",
    "Numeric": "float",
    "Array": "textarea",
    "Boolean": "multiplechoice",
}
LOOKUP = "chorialab.choria.playbook_input"


def supplied_var(name: str) -> str:
    return f"input_{name}"


def _symbols(value: Any) -> Any:
    if isinstance(value, Symbol):
        return f":{str.__str__(value)}"
    if isinstance(value, list):
        return [_symbols(v) for v in value]
    if isinstance(value, dict):
        return {plain(k): _symbols(v) for k, v in value.items()}
    return plain(value)


class InputPlan:
    """Everything the play needs for the inputs: declarations, variables, checks, saves, survey."""

    def __init__(self, inputs: dict[str, Any]):
        self.inputs = {str(k): dict(v or {}) for k, v in (inputs or {}).items()}
        self.types: dict[str, str] = {}
        for name, props in self.inputs.items():
            try:
                self.types[name] = cli_type(props.get("type"), name)
            except PlaybookError as exc:
                if not props.get("dynamic"):
                    raise ConvertError(str(exc)) from None
                self.types[name] = "String"  # never a CLI option, so 0.6.0 never checked it

    @property
    def kinds(self) -> dict[str, str]:
        """How each input prints inside text: plain text, or as Ruby prints other values."""
        return {
            name: "text"
            if self.types[name] in ("String", "Integer", "Float", "Numeric") and "data" not in props
            else "any"
            for name, props in self.inputs.items()
        }

    def declarations(self) -> dict[str, Any]:
        """``choria_inputs``: the inputs as declared, with the type spelled as the CLI option's and Ruby
        symbols (``validation: :shellsafe``) as the ``":name"`` strings the engine reads the same way."""
        declared = {}
        for name, props in self.inputs.items():
            entry = {k: _symbols(v) for k, v in props.items() if k != "type"}
            declared[name] = {"type": self.types[name], **entry}
        return declared

    def variables(self) -> dict[str, str]:
        """``inputs``: what tasks read."""
        return {name: "{{ lookup(" + literal(LOOKUP) + ", " + literal(name) + ") }}" for name in self.inputs}

    def required(self) -> list[str]:
        return [n for n, p in self.inputs.items() if p.get("required", True) and "data" not in p]

    def check_task(self) -> dict[str, Any] | None:
        """One ``assert``: Choria's checks of what was given (validation, then ``required``)."""
        if not self.required() and not any("validation" in p for p in self.inputs.values()):
            return None
        return {
            "name": "Check the inputs as Choria does (validation, then required)",
            "ansible.builtin.assert": {
                "that": ["choria_input_problem == ''"],
                "fail_msg": "{{ choria_input_problem }}",
                "quiet": True,
            },
            "vars": {"choria_input_problem": "{{ lookup(" + literal(LOOKUP) + ", check=true) }}"},
        }

    def saves(self) -> list[tuple[str, str, str]]:
        """``(input, data path, condition)`` for every input to write to its store when given (``save``)."""
        out = []
        for name, props in self.inputs.items():
            if props.get("save") and "data" in props and not props.get("dynamic"):
                save = "lookup(" + literal(LOOKUP) + ", " + literal(name) + ", save=true)"
                out.append((name, str(props["data"]), save))
        return out

    def reference(self, name: str) -> str:
        return attr("inputs", name)

    # -- AWX survey -------------------------------------------------------------------------
    def survey(self, title: str, description: str) -> dict[str, Any]:
        spec = []
        for name, props in self.inputs.items():
            if props.get("dynamic"):
                continue
            kind = self.types[name]
            question: dict[str, Any] = {
                "question_name": name,
                "question_description": str(props.get("description") or ""),
                "required": bool(props.get("required", True)) and "data" not in props,
                "type": SURVEY_TYPES[kind],
                "variable": supplied_var(name),
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
