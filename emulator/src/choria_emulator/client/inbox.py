"""The client's reply inbox: a lean NATS connection that only receives replies, at broker speed.

nats-py spends about 8 µs on every message it delivers (a parser in Python, a ``Msg`` object, a
queue and a task per subscription); a broadcast to 1,000,000 nodes is a million of them. The inbox
reads the replies on a connection of its own, opened next to the client's nats-py connection on the
same server (so a subscription registered here is known to that server before the request is
published there): :mod:`choria_emulator.natsproto` does the handshake (TLS, user/password, token,
``.creds``), and ``MSG`` frames of the active subscriptions take a fast path that hands the payload
bytes and their arrival time straight to the subscription's handler (about 0.5 µs a frame, against
1.6 µs through the general parser, which still takes everything else). docs/benchmarks/scale.md has
the figures.

Publishing stays on nats-py: requests are few, replies are many.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import struct
import termios
from collections import deque
from typing import Callable

from ..natsproto.connection import ConnectOptions, NatsConnection, ServerAddress
from ..natsproto.parser import NatsProtocolError, parse
from ..natsproto.subjects import valid_subject, valid_token

log = logging.getLogger(__name__)
BACKLOG_EVERY = 32  # socket reads between two looks at how much still waits in the socket
SLOW_HINT = (
    "a broker closes a client that reads slower than the replies arrive once its max_pending bytes "
    "(64 MiB by default) or write_deadline are exceeded (a slow consumer; /connz?state=closed shows the reason): "
    "spread the replies over processes with --collectors N, or raise max_pending/write_deadline in the "
    "nats-server configuration"
)

# handler(buffer, start, stop, arrival): the payload is buffer[start:stop]; the buffer is only valid during the call
Handler = Callable[[bytes, int, int, float], None]


class InboxClosed(ConnectionError):
    """The broker closed the inbox connection (a slow consumer, a restart, an auth change...)."""


class _Subscription:
    __slots__ = ("sid", "subject", "handler", "prefix")

    def __init__(self, sid: int, subject: str, handler: Handler):
        self.sid = sid
        self.subject = subject
        self.handler = handler
        self.prefix = b"MSG %s %d " % (subject.encode(), sid)  # a reply's MSG line up to its size


class _InboxConnection(NatsConnection):
    """A NatsConnection whose ``MSG`` frames for the current subscription skip the general parser."""

    def __init__(self, owner: Inbox, server: ServerAddress):
        super().__init__(owner, server)
        self.inbox = owner
        self.flushes: deque[asyncio.Future[None]] = deque()
        self.reads = 0
        self.fd = -1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        self.fd = sock.fileno() if sock is not None else -1

    def waiting(self) -> int:
        """Bytes the kernel holds for us that we have not read yet (0 where it cannot tell)."""
        if self.fd < 0:
            return 0
        try:
            return struct.unpack("i", fcntl.ioctl(self.fd, termios.FIONREAD, b"\0\0\0\0"))[0]
        except OSError:
            return 0

    def data_received(self, data: bytes) -> None:
        inbox = self.inbox
        sub = inbox.current
        if sub is None or self._info is not None:  # handshake, or nothing to take fast
            super().data_received(data)
            return
        pending = self._pending
        buf = bytes(pending) + data if pending else data
        self._pending = None
        now = inbox.loop.time()
        prefix, handler = sub.prefix, sub.handler
        skip = len(prefix)
        pos, size = 0, len(buf)
        try:
            while pos < size:
                if buf.startswith(prefix, pos):
                    end = buf.find(b"\r\n", pos + skip)
                    if end < 0:
                        break
                    start = end + 2
                    stop = start + int(buf[pos + skip : end])
                    if stop + 2 > size:
                        break
                    handler(buf, start, stop, now)
                    pos = stop + 2
                else:  # anything else (PING, another sid, a reply-to, HMSG...): the general parser, to the end
                    pos += parse(buf[pos:] if pos else buf, self)
                    break
        except (NatsProtocolError, ValueError) as exc:
            self._fail(exc if isinstance(exc, NatsProtocolError) else NatsProtocolError(str(exc)))
            return
        if inbox.after_read is not None:
            inbox.after_read()
        self.reads += 1
        if self.reads % BACKLOG_EVERY == 0:
            waiting = self.waiting()
            if waiting > inbox.backlog:
                inbox.backlog = waiting
        if pos < size:
            if size - pos > 64 * 1024 * 1024 + 4096:
                self._fail(NatsProtocolError("message larger than any max_payload"))
                return
            self._pending = bytearray(buf[pos:])

    def nats_msg(self, subject: bytes, sid: int, reply: bytes | None, headers: bytes | None, payload: bytes) -> None:
        sub = self.inbox.subscriptions.get(sid)
        if sub is not None:
            sub.handler(payload, 0, len(payload), self.inbox.loop.time())

    def nats_pong(self) -> None:
        if self._pong is not None and not self._pong.done():
            self._pong.set_result(None)  # the handshake's
            return
        while self.flushes:
            future = self.flushes.popleft()
            if not future.done():
                future.set_result(None)
                return

    def _fail(self, exc: Exception) -> None:
        self.inbox.failure = f"bad data from the broker: {exc}"
        super()._fail(exc)


class Inbox:
    """One lean connection for the replies of a client's requests (``natsproto.connection.Owner``)."""

    def __init__(self, name: str, server: ServerAddress, options: ConnectOptions):
        self.name = name
        self.server = server
        self.options = options
        self.loop = asyncio.get_running_loop()
        self.conn: _InboxConnection | None = None
        self.subscriptions: dict[int, _Subscription] = {}
        self.current: _Subscription | None = None
        self.next_sid = 1
        self.failure: str | None = None  # why the connection ended, once it has
        self.on_failure: Callable[[str], None] | None = None
        self.after_read: Callable[[], None] | None = None  # called after each chunk read from the socket
        self.backlog = 0  # the most bytes seen waiting in the socket since the last reset: falling behind

    async def connect(self) -> None:
        self.conn = await _InboxConnection.connect(self, self.server, self.options)

    @property
    def connected(self) -> bool:
        return self.conn is not None and self.conn.connected

    async def subscribe(self, subject: str, handler: Handler, queue: str | None = None) -> int:
        """Register ``subject`` (in ``queue`` group, when given) and wait until the server has it.

        Both go into a protocol line: anything but one NATS subject (and one token) is refused.
        """
        if not valid_subject(subject) or (queue is not None and not valid_token(queue)):
            raise ValueError(f"cannot subscribe to {subject!r}: not a NATS subject")
        conn = self._live()
        sid = self.next_sid
        self.next_sid += 1
        sub = _Subscription(sid, subject, handler)
        self.subscriptions[sid] = sub
        self.current = sub
        conn.write(b"SUB %s %s%d\r\n" % (subject.encode(), (queue.encode() + b" ") if queue else b"", sid))
        await self.flush()
        return sid

    def unsubscribe(self, sid: int) -> None:
        sub = self.subscriptions.pop(sid, None)
        if sub is not None and self.current is sub:
            self.current = None
        conn = self.conn
        if conn is not None and conn.connected:
            conn.write(b"UNSUB %d\r\n" % sid)

    async def flush(self, timeout: float = 10.0) -> None:
        """PING and wait for the PONG: everything written before is processed by the server."""
        conn = self._live()
        future = self.loop.create_future()
        conn.flushes.append(future)
        conn.write(b"PING\r\n")
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError:
            raise InboxClosed(f"no answer from {self.server} within {timeout:g} s") from None
        if self.failure:
            raise InboxClosed(self.failure)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def _live(self) -> _InboxConnection:
        if self.conn is None or not self.conn.connected:
            raise InboxClosed(self.failure or "the reply connection is closed")
        return self.conn

    # ---- natsproto.connection.Owner ----------------------------------------------------------------
    def subscription_lines(self) -> bytes:
        return b""

    def on_message(self, sid: int, reply: bytes | None, payload: bytes) -> None:  # pragma: no cover - via nats_msg
        sub = self.subscriptions.get(sid)
        if sub is not None:
            sub.handler(payload, 0, len(payload), self.loop.time())

    def on_disconnect(self, conn: NatsConnection, exc: Exception | None) -> None:
        if self.failure:
            reason = self.failure
        else:
            reason = f"the broker closed the reply connection ({exc or 'no reason given'}); {SLOW_HINT}"
        self._failed(reason)

    def on_server_error(self, message: str) -> None:
        log.warning("broker error on the reply connection: %s", message)
        self._failed(f"the broker said: {message}")

    def _failed(self, reason: str) -> None:
        self.failure = reason
        if self.conn is not None:
            for future in self.conn.flushes:
                if not future.done():
                    future.set_result(None)
        if self.on_failure is not None:
            self.on_failure(reason)
