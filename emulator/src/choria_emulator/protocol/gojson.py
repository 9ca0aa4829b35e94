"""JSON the way Go's ``encoding/json`` writes it, so encodings match go-choria byte for byte.

Compact separators, UTF-8 text kept as is, and Go's HTML-safe escapes of ``<``, ``>``, ``&``
plus U+2028/U+2029. Those characters can only occur inside JSON strings, so a plain text
replacement after :func:`json.dumps` is exact.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import ProtocolError

_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps(value: Any) -> str:
    """Serialise ``value`` as compact Go-style JSON text."""
    text = _encoder.encode(value)
    if "<" in text or ">" in text or "&" in text or "\u2028" in text or "\u2029" in text:
        text = text.translate(_GO_ESCAPES)
    return text


def loads_object(raw: str | bytes, what: str, protocol: str | None = None) -> dict[str, Any]:
    """Parse JSON that must be an object (whose ``protocol`` is ``protocol``, when given);
    raise :class:`ProtocolError` naming ``what`` otherwise.

    Whatever arrives from the wire ends here as a ProtocolError, never another exception:
    nesting too deep for the decoder is refused, and lone UTF-16 surrogates written as
    ``\\ud800`` escapes become U+FFFD as Go's decoder makes them (so the text can be
    echoed back in replies and encoded as UTF-8).
    """
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError(f"{what} is nested too deeply") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"{what} is not a JSON object")
    obj: dict[str, Any] = value
    if protocol is not None and obj.get("protocol") != protocol:
        raise ProtocolError(f"unsupported {what} protocol {obj.get('protocol')!r}")
    if _SURROGATE_TEXT.search(raw) if isinstance(raw, str) else _SURROGATE_BYTES.search(raw):
        obj = _replace_surrogates(obj)
    return obj


_SURROGATE_TEXT = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value
