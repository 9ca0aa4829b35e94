"""PuppetDB's query API (``/pdb/query/v4``) for PQL node sets and ``discovery_method: choria``.

Where PuppetDB is comes, in order, from a ``puppetdb:`` mapping with Puppet Bolt's option
names, the ``PUPPETDB_*`` environment variables (so AWX credentials can inject them), then
the Choria client config's ``plugin.choria.puppetdb_host``/``_port`` (HTTPS with the client's
certificates, as go-choria does). Plain urllib: one POST per query, no extra dependency.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..client import ClientConfig
from .errors import NodeSetError

OPTION_NAMES = ("server_urls", "cacert", "cert", "key", "token", "connect_timeout", "read_timeout")
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0


class PuppetDBError(NodeSetError):
    """A PuppetDB request failed; the text starts like upstream's ``Failed to make request to PuppetDB``."""


def _env(name: str) -> str | None:
    value = os.environ.get(f"PUPPETDB_{name.upper()}")
    return value if value else None


def _urls(value: Any) -> list[str]:
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        raise PuppetDBError(f"puppetdb server_urls must be a URL or a list of URLs, got {value!r}")
    urls = [u.strip().rstrip("/") for u in items if u and u.strip()]
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise PuppetDBError(f"puppetdb server_urls entry {url!r} must start with http:// or https://")
    return urls


def _seconds(name: str, value: Any, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PuppetDBError(f"puppetdb {name} must be a number of seconds, got {value!r}") from None
    if number <= 0:
        raise PuppetDBError(f"puppetdb {name} must be positive, got {value!r}")
    return number


@dataclass
class PuppetDBConfig:
    server_urls: list[str] = field(default_factory=list)
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None
    token: str | None = None  # an RBAC token, or the path of a file holding one (Bolt's meaning)
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None, client: ClientConfig | None) -> PuppetDBConfig | None:
        """Bolt-style options, else ``PUPPETDB_*`` variables, else the Choria config; None when none says."""
        options = dict(options or {})
        unknown = sorted(set(options) - set(OPTION_NAMES))
        if unknown:
            raise PuppetDBError(f"unknown puppetdb option {', '.join(unknown)} (valid: {', '.join(OPTION_NAMES)})")

        def pick(name: str) -> Any:
            value = options.get(name)
            return value if value not in (None, "", []) else _env(name)

        urls = pick("server_urls")
        config = cls(
            cacert=pick("cacert"),
            cert=pick("cert"),
            key=pick("key"),
            token=pick("token"),
            connect_timeout=_seconds("connect_timeout", pick("connect_timeout"), DEFAULT_CONNECT_TIMEOUT),
            read_timeout=_seconds("read_timeout", pick("read_timeout"), DEFAULT_READ_TIMEOUT),
        )
        if urls:
            config.server_urls = _urls(urls)
        elif client is not None and client.puppetdb_host:
            config.server_urls = [f"https://{client.puppetdb_host}:{client.puppetdb_port}"]
            config.cacert = config.cacert or client.tls_ca
            config.cert = config.cert or client.tls_cert
            config.key = config.key or client.tls_key
        else:
            return None
        if bool(config.cert) != bool(config.key):
            raise PuppetDBError("puppetdb cert and key must be given together")
        return config

    def ssl_context(self) -> ssl.SSLContext:
        try:
            context = ssl.create_default_context(cafile=self.cacert) if self.cacert else ssl.create_default_context()
            if self.cert:
                context.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as exc:
            raise PuppetDBError(
                f"cannot load the PuppetDB TLS files (cacert {self.cacert}, cert {self.cert}, key {self.key}): {exc}"
            ) from None
        return context

    def token_value(self) -> str | None:
        if not self.token:
            return None
        path = Path(self.token).expanduser()
        try:
            return path.read_text().strip() if path.is_file() else self.token
        except OSError as exc:
            raise PuppetDBError(f"cannot read the PuppetDB token file {self.token}: {exc.strerror}") from None


class PuppetDB:
    """Queries PuppetDB, trying each server URL in turn when one cannot be reached."""

    def __init__(self, config: PuppetDBConfig):
        self.config = config

    def query(self, query: str | list[Any]) -> list[Any]:
        """Run a PQL string or an AST query on ``/pdb/query/v4``; PuppetDB's error text on failure."""
        body = json.dumps({"query": query}).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        token = self.config.token_value()
        if token:
            headers["X-Authentication"] = token
        failures = []
        for base in self.config.server_urls:
            try:
                return self._post(base, body, headers)
            except _Unreachable as exc:
                failures.append(f"{base}: {exc}")
        raise PuppetDBError(f"Failed to make request to PuppetDB: could not connect to {'; '.join(failures)}")

    def _post(self, base: str, body: bytes, headers: dict[str, str]) -> list[Any]:
        url = urllib.parse.urlsplit(base)
        if url.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                url.hostname or "", url.port, timeout=self.config.connect_timeout, context=self.config.ssl_context()
            )
        else:
            connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=self.config.connect_timeout)
        try:
            try:
                connection.connect()
            except ssl.SSLError as exc:
                raise PuppetDBError(f"Failed to make request to PuppetDB: TLS error with {base}: {exc}") from None
            except OSError as exc:
                raise _Unreachable(exc.strerror or str(exc) or type(exc).__name__) from None
            assert connection.sock is not None
            connection.sock.settimeout(self.config.read_timeout)
            try:
                connection.request("POST", f"{url.path}/pdb/query/v4", body, headers)
                response = connection.getresponse()
                data = response.read()
            except (TimeoutError, socket.timeout):
                raise PuppetDBError(
                    f"Failed to make request to PuppetDB: no answer from {base} within {self.config.read_timeout:g} s"
                ) from None
            except (OSError, http.client.HTTPException) as exc:
                raise PuppetDBError(f"Failed to make request to PuppetDB: {base}: {exc}") from None
        finally:
            connection.close()
        if response.status != 200:
            text = data.decode(errors="replace").strip()
            raise PuppetDBError(f"Failed to make request to PuppetDB: {response.status}: {response.reason}: {text}")
        try:
            result = json.loads(data)
        except ValueError:
            raise PuppetDBError(
                f"Failed to make request to PuppetDB: {base} did not return JSON: {data[:200]!r}"
            ) from None
        if not isinstance(result, list):
            raise PuppetDBError(f"PuppetDB returned {type(result).__name__}, expected a list of results")
        return result


class _Unreachable(Exception):
    """This server URL could not be connected to; the next one is tried."""


def certnames(rows: list[Any], query: Any) -> list[str]:
    """The certname of every active node in the results (``deactivated`` unset), in order."""
    names = []
    for row in rows:
        if not isinstance(row, dict) or "certname" not in row:
            raise PuppetDBError(
                f"PQL results carry no certname: select it, e.g. nodes[certname] {{ ... }} (query: {query})"
            )
        if not row.get("deactivated"):
            names.append(str(row["certname"]))
    return names
