"""``{{{ scope.item }}}`` templates (§4).

Markers are 2 or 3 braces with optional spaces. A string that *is* one template (tested per
line, as Ruby's ``^...$`` does: the 0.6.0 quirk is kept) returns the raw value, so a node list
stays a list; otherwise every template inside it is replaced by its Ruby string form (lists
joined with ``", "``, mappings as compact JSON). Anything unrecognised is left alone.
"""

from __future__ import annotations

import copy
import re
import uuid as _uuid
from datetime import datetime, timezone
from typing import Any, Protocol

from .errors import TemplateError
from .rubyfmt import join, to_json, to_s

_FRONT = r"\{{2,3}\s*"
_BACK = r"\s*\}{2,3}"
_DATA = r"(?P<type>input(?:s*)|metadata|nodes)\.(?P<item>[a-zA-Z0-9_\-]+)"
_DATE = r"(?P<type>date|utc_date)\(\s*[\"']*(?P<item>.+?)[\"']*\s*\)"
_TASK = r"(?P<type>previous_task)\.(?P<item>(?:success|description|msg|message|data|runtime))"
_SINGLE = r"(?P<type>uuid|elapsed_time)(?P<item>)"
FORMS = [re.compile(f"{_FRONT}{body}{_BACK}") for body in (_DATA, _TASK, _DATE, _SINGLE)]
WHOLE = [re.compile(f"^{_FRONT}{body}{_BACK}$", re.MULTILINE) for body in (_DATA, _TASK, _DATE, _SINGLE)]
_UNNAMED = re.compile(r"\(\?P<\w+>")
ANY = re.compile(
    "|".join("(?:" + _FRONT + _UNNAMED.sub("(?:", body) + _BACK + ")" for body in (_DATA, _DATE, _TASK, _SINGLE))
)
# Ruby strftime directives Python lacks.
_RUBY_ONLY = re.compile(r"%(\d*)([LN])")


class Scope(Protocol):
    """What templates can see: the playbook."""

    def input_value(self, name: str) -> Any:
        """The value of input ``name``."""

    def discovered_nodes(self, name: str) -> list[str]:
        """The nodes of node set ``name``."""

    def metadata_item(self, name: str) -> Any:
        """The playbook's metadata item ``name``."""

    def previous_task(self, item: str) -> Any:
        """``item`` of the previous task's result (success, msg, data ...)."""

    def elapsed_time(self) -> float:
        """Seconds since the playbook started."""


def render(data: Any, scope: Scope) -> Any:
    """Template every string value in ``data`` (a deep copy); keys and other scalars are untouched."""
    if isinstance(data, str):
        return render_string(data, scope)
    if isinstance(data, dict):
        return {k: render(v, scope) for k, v in data.items()}
    if isinstance(data, list):
        return [render(v, scope) for v in data]
    return copy.deepcopy(data)


def render_string(text: str, scope: Scope) -> Any:
    for whole in WHOLE:
        found = whole.search(text)
        if found:
            return resolve(found.group("type"), found.group("item"), scope)
    if "{{" not in text:
        return text
    return ANY.sub(lambda part: stringify(render_string(part.group(0), scope)), text)


def stringify(value: Any) -> str:
    """A value as a template inside text prints it: lists joined with ``", "``, mappings as JSON, Ruby ``to_s``."""
    if isinstance(value, list):
        return join(value)
    if isinstance(value, dict):
        return to_json(value)
    return to_s(value)


def resolve(kind: str, item: str, scope: Scope) -> Any:
    if kind in ("input", "inputs"):
        return scope.input_value(item)
    if kind == "nodes":
        return scope.discovered_nodes(item)
    if kind == "metadata":
        return scope.metadata_item(item)
    if kind == "previous_task":
        return scope.previous_task(item)
    if kind == "date":
        return strftime(datetime.now().astimezone(), item)
    if kind == "utc_date":
        return strftime(datetime.now(timezone.utc), item)
    if kind == "elapsed_time":
        return scope.elapsed_time()
    if kind == "uuid":
        return str(_uuid.uuid4())
    raise TemplateError(f"Do not know how to process data of type {kind}")


def strftime(moment: datetime, fmt: str) -> str:
    """Ruby ``strftime``: Python's plus ``%L`` (milliseconds) and ``%N`` (fraction digits)."""

    def ruby_only(match: re.Match[str]) -> str:
        width, directive = match.group(1), match.group(2)
        micro = f"{moment.microsecond:06d}"
        if directive == "L":
            return micro[: int(width or 3)].ljust(int(width or 3), "0")
        return (micro + "000")[: int(width or 9)].ljust(int(width or 9), "0")

    return moment.strftime(_RUBY_ONLY.sub(ruby_only, fmt))


def references(data: Any) -> list[tuple[str, str]]:
    """Every ``(type, item)`` template reference in ``data``, in order (for ``show`` and ``convert``)."""
    found: list[tuple[str, str]] = []
    if isinstance(data, str):
        for match in ANY.finditer(data):
            for form in FORMS:
                inner = form.fullmatch(match.group(0))
                if inner:
                    found.append((inner.group("type"), inner.group("item")))
                    break
    elif isinstance(data, dict):
        for value in data.values():
            found.extend(references(value))
    elif isinstance(data, list):
        for value in data:
            found.extend(references(value))
    return found
