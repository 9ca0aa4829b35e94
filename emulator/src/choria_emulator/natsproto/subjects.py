"""What may be written into a NATS protocol line as a subject.

Anything an emulated node writes after ``PUB``/``SUB`` (reply subjects taken from requests,
identities, collectives, agent names) must be one subject, never more protocol: a ``reply-to``
of ``x 0\\r\\n\\r\\nPUB y 5\\r\\nhello`` would otherwise make every node publish ``y``, and one
with ``UNSUB`` lines silence it. A valid subject here is printable ASCII without spaces, split
by ``.`` into non-empty tokens, without the ``*`` and ``>`` wildcards (nothing we publish to or
subscribe for is a wildcard), and at most :data:`MAX_SUBJECT` bytes (a ``PUB`` line must stay
far below the server's 4 KiB control-line limit, or the broker drops the connection).
"""

from __future__ import annotations

import re

MAX_SUBJECT = 1024  # bytes; go-choria reply subjects are ~60, identities ~255 (a host name)
_TOKEN = rb"[!-)+-\-/-=?-~]+"  # printable ASCII except space, '*' (0x2a), '.' (0x2e) and '>' (0x3e)
_SUBJECT = re.compile(rb"%s(?:\.%s)*\Z" % (_TOKEN, _TOKEN))
_TOKEN_ONLY = re.compile(_TOKEN + rb"\Z")


def valid_subject(subject: bytes | str, max_length: int = MAX_SUBJECT) -> bool:
    """True when ``subject`` is one literal NATS subject we may write into a protocol line."""
    if isinstance(subject, str):
        if not subject.isascii():
            return False
        subject = subject.encode()
    return len(subject) <= max_length and _SUBJECT.match(subject) is not None


def valid_token(token: bytes | str, max_length: int = MAX_SUBJECT) -> bool:
    """True when ``token`` is one subject token (an agent name, a collective)."""
    if isinstance(token, str):
        if not token.isascii():
            return False
        token = token.encode()
    return len(token) <= max_length and _TOKEN_ONLY.match(token) is not None


def subject_error(what: str, value: str, max_length: int = MAX_SUBJECT) -> str | None:
    """Why ``value`` cannot be (part of) a subject, for one-line errors; None when it can."""
    if not value:
        return f"{what} is empty"
    if len(value.encode(errors="replace")) > max_length:
        return f"{what} is {len(value)} characters long; at most {max_length} fit a NATS subject"
    if not valid_subject(value, max_length):
        return (
            f"{what} {value[:60]!r} cannot be part of a NATS subject"
            " (printable ASCII without spaces, '*', '>' or empty '.' parts)"
        )
    return None
