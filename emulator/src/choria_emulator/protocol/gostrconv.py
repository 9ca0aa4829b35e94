"""Go's ``strconv`` parsing as go-choria's fact filters use it (``ParseBool``, ``Atoi``, ``ParseFloat``).

A fact filter value is text; go-choria decides whether it is a boolean, an integer or a float
with these functions, so the same value compares the same way here. The regular expressions
accept exactly the forms Go does, in linear time on a megabyte of digits.
"""

from __future__ import annotations

import re

_TRUTHY = frozenset(("1", "t", "T", "TRUE", "true", "True"))  # strconv.ParseBool true values
_GO_INT = re.compile(r"[+-]?[0-9]+\Z")
# unambiguous forms (one way to split the digits): linear time on a megabyte of digits
_GO_FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)\Z", re.I)
_GO_HEX_FLOAT = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+\Z")
_INT64 = (-(2**63), 2**63 - 1)


def go_truthy(text: str) -> bool:
    """``strconv.ParseBool(text)`` returned true without error."""
    return text in _TRUTHY


def go_atoi(text: str) -> int | None:
    """``strconv.Atoi``: optional sign and ASCII digits only, 64-bit range."""
    if not _GO_INT.match(text):
        return None
    number = int(text)
    return number if _INT64[0] <= number <= _INT64[1] else None


def go_parse_float(text: str) -> float | None:
    """``strconv.ParseFloat(text, 64)`` for the forms it accepts (no spaces, no underscores)."""
    if _GO_FLOAT.match(text):
        return float(text)
    if _GO_HEX_FLOAT.match(text):
        sign = -1.0 if text.startswith("-") else 1.0
        return sign * float.fromhex(text.lstrip("+-"))
    return None
