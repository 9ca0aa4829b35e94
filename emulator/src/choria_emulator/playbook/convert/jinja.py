"""Choria ``{{{ scope.item }}}`` templates as Jinja2 expressions over the converted play's variables.

``inputs.x`` -> ``choria_inputs.x``, ``nodes.s`` -> ``choria_nodes['s']``, ``metadata.k`` ->
``choria_playbook.k``, ``previous_task.*`` -> the result every converted task registers as
``choria_previous``, ``uuid``/``date()``/``utc_date()``/``elapsed_time`` -> ``now()`` and filters.
A string that is one template becomes ``"{{ expr }}"`` (Ansible keeps the value's type, as
Choria does); templates inside text are stringified as Ruby would (lists joined with ``", "``,
mappings as compact JSON, booleans lowercase). Literal ``{{``/``{%``/``{#`` are escaped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..templates import ANY, FORMS, WHOLE

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# previous_task.msg/runtime of a command result read like the shell task's (chorialab.choria.rpc returns them as they are).
PREVIOUS_MSG = (
    "(('Command completed successfully' if choria_previous.rc == 0 else 'Command failed with code ' ~ choria_previous.rc) "
    "if (choria_previous.rc is defined and choria_previous.description is not defined) else (choria_previous.msg | default('')))"
)
PREVIOUS_RUNTIME = (
    "(choria_previous.runtime if choria_previous.runtime is defined else ((((choria_previous.delta.split(':')[0] | int) * 3600 "
    "+ (choria_previous.delta.split(':')[1] | int) * 60 + (choria_previous.delta.split(':')[2] | float)) | round(2)) "
    "if choria_previous.delta is defined else (choria_previous.elapsed | default(0))))"
)


class ConvertError(ValueError):
    """The playbook cannot be converted; the message says why."""


@dataclass
class Scope:
    """What the translation knows about the playbook: input kinds and node set names."""

    input_kinds: dict[str, str] = field(default_factory=dict)  # name -> list|bool|scalar|any
    node_sets: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def literal(value: Any) -> str:
    """A Jinja literal for a YAML value (``none``/``true``/``false``, JSON otherwise)."""
    if value is None:
        return "none"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(str.__str__(value))
    return json.dumps(value)


def attr(base: str, key: str) -> str:
    return f"{base}.{key}" if IDENTIFIER.match(key) else f"{base}[{literal(key)}]"


def expression(kind: str, item: str, scope: Scope) -> tuple[str, str]:
    """``(jinja expression, value kind)`` for one Choria template reference."""
    if kind in ("input", "inputs"):
        if item not in scope.input_kinds:
            raise ConvertError(f"Template refers to unknown input {item}")
        return attr("choria_inputs", item), scope.input_kinds[item]
    if kind == "nodes":
        if item not in scope.node_sets:
            raise ConvertError(f"Template refers to unknown node set {item}")
        return f"choria_nodes[{literal(item)}]", "list"
    if kind == "metadata":
        if item not in ("name", "version", "author", "description", "tags", "on_fail", "loglevel", "run_as"):
            raise ConvertError(f"Template refers to unknown playbook metadata {item}")
        return attr("choria_playbook", item), "list" if item == "tags" else "scalar"
    if kind == "previous_task":
        scope.note(
            "previous_task maps to choria_previous, the result the last converted task registered: exact for "
            "chorialab.choria.rpc (msg, data, description, runtime), approximate for command and uri results"
        )
        missing = "'No previous task were found'"
        return {
            "success": ("(choria_previous is defined and not (choria_previous.failed | default(false)))", "bool"),
            "msg": (f"({PREVIOUS_MSG} if choria_previous is defined else {missing})", "scalar"),
            "message": (f"({PREVIOUS_MSG} if choria_previous is defined else {missing})", "scalar"),
            "data": (
                "((choria_previous.data | default(choria_previous.stdout_lines | default([]))) if choria_previous is defined else [])",
                "any",
            ),
            "description": (
                f"((choria_previous.description | default(ansible_failed_task.name | default(''))) if choria_previous is defined else {missing})",
                "scalar",
            ),
            "runtime": (f"({PREVIOUS_RUNTIME} if choria_previous is defined else 0)", "scalar"),
        }[item]
    if kind in ("date", "utc_date"):
        if re.search(r"%\d*[LN]", item):
            scope.note("Ruby's %L/%N (fractions of a second) have no strftime equivalent in Jinja; they are dropped")
            item = re.sub(r"%\d*[LN]", "", item)
        clock = "now(utc=true)" if kind == "utc_date" else "now()"
        return f"{clock}.strftime({literal(item)})", "scalar"
    if kind == "uuid":
        return "((now().timestamp() ~ (2147483647 | random)) | to_uuid)", "scalar"
    if kind == "elapsed_time":
        return "(now().timestamp() - (choria_start_time | float))", "scalar"
    raise ConvertError(f"Do not know how to process data of type {kind}")


def stringify(expr: str, kind: str) -> str:
    """Jinja that prints ``expr`` the way a Choria template inside text does."""
    if kind == "list":
        return f"{expr} | join(', ')"
    if kind == "bool":
        return f"{expr} | string | lower"
    if kind == "mapping":
        return f"{expr} | to_json(separators=(',', ':'))"
    if kind == "any":
        value = f"({expr})"
        return (
            f"({value} | join(', ')) if ({value} is sequence and {value} is not string and {value} is not mapping) "
            f"else (({value} | to_json(separators=(',', ':'))) if {value} is mapping "
            f"else ('' if {value} is none else ({value} | string | lower if {value} is boolean else {value})))"
        )
    return expr


def _escape(text: str) -> str:
    """Plain text with anything Jinja would read as a delimiter made literal."""
    return re.sub(r"(\{\{|\{%|\{#)", lambda m: "{{ '" + m.group(1) + "' }}", text)


def _reference(match_text: str) -> tuple[str, str] | None:
    for form in FORMS:
        found = form.fullmatch(match_text)
        if found:
            return found.group("type"), found.group("item")
    return None


def translate_string(text: str, scope: Scope) -> str:
    for whole in WHOLE:
        found = whole.search(text)
        if found:
            expr, _kind = expression(found.group("type"), found.group("item"), scope)
            if found.group(0) != text:
                scope.note(
                    "a line of this text is a whole template, so (as in Choria 0.6.0) the text is that value alone"
                )
            return "{{ " + expr + " }}"
    out, last = [], 0
    for match in ANY.finditer(text):
        out.append(_escape(text[last : match.start()]))
        reference = _reference(match.group(0))
        if reference is None:
            out.append(_escape(match.group(0)))
        else:
            expr, kind = expression(*reference, scope)
            out.append("{{ " + stringify(expr, kind) + " }}")
        last = match.end()
    out.append(_escape(text[last:]))
    return "".join(out)


def translate(value: Any, scope: Scope) -> Any:
    """Every string value of ``value`` translated; keys and other scalars as they are."""
    if isinstance(value, str):
        return translate_string(value, scope)
    if isinstance(value, dict):
        return {str(k): translate(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [translate(v, scope) for v in value]
    return value


def is_template(value: Any) -> bool:
    return isinstance(value, str) and bool(ANY.search(value))
