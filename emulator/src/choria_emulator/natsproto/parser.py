"""The NATS server-to-client protocol as a pure function over bytes.

:func:`parse` consumes as many complete operations as ``buf`` holds, calls the matching
handler method for each, and returns how many bytes it consumed; an incomplete operation is
left for the next call. It never blocks, allocates only the slices it hands out and is
unit-tested with byte strings (like nats-py ``nats/protocol/parser.py``). Anything that is
not the protocol (an unknown operation, a malformed ``MSG`` line, a payload not followed by
CRLF, an oversized control line) raises :class:`NatsProtocolError`: the connection is reset.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

MAX_CONTROL_LINE = 4096
MAX_PAYLOAD = 64 * 1024 * 1024  # far above any server's max_payload; a larger size is garbage
_CRLF = b"\r\n"


class NatsProtocolError(Exception):
    """The server sent something that is not the NATS protocol; the connection must be reset."""


class Handler(Protocol):
    def nats_info(self, info: dict[str, Any]) -> None:
        """INFO from the server."""

    def nats_msg(self, subject: bytes, sid: int, reply: bytes | None, headers: bytes | None, payload: bytes) -> None:
        """MSG or HMSG (``headers`` is None for MSG)."""

    def nats_ping(self) -> None:
        """PING from the server."""

    def nats_pong(self) -> None:
        """PONG from the server."""

    def nats_err(self, message: str) -> None:
        """-ERR from the server."""


def _size(text: bytes | bytearray, line: bytes | bytearray) -> int:
    if not text.isdigit():
        raise NatsProtocolError(f"bad size in {bytes(line[:64])!r}")
    size = int(text)
    if size > MAX_PAYLOAD:
        raise NatsProtocolError(f"payload of {size} bytes announced in {bytes(line[:64])!r}")
    return size


def _sid(text: bytes | bytearray, line: bytes | bytearray) -> int:
    if not text.isdigit():
        raise NatsProtocolError(f"bad subscription id in {bytes(line[:64])!r}")
    return int(text)


def parse(buf: bytes | bytearray, handler: Handler) -> int:
    """Dispatch every complete operation in ``buf``; return the number of bytes consumed."""
    pos = 0
    size = len(buf)
    while pos < size:
        end = buf.find(_CRLF, pos)
        if end < 0:
            if size - pos > MAX_CONTROL_LINE:
                raise NatsProtocolError("control line too long")
            return pos
        line = buf[pos:end]
        head = line[:5].upper()
        if head[:4] in (b"MSG ", b"MSG\t"):  # MSG <subject> <sid> [reply-to] <#bytes>
            args = line[4:].split()
            if len(args) not in (3, 4):
                raise NatsProtocolError(f"bad MSG line {bytes(line[:64])!r}")
            sid = _sid(args[1], line)
            length = _size(args[-1], line)
            start = end + 2
            stop = start + length
            if stop + 2 > size:
                return pos
            if buf[stop : stop + 2] != _CRLF:
                raise NatsProtocolError("MSG payload is not followed by CRLF")
            handler.nats_msg(
                bytes(args[0]), sid, bytes(args[2]) if len(args) == 4 else None, None, bytes(buf[start:stop])
            )
            pos = stop + 2
        elif head in (b"HMSG ", b"HMSG\t"):  # HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>
            args = line[5:].split()
            if len(args) not in (4, 5):
                raise NatsProtocolError(f"bad HMSG line {bytes(line[:64])!r}")
            sid = _sid(args[1], line)
            header_size, total = _size(args[-2], line), _size(args[-1], line)
            if header_size > total:
                raise NatsProtocolError(f"HMSG headers larger than the message in {bytes(line[:64])!r}")
            start = end + 2
            stop = start + total
            if stop + 2 > size:
                return pos
            if buf[stop : stop + 2] != _CRLF:
                raise NatsProtocolError("HMSG payload is not followed by CRLF")
            reply = bytes(args[2]) if len(args) == 5 else None
            handler.nats_msg(
                bytes(args[0]),
                sid,
                reply,
                bytes(buf[start : start + header_size]),
                bytes(buf[start + header_size : stop]),
            )
            pos = stop + 2
        else:
            pos = end + 2
            word = bytes(line).split(None, 1)[0].upper() if line.strip() else b""
            if word == b"PING":
                handler.nats_ping()
            elif word == b"PONG":
                handler.nats_pong()
            elif word == b"INFO":
                try:
                    info = json.loads(bytes(line[5:]))
                except (ValueError, RecursionError):
                    raise NatsProtocolError("bad INFO") from None
                if not isinstance(info, dict):
                    raise NatsProtocolError("INFO is not a JSON object")
                handler.nats_info(info)
            elif word == b"+OK":
                pass
            elif word == b"-ERR":
                handler.nats_err(bytes(line[5:]).strip().strip(b"'").decode(errors="replace"))
            else:
                raise NatsProtocolError(f"unknown operation {bytes(line[:32])!r}")
    return pos
