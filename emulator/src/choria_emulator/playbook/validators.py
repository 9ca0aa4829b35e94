"""Input validation as MCollective's ``Validator.validate`` (§1.4).

Forms: ``":name"`` (typecheck ``string/integer/float/number/boolean``, ``shellsafe``,
``ipv4address``, ``ipv6address``), ``"/re/"`` and any other string (a regex), and a list (the
value must be one of the items). Messages are MCollective's.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from .errors import ValidatorError
from .rubyfmt import to_s
from .yamlload import Symbol

TYPECHECKS = ("integer", "boolean", "float", "number", "string")
SHELL_UNSAFE = ("`", "$", ";", "|", "&&", ">", "<")


def normalise(validation: Any) -> Any:
    """What ``Inputs#validate_data`` hands to MCollective: ``":x"`` -> symbol, ``"/re/"`` -> regex."""
    if isinstance(validation, Symbol):
        return validation
    if isinstance(validation, str):
        symbol = re.match(r"^:(.+)", validation)
        if symbol:
            return Symbol(symbol.group(1))
        regex = re.match(r"^/(.+)/$", validation)
        if regex:
            return _Regex(regex.group(1))
    return validation


class _Regex(str):
    """A pattern that came from ``/re/`` (printed without the slashes, as Ruby's Regexp#to_s is not)."""


def validate(value: Any, validation: Any) -> None:
    """Raise :class:`ValidatorError` with MCollective's message when ``value`` fails ``validation``."""
    validation = normalise(validation)
    if isinstance(validation, Symbol):
        name = str.__str__(validation)
        if name in TYPECHECKS:
            return typecheck(value, name)
        checker = _NAMED.get(name)
        if checker is None:
            raise ValidatorError(f"Unknown validator: '{name}'.")
        return checker(value)
    if isinstance(validation, str):
        return regex(value, validation)
    if isinstance(validation, list):
        if value not in validation:
            raise ValidatorError(f"value should be one of {', '.join(to_s(v) for v in validation)}")
        return None
    return None


def typecheck(value: Any, kind: str) -> None:
    ok = {
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, float),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
    }[kind]
    if not ok:
        raise ValidatorError(f"value should be a {kind}")


def regex(value: Any, pattern: str) -> None:
    shown = f"(?-mix:{pattern})" if isinstance(pattern, _Regex) else pattern
    if not isinstance(value, str):
        raise ValidatorError(f"value should match {shown}")
    try:
        matched = re.search(pattern, value)
    except re.error as exc:
        raise ValidatorError(f"invalid regular expression {pattern}: {exc}") from None
    if not matched:
        raise ValidatorError(f"value should match {shown}")


def shellsafe(value: Any) -> None:
    if not isinstance(value, str):
        raise ValidatorError("value should be a String")
    for char in SHELL_UNSAFE:
        if char in value:
            raise ValidatorError(f"value should not have {char} in it")


def ipv4address(value: Any) -> None:
    try:
        ipaddress.IPv4Address(str(value))
    except ValueError:
        raise ValidatorError("value should be an ipv4 address") from None


def ipv6address(value: Any) -> None:
    try:
        ipaddress.IPv6Address(str(value))
    except ValueError:
        raise ValidatorError("value should be an ipv6 address") from None


_NAMED = {"shellsafe": shellsafe, "ipv4address": ipv4address, "ipv6address": ipv6address}
