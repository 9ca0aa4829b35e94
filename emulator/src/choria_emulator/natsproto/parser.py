"""The NATS server-to-client protocol as a pure function over bytes.

:func:`parse` consumes as many complete operations as ``buf`` holds, calls the matching
handler method for each, and returns how many bytes it consumed; an incomplete operation is
left for the next call. It never blocks, allocates only the slices it hands out and is
unit-tested with byte strings (like nats-py ``nats/protocol/parser.py``).
"""

from __future__ import annotations

import json
from typing import Protocol

MAX_CONTROL_LINE = 4096
_CRLF = b"\r\n"


class NatsProtocolError(Exception):
    """The server sent something that is not the NATS protocol; the connection must be reset."""


class Handler(Protocol):
    def nats_info(self, info: dict) -> None: ...
    def nats_msg(self, subject: bytes, sid: int, reply: bytes | None, headers: bytes | None, payload: bytes) -> None: ...
    def nats_ping(self) -> None: ...
    def nats_pong(self) -> None: ...
    def nats_err(self, message: str) -> None: ...


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
        first = buf[pos]
        if first in b"Mm":  # MSG <subject> <sid> [reply-to] <#bytes>
            args = buf[pos + 4 : end].split()
            try:
                length = int(args[-1])
                sid = int(args[1])
            except (ValueError, IndexError):
                raise NatsProtocolError(f"bad MSG line {bytes(buf[pos:end])!r}") from None
            start = end + 2
            stop = start + length
            if stop + 2 > size:
                return pos
            reply = bytes(args[2]) if len(args) == 4 else None
            handler.nats_msg(bytes(args[0]), sid, reply, None, bytes(buf[start:stop]))
            pos = stop + 2
        elif first in b"Hh":  # HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>
            args = buf[pos + 5 : end].split()
            try:
                total = int(args[-1])
                hdr = int(args[-2])
                sid = int(args[1])
            except (ValueError, IndexError):
                raise NatsProtocolError(f"bad HMSG line {bytes(buf[pos:end])!r}") from None
            start = end + 2
            stop = start + total
            if stop + 2 > size:
                return pos
            reply = bytes(args[2]) if len(args) == 5 else None
            handler.nats_msg(bytes(args[0]), sid, reply, bytes(buf[start : start + hdr]), bytes(buf[start + hdr : stop]))
            pos = stop + 2
        else:
            line = bytes(buf[pos:end])
            pos = end + 2
            op = line[:4].upper()
            if op == b"PING":
                handler.nats_ping()
            elif op == b"PONG":
                handler.nats_pong()
            elif op == b"INFO":
                try:
                    info = json.loads(line[5:])
                except ValueError:
                    raise NatsProtocolError("bad INFO") from None
                handler.nats_info(info if isinstance(info, dict) else {})
            elif op == b"+OK":
                pass
            elif op == b"-ERR":
                handler.nats_err(line[5:].strip().strip(b"'").decode(errors="replace"))
            else:
                raise NatsProtocolError(f"unknown operation {line[:32]!r}")
    return pos
