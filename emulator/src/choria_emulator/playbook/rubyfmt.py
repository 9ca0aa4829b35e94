"""How Ruby prints values, for templates and messages that interpolate data (§4, §8).

``"#{x}"`` in Ruby gives ``true`` not ``True``, ``""`` for nil, ``1.0`` for a float, and the
inspect form ``{"a"=>1}`` for a Hash; ``Array#join`` flattens nested arrays.
"""

from __future__ import annotations

import json
import math
from typing import Any


def to_s(value: Any) -> str:
    """Ruby ``to_s``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return float_s(value)
    if isinstance(value, (list, tuple, dict)):
        return inspect(value)
    return str.__str__(value) if isinstance(value, str) else str(value)


def float_s(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value) and abs(value) < 1e16:
        return f"{int(value)}.0"
    text = repr(value)
    if "e" in text:
        mantissa, exp = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        sign = "-" if exp.startswith("-") else "+"
        return f"{mantissa}e{sign}{exp.lstrip('+-').zfill(2)}"
    return text


def inspect(value: Any) -> str:
    """Ruby ``inspect``: ``["a", 1]``, ``{"a"=>1}``, ``nil``."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        from .yamlload import Symbol

        if isinstance(value, Symbol):
            return f":{str.__str__(value)}"
        return json.dumps(str.__str__(value), ensure_ascii=False)
    if isinstance(value, float):
        return float_s(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(inspect(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{inspect(k)}=>{inspect(v)}" for k, v in value.items()) + "}"
    return str(value)


def join(values: list[Any], separator: str = ", ") -> str:
    """Ruby ``Array#join``: nested arrays are flattened, elements use ``to_s``."""
    parts: list[str] = []
    for value in values:
        if isinstance(value, (list, tuple)):
            parts.append(join(list(value), separator))
        else:
            parts.append(to_s(value))
    return separator.join(parts)


def to_json(value: Any) -> str:
    """Ruby ``to_json``: compact."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
