"""Choria ``{{{ scope.item }}}`` templates as Jinja2 expressions over the converted play's variables.

``inputs.x`` -> ``inputs.x`` (the play's input variables), ``nodes.s`` -> ``choria_nodes.s``,
``metadata.k`` -> ``choria_playbook.k``, ``previous_task.*`` -> the ``chorialab.choria.previous_task``
filter over the last registered result (or a literal where there is no previous task),
``uuid``/``date()``/``utc_date()``/``elapsed_time`` -> ``now()`` and filters. A string that is one
template becomes ``"{{ expr }}"`` (Ansible keeps the value's type, as Choria does); templates
inside text print their values as Ruby would (the ``chorialab.choria.choria_text`` filter, or a
plain join for node lists). Literal ``{{``/``{%``/``{#`` are escaped, so every string the
converter writes is valid Jinja or literal text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Union

from ..templates import ANY, FORMS, WHOLE

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
METADATA = ("name", "version", "author", "description", "tags", "on_fail", "loglevel", "run_as")
DYNAMIC = "dynamic"  # previous_task is whichever task ran last: read from the choria_previous_task fact
NO_PREVIOUS = {
    "success": "false",
    "msg": "'No previous task were found'",
    "message": "'No previous task were found'",
    "data": "[]",
    "description": "'No previous task were found'",
    "runtime": "0",
}
# How a value prints inside text: "text" as it is, "nodes" joined, "any" as Ruby prints it.
PREVIOUS_KINDS = {"success": "any", "msg": "text", "message": "text", "data": "any", "description": "text"}

Previous = Union[None, str]  # None: no previous task; a task id; or DYNAMIC


class ConvertError(ValueError):
    """The playbook cannot be converted; the message says why."""


@dataclass
class Scope:
    """What the translation knows: input kinds, node sets, and which task ``previous_task`` means here."""

    input_kinds: dict[str, str] = field(default_factory=dict)  # name -> text|any
    node_sets: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    previous: Previous = None
    descriptions: dict[str, str] = field(default_factory=dict)  # task id -> raw Choria description
    referenced: set[str] = field(default_factory=set)  # task ids previous_task named

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
        return json.dumps(str.__str__(value), ensure_ascii=False)
    return json.dumps(value)


def attr(base: str, key: str) -> str:
    return f"{base}.{key}" if IDENTIFIER.match(key) else f"{base}[{literal(key)}]"


def previous_expression(item: str, scope: Scope) -> tuple[str, str]:
    """``previous_task.<item>`` where the converter knows (or knows it must ask) which task ran last."""
    kind = PREVIOUS_KINDS.get(item, "text")
    if scope.previous is None:
        return NO_PREVIOUS[item], kind
    if scope.previous == DYNAMIC:  # whichever task ran last, if any did
        filtered = f"previous_task({literal(item)}, choria_previous_task)"
        return f"(choria_previous | default(none) | chorialab.choria.{filtered})", kind
    scope.referenced.add(scope.previous)
    if item == "description":  # Choria keeps the raw, untemplated description
        return literal(scope.descriptions[scope.previous]), kind
    meta = attr("choria_tasks", scope.previous)
    return f"(choria_previous | chorialab.choria.previous_task({literal(item)}, {meta}))", kind


def expression(kind: str, item: str, scope: Scope) -> tuple[str, str]:
    """``(jinja expression, how it prints in text)`` for one Choria template reference."""
    if kind in ("input", "inputs"):
        if item not in scope.input_kinds:
            raise ConvertError(f"Template refers to unknown input {item}")
        return attr("inputs", item), scope.input_kinds[item]
    if kind == "nodes":
        if item not in scope.node_sets:
            raise ConvertError(f"Template refers to unknown node set {item}")
        return attr("choria_nodes", item), "nodes"
    if kind == "metadata":
        if item not in METADATA:
            raise ConvertError(f"Template refers to unknown playbook metadata {item}")
        return attr("choria_playbook", item), "any" if item == "tags" else "text"
    if kind == "previous_task":
        return previous_expression(item, scope)
    if kind in ("date", "utc_date"):
        if re.search(r"%\d*[LN]", item):
            scope.note("Ruby's %L/%N (fractions of a second) have no strftime equivalent in Jinja; they are dropped")
            item = re.sub(r"%\d*[LN]", "", item)
        clock = "now(utc=true)" if kind == "utc_date" else "now()"
        return f"{clock}.strftime({literal(item)})", "text"
    if kind == "uuid":
        return "((now().timestamp() ~ (2147483647 | random)) | to_uuid)", "text"
    if kind == "elapsed_time":
        return "(now().timestamp() - (choria_start_time | float))", "text"
    raise ConvertError(f"Do not know how to process data of type {kind}")


def stringify(expr: str, kind: str) -> str:
    """Jinja that prints ``expr`` the way a Choria template inside text does."""
    if kind == "nodes":
        return f"{expr} | join(', ')"
    if kind == "any":
        return f"{expr} | chorialab.choria.choria_text"
    return expr


def escape(text: str) -> str:
    """Plain text with anything Jinja would read as a delimiter made literal."""
    return re.sub(r"(\{\{|\{%|\{#)", lambda m: "{{ '" + m.group(1) + "' }}", text)


def _reference(match_text: str) -> tuple[str, str] | None:
    for form in FORMS:
        found = form.fullmatch(match_text)
        if found:
            return found.group("type"), found.group("item")
    return None


Part = tuple[str, str]  # ("text", literal text) or ("expr", a Jinja expression that prints as text)


def parts(text: str, scope: Scope) -> list[Part]:
    """``text`` as literal pieces and printable expressions (a whole-string template is one expression)."""
    for whole in WHOLE:
        found = whole.search(text)
        if found:
            expr, _kind = expression(found.group("type"), found.group("item"), scope)
            if found.group(0) != text:
                scope.note(
                    "a line of this text is a whole template, so (as in Choria 0.6.0) the text is that value alone"
                )
            return [("value", expr)]
    out: list[Part] = []
    last = 0
    for match in ANY.finditer(text):
        if match.start() > last:
            out.append(("text", text[last : match.start()]))
        reference = _reference(match.group(0))
        if reference is None:
            out.append(("text", match.group(0)))
        else:
            expr, kind = expression(*reference, scope)
            out.append(("expr", stringify(expr, kind)))
        last = match.end()
    if last < len(text):
        out.append(("text", text[last:]))
    return out


def translate_string(text: str, scope: Scope) -> str:
    pieces = parts(text, scope)
    if pieces and pieces[0][0] == "value":
        return "{{ " + pieces[0][1] + " }}"
    return "".join(escape(value) if kind == "text" else "{{ " + value + " }}" for kind, value in pieces)


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


def inner(template: str) -> str:
    """The expression of a ``"{{ expr }}"`` string."""
    return template[3:-3].strip()
