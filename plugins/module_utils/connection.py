# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""How anything in the collection reaches NATS: server addresses, TLS files, credentials.

One argument spec for the options documented in the ``chorialab.choria.connection`` doc
fragment, so every member of the ``chorialab.choria.choria`` action group accepts the same
``module_defaults``. Standard library only: this runs on targets and on the controller.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Iterable
from typing import NamedTuple

DEFAULT_NATS_PORT = 4222
_HOST_RE = re.compile(r"^[A-Za-z0-9_.-]+\Z")

CONNECTION_ARGUMENT_SPEC = {
    "servers": {"type": "list", "elements": "str", "default": ["127.0.0.1:4222"]},
    "tls": {"type": "bool", "default": False},
    "tls_verify": {"type": "bool", "default": False, "aliases": ["verify"]},
    "tls_ca": {"type": "path"},
    "tls_cert": {"type": "path"},
    "tls_key": {"type": "path"},
    "credentials": {"type": "path"},
}

CONNECTION_FILE_OPTIONS = ("tls_ca", "tls_cert", "tls_key", "credentials")


class AddressError(ValueError):
    """A NATS server address that cannot be used; the message names the bad value."""


class ServerAddress(NamedTuple):
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s:%d" % (host, self.port)

    @property
    def url(self) -> str:
        return "%s://%s" % (self.scheme, self)


def connection_argument_spec() -> dict[str, dict]:
    """A fresh copy of the shared connection options, to merge into a module's spec."""
    return {name: dict(spec) for name, spec in CONNECTION_ARGUMENT_SPEC.items()}


def parse_server(text: str) -> ServerAddress:
    """``host``, ``host:port``, ``[v6]:port``, ``nats://[user[:pass]@]host:port`` or ``tls://...``.

    The grammar of the choria-emulator package's ``natsproto.connection.parse_server`` (modules cannot
    import the package on targets); ``tests/emulator/test_server_addresses.py`` holds the two equal.
    """
    raw = text.strip()
    if not raw:
        raise AddressError("empty NATS server address")
    scheme, separator, rest = raw.rpartition("://")
    scheme = scheme.lower() if separator else "nats"
    if scheme not in ("nats", "tls"):
        raise AddressError("unsupported scheme in NATS server address %r (use host:port, nats:// or tls://)" % raw)
    if "@" in rest:
        rest = rest.rsplit("@", 1)[1]
    host, port_text, valid = _host_and_port(rest.rstrip("/"))
    if not host or not valid:
        raise AddressError("bad host in NATS server address %r (an IPv6 address goes in brackets)" % raw)
    if port_text == "":
        port = DEFAULT_NATS_PORT
    elif port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536:
        port = int(port_text)
    else:
        raise AddressError("bad port %r in NATS server address %r (1-65535)" % (port_text, raw))
    return ServerAddress(scheme, host, port)


def _host_and_port(rest: str) -> tuple[str, str, bool]:
    """``[v6]:port``, ``host:port`` or ``host`` -> (host, port text, whether the host is valid): a name
    or IPv4 address of letters, digits and ``_.-``, or an IPv6 address in brackets."""
    if rest.startswith("[") and "]" in rest:
        host, dummy, port_text = rest[1:].partition("]")
        if port_text.startswith(":"):
            port_text = port_text[1:]
        try:
            return host, port_text, ipaddress.ip_address(host).version == 6
        except ValueError:
            return host, port_text, False
    if rest.count(":") <= 1:
        host, dummy, port_text = rest.partition(":")
        return host, port_text, _HOST_RE.match(host) is not None
    return rest, "", False


def parse_servers(values: Iterable[str]) -> list[ServerAddress]:
    """Every address in a list whose items may themselves be comma-separated lists."""
    servers = []
    for value in values:
        for item in str(value).split(","):
            if item.strip():
                servers.append(parse_server(item))
    if not servers:
        raise AddressError("no NATS server given")
    return servers


def unreachable(servers: Iterable[ServerAddress], timeout: float = 3.0) -> list[str]:
    """One line per server that cannot be resolved or does not accept a TCP connection.

    A NATS client retries forever, so without this a typo in ``servers`` only shows up as a
    timeout minutes later; a quick TCP connect names the cause at once.
    """
    problems = []
    for server in servers:
        try:
            infos = socket.getaddrinfo(server.host, server.port, 0, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            problems.append("cannot resolve host %r of NATS server %s: %s" % (server.host, server, exc.strerror))
            continue
        error: str | None = None
        for family, kind, proto, _canonname, address in infos:
            sock = socket.socket(family, kind, proto)
            sock.settimeout(timeout)
            try:
                sock.connect(address)
                error = None
                break
            except (socket.timeout, OSError) as exc:
                error = getattr(exc, "strerror", None) or str(exc) or "timed out"
            finally:
                sock.close()
        if error:
            problems.append("cannot connect to NATS server %s: %s" % (server, error))
    return problems


def missing_files(params: dict, names: Iterable[str] = CONNECTION_FILE_OPTIONS) -> list[str]:
    """``option: path`` for every given file option whose file does not exist or cannot be read."""
    problems = []
    for name in names:
        path = params.get(name)
        if path and not os.path.isfile(path):
            problems.append("%s: file not found: %s" % (name, path))
        elif path and not os.access(path, os.R_OK):
            problems.append("%s: file not readable: %s" % (name, path))
    return problems
