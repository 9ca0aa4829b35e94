"""One NATS client connection as an ``asyncio.Protocol``: handshake, I/O, nothing else.

The owner (an emulated instance) supplies its ``SUB`` lines and receives messages through
:class:`Owner`; reconnecting is the owner's job, so an idle connection costs no task, no
queue and no timer. Handshake: INFO → optional TLS upgrade → ``CONNECT`` + ``SUB``s + ``PING``
in one write → ``PONG`` means every subscription is registered on the server.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import ssl
from typing import Any, Protocol, TypeVar, cast

from .. import __version__
from ..compat import slotted_dataclass, timeout
from .auth import Credentials
from .parser import NatsProtocolError, parse
from .subjects import valid_subject

DEFAULT_PORT = 4222
_HOST = re.compile(r"[A-Za-z0-9_.-]+")
_AUTH_ERRORS = ("authorization violation", "authentication")
# The last subject object publish() found valid: a worker's instances reply to the same bytes object one
# after the other, so each distinct subject is checked once, not once per instance (held, so never reused).
_last_valid_subject: bytes | None = None
rejected_subjects = 0  # publishes refused because the subject was not one NATS subject (a bug upstream of us)


C = TypeVar("C", bound="NatsConnection")  # connect() returns the subclass it is called on


class PermanentConnectError(ConnectionError):
    """Retrying cannot help: wrong credentials, TLS mismatch or an untrusted certificate."""


def _handshake_error(message: str) -> ConnectionError:
    """``-ERR`` during the handshake; authentication failures are permanent."""
    if any(marker in message.lower() for marker in _AUTH_ERRORS):
        return PermanentConnectError(message)
    return ConnectionError(message)


class Owner(Protocol):
    @property
    def name(self) -> str:
        """The connection name sent in CONNECT (read-only: an attribute or a property)."""

    def subscription_lines(self) -> bytes:
        """The SUB lines to send after every (re)connect."""

    def on_message(self, sid: int, reply: bytes | None, payload: bytes) -> None:
        """A MSG for subscription ``sid``."""

    def on_disconnect(self, conn: NatsConnection, exc: Exception | None) -> None:
        """The connection was lost; ``exc`` says why when known."""

    def on_server_error(self, message: str) -> None:
        """The server sent ``-ERR message``."""


@slotted_dataclass(frozen=True)
class ServerAddress:
    host: str
    port: int
    tls: bool = False
    user: str | None = None
    password: str | None = None

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'nats'}://{self}"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_server(text: str) -> ServerAddress:
    """``host``, ``host:port``, ``[v6]:port``, ``nats://[user[:pass]@]host:port`` or ``tls://...``.

    The grammar of ``plugins/module_utils/connection.py`` (which runs on targets without this
    package); ``tests/emulator/test_server_addresses.py`` holds the two equal on a table of cases.
    """
    text = text.strip()
    if not text:
        raise ValueError("empty NATS server address")
    scheme, separator, rest = text.rpartition("://")
    scheme = scheme.lower() if separator else "nats"
    if scheme not in ("nats", "tls"):
        raise ValueError(f"unsupported NATS server scheme in {text!r} (use nats:// or tls://)")
    user: str | None = None
    password: str | None = None
    if "@" in rest:
        userinfo, rest = rest.rsplit("@", 1)
        name, colon, secret = userinfo.partition(":")
        user, password = name, (secret if colon else None)
    host, port_text, valid = _host_and_port(rest.rstrip("/"))
    if not host:
        raise ValueError(f"no host in NATS server address {text!r}")
    if not valid:
        raise ValueError(f"invalid host in NATS server address {text!r} (an IPv6 address goes in brackets)")
    if port_text == "":
        port = DEFAULT_PORT
    elif port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536:
        port = int(port_text)
    else:
        raise ValueError(f"invalid port in NATS server address {text!r}")
    return ServerAddress(host, port, scheme == "tls", user, password)


def _host_and_port(rest: str) -> tuple[str, str, bool]:
    """``[v6]:port``, ``host:port`` or ``host`` -> (host, port text, whether the host is valid): a name
    or IPv4 address of letters, digits and ``_.-``, or an IPv6 address in brackets."""
    if rest.startswith("[") and "]" in rest:
        host, _bracket, port_text = rest[1:].partition("]")
        if port_text.startswith(":"):
            port_text = port_text[1:]
        try:
            return host, port_text, ipaddress.ip_address(host).version == 6
        except ValueError:
            return host, port_text, False
    if rest.count(":") <= 1:
        host, _colon, port_text = rest.partition(":")
        return host, port_text, _HOST.fullmatch(host) is not None
    return rest, "", False


@slotted_dataclass
class ConnectOptions:
    """What every connection of a process shares."""

    tls: ssl.SSLContext | None = None
    credentials: Credentials | None = None
    user: str | None = None
    password: str | None = None
    token: str | None = None
    connect_timeout: float = 10.0
    headers: bool = True

    def connect_line(self, name: str, server: ServerAddress, info: dict[str, Any]) -> bytes:
        options: dict[str, Any] = {
            "verbose": False,
            "pedantic": False,
            "tls_required": self.tls is not None,
            "name": name,
            "lang": "python-choria-emulator",
            "version": __version__,
            "protocol": 1,
            "headers": self.headers,
            "no_responders": False,
        }
        if server.user and server.password is None:
            options["auth_token"] = server.user  # nats://token@host, as the NATS clients read it
        elif server.user or self.user:
            options["user"] = server.user or self.user
            options["pass"] = server.password or self.password or ""
        elif self.token:
            options["auth_token"] = self.token
        if self.credentials is not None:
            options["jwt"] = self.credentials.jwt
            if info.get("nonce"):
                options["sig"] = self.credentials.sign(info["nonce"])
        return b"CONNECT " + json.dumps(options, separators=(",", ":")).encode() + b"\r\n"


def _max_payload(info: dict[str, Any], default: int) -> int:
    value = info.get("max_payload", default)
    return value if isinstance(value, int) and value > 0 else default


class NatsConnection(asyncio.Protocol):
    __slots__ = ("owner", "server", "transport", "_pending", "_info", "_pong", "_closing", "max_payload")

    def __init__(self, owner: Owner, server: ServerAddress):
        self.owner = owner
        self.server = server
        self.transport: asyncio.Transport | None = None
        self._pending: bytearray | None = None
        self._info: asyncio.Future[dict[str, Any]] | None = None
        self._pong: asyncio.Future[None] | None = None
        self._closing = False
        self.max_payload = 1024 * 1024

    # ---- handshake -------------------------------------------------------------------------
    @classmethod
    async def connect(cls: type[C], owner: Owner, server: ServerAddress, options: ConnectOptions) -> C:
        loop = asyncio.get_running_loop()
        conn = cls(owner, server)
        conn._info = loop.create_future()
        conn._pong = loop.create_future()
        try:
            async with timeout(options.connect_timeout):
                transport, _protocol = await loop.create_connection(lambda: conn, server.host, server.port)
                info = await conn._info
                conn.max_payload = _max_payload(info, conn.max_payload)
                context = options.tls
                if context is None and (server.tls or info.get("tls_required")):
                    raise PermanentConnectError("the server requires TLS (use --tls)")
                if context is not None:
                    if not (info.get("tls_required") or info.get("tls_available")):
                        raise PermanentConnectError("the server does not offer TLS (drop --tls)")
                    try:
                        secured = await loop.start_tls(transport, conn, context, server_hostname=server.host)
                    except ssl.SSLCertVerificationError as exc:
                        raise PermanentConnectError(
                            f"TLS certificate verification failed: {exc.verify_message or exc}"
                        ) from None
                    if secured is None:  # typeshed allows None; asyncio returns the transport or raises
                        raise ConnectionError("the TLS handshake gave no transport")
                    transport = conn.transport = secured
                transport.write(
                    options.connect_line(owner.name, server, info) + owner.subscription_lines() + b"PING\r\n"
                )
                await conn._pong
        except BaseException:
            conn.close()
            raise
        finally:
            for future in (conn._info, conn._pong):
                if future is not None and future.done() and not future.cancelled():
                    future.exception()  # mark retrieved: a failed handshake is reported once
            conn._info = conn._pong = None
        return conn

    # ---- asyncio.Protocol --------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # create_connection() and start_tls() hand a stream protocol a Transport (uvloop's too)
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        pending = self._pending
        try:
            if pending is None:
                used = parse(data, self)
                if used < len(data):
                    self._pending = bytearray(data[used:])
            else:
                pending += data
                used = parse(pending, self)
                if used == len(pending):
                    self._pending = None
                elif used:
                    del pending[:used]
        except NatsProtocolError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._pending = None
        if self._fail_handshake(exc or ConnectionError("connection closed by server")):
            return
        if not self._closing:
            self.owner.on_disconnect(self, exc)

    # ---- parser.Handler --------------------------------------------------------------------
    def nats_info(self, info: dict[str, Any]) -> None:
        if self._info is not None and not self._info.done():
            self._info.set_result(info)

    def nats_msg(self, subject: bytes, sid: int, reply: bytes | None, headers: bytes | None, payload: bytes) -> None:
        self.owner.on_message(sid, reply, payload)

    def nats_ping(self) -> None:
        if self.transport is not None:
            self.transport.write(b"PONG\r\n")

    def nats_pong(self) -> None:
        if self._pong is not None and not self._pong.done():
            self._pong.set_result(None)

    def nats_err(self, message: str) -> None:
        if not self._fail_handshake(_handshake_error(message)):
            self.owner.on_server_error(message)

    # ---- I/O -------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.transport is not None and not self._closing

    def publish(self, subject: str | bytes, payload: bytes) -> bool:
        """Queue a PUB; False when the connection is down, the payload is over max_payload or
        ``subject`` is not one NATS subject (it would write protocol of its own: see subjects.py)."""
        global _last_valid_subject, rejected_subjects
        transport = self.transport
        if transport is None or len(payload) > self.max_payload:
            return False
        if isinstance(subject, str):
            subject = subject.encode()
        if subject is not _last_valid_subject:  # the instances of a worker reply to one subject object in turn
            if not valid_subject(subject):
                rejected_subjects += 1
                return False
            _last_valid_subject = subject
        transport.write(b"PUB %s %d\r\n%s\r\n" % (subject, len(payload), payload))
        return True

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def close(self) -> None:
        self._closing = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self._closing = True
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, exc: Exception) -> None:
        """The server broke the protocol: reset the connection and tell the owner (or the handshake) why."""
        transport = self.transport
        if transport is None or self._closing:
            return
        self._closing = True  # connection_lost must not report it again without the reason
        transport.abort()
        if not self._fail_handshake(exc):
            self.owner.on_disconnect(self, exc)

    def _fail_handshake(self, exc: BaseException) -> bool:
        failed = False
        for future in (self._info, self._pong):
            if future is not None and not future.done():
                future.set_exception(exc)
                failed = True
        return failed
