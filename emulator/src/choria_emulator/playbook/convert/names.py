"""Task and block names for converted plays: from the Choria descriptions, readable and lint-clean.

ansible-lint's production profile wants names that start with an uppercase letter and templates
only at the end (``name[casing]``, ``name[template]``). A templated description keeps its
literal beginning and turns the rest into one expression (``Deploy {{ inputs.x ~ ' now' }}``); a
task without a description is named after what it does (``Run ...``, ``Write store/key``)
instead of Choria's default ``shell task``. The Choria description itself stays what
``previous_task.description`` reads.
"""

from __future__ import annotations

from typing import Any

from ..templates import ANY
from .jinja import Scope, literal, parts

LONGEST = 100  # synthesized names are cut here


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:] if text[:1].isalpha() and text[:1].islower() else text


def name_from(text: str, scope: Scope) -> str:
    """A Choria (maybe templated) text as a name: literal prefix, then at most one template, last."""
    pieces = parts(text, scope)
    prefix: list[str] = []
    while pieces and pieces[0][0] == "text":
        prefix.append(pieces.pop(0)[1])
    head = capitalized("".join(prefix).replace("{{", "{ {").replace("{%", "{ %").replace("{#", "{ #"))
    if not pieces:
        return head
    terms = [
        literal(value)
        if kind == "text"
        else (f"({value} | chorialab.choria.choria_text)" if kind == "value" else f"({value})")
        for kind, value in pieces
    ]
    return capitalized(f"{head}{{{{ {' ~ '.join(terms)} }}}}")


def _short(text: Any) -> str:
    """``text`` on one line, cut at :data:`LONGEST` characters, never inside a template."""
    text = " ".join(str(text).split())
    if len(text) <= LONGEST:
        return text
    cut = LONGEST - 3
    for match in ANY.finditer(text):
        if match.start() < cut < match.end():
            cut = match.start()
    return text[:cut].rstrip() + "..."


def default_description(kind: str, props: dict[str, Any]) -> str:
    """What a task without a description does, for its name (Choria says ``<type> task``)."""
    if kind == "shell" and props.get("command"):
        return f"Run {_short(props['command'])}"
    if kind in ("mcollective", "mcollective_assert") and props.get("action"):
        agent, _dot, action = str(props["action"]).partition(".")
        return f"{'Call' if kind == 'mcollective' else 'Check'} {agent}#{action}"
    if kind == "data" and props.get("key"):
        return f"{'Write' if props.get('action') == 'write' else 'Delete'} {props['key']}"
    if kind == "webhook" and props.get("uri"):
        return f"Send a {str(props.get('method') or 'POST').upper()} request to {_short(props['uri'])}"
    if kind == "slack" and props.get("channel"):
        return f"Message Slack channel {props['channel']}"
    if kind == "graphite_event" and props.get("what"):
        return f"Send the Graphite event {_short(props['what'])}"
    if kind == "playbook" and props.get("playbook"):
        return f"Run the playbook {props['playbook']}"
    return f"{kind} task"


def task_name(kind: str, props: dict[str, Any], scope: Scope, suffix: str = "") -> str:
    """The Ansible name of a converted Choria task (``suffix`` for the blocks wrapping it)."""
    description = props.get("description")
    text = str(description) if description is not None else default_description(kind, props)
    return name_from(text + suffix, scope) or capitalized(f"{kind} task{suffix}")
