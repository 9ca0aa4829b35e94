"""Reply bytes for many instances at once.

Every instance's reply to one request differs only in its identity (and the second it was
made), so the parts that do not depend on the instance are prepared once per request and
each instance pays for one SHA-256, two base64 passes and a few joins. The output is byte
for byte what :func:`choria_emulator.protocol.messages.encode_reply` produces (tested).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from ..protocol import gojson

_b64 = base64.b64encode
_sha256 = hashlib.sha256
_quote = json.encoder.encode_basestring


def go_string(text: str) -> str:
    """A JSON string literal as Go writes it (UTF-8 kept, HTML characters escaped)."""
    return gojson.dumps(text) if not text.isascii() or "<" in text or ">" in text or "&" in text else _quote(text)


class ReplyTemplate:
    """The instance-independent parts of the replies to one request from one agent."""

    __slots__ = ("_head", "_tail")

    def __init__(self, message: str, requestid: str, agent: str):
        self._head = "".join(
            (
                '{"protocol":"choria:reply:1","message":',
                go_string(message),
                ',"envelope":{"requestid":',
                go_string(requestid),
                ',"senderid":',
            )
        )
        self._tail = ',"agent":' + go_string(agent) + ',"time":'

    def encode(self, identity_json: str, sender_header: str, now: int) -> bytes:
        """Transport bytes; ``sender_header`` is the instance's prepared headers JSON."""
        reply = "".join((self._head, identity_json, self._tail, str(now), "}}"))
        raw = reply.encode()
        secure = "".join(
            (
                '{"protocol":"choria:secure:reply:1","message":',
                go_string(reply),
                ',"hash":"',
                _b64(_sha256(raw).digest()).decode(),
                '"}',
            )
        )
        return b"".join(
            (
                b'{"protocol":"choria:transport:1","data":"',
                _b64(secure.encode()),
                b'","headers":',
                sender_header.encode(),
                b"}",
            )
        )


def sender_headers(identity: str, connected_url: str | None) -> str:
    """The reply transport headers of one instance: ``mc_sender`` and a ``seen-by`` hop."""
    headers: dict[str, Any] = {"mc_sender": identity}
    if connected_url:
        headers["seen-by"] = [[connected_url, identity, connected_url]]
    return gojson.dumps(headers)
