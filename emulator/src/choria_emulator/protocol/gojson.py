"""JSON the way Go's ``encoding/json`` writes it, so encodings match go-choria byte for byte.

Compact separators, UTF-8 text kept as is, and Go's HTML-safe escapes of ``<``, ``>``, ``&``
plus U+2028/U+2029. Those characters can only occur inside JSON strings, so a plain text
replacement after :func:`json.dumps` is exact.
"""

from __future__ import annotations

import json
from typing import Any

_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps(value: Any) -> str:
    """Serialise ``value`` as compact Go-style JSON text."""
    text = _encoder.encode(value)
    if "<" in text or ">" in text or "&" in text or "\u2028" in text or "\u2029" in text:
        text = text.translate(_GO_ESCAPES)
    return text


def loads_object(raw: str | bytes, what: str) -> dict[str, Any]:
    """Parse JSON that must be an object; raise :class:`ProtocolError` naming ``what`` otherwise."""
    from .errors import ProtocolError

    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"{what} is not a JSON object")
    return value
