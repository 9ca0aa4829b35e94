"""Where the broker is and who we are: ``--server`` flags, else a Choria client config, else localhost.

Precedence, as the issue and the Choria tools have it: ``--server`` (repeatable, ``host:port``
or ``nats://``/``tls://`` URLs, comma lists) wins; else ``plugin.choria.middleware_hosts`` of
the config file (``--config FILE``, else ``$CHORIA_CONFIG``, else ``~/.choriarc``, else
``/etc/choria/client.conf``); else ``nats://127.0.0.1:4222``. Other flags override single keys
of the file.

Choria client config files are ``key = value`` lines (go-choria ``config``); unknown keys are
ignored, as Choria does. The keys read: ``plugin.choria.middleware_hosts``, ``collectives``,
``main_collective``, ``identity``, ``discovery_timeout``, ``plugin.security.provider``
(``file``: ``plugin.security.file.{certificate,key,ca}``; ``puppet``: the Puppet SSL dir
``plugin.choria.ssldir`` with ``plugin.security.certname``), ``plugin.security.certname``,
``plugin.nats.{credentials,user,pass}``, ``plugin.choria.puppetdb_host``/``_port``.
"""

from __future__ import annotations

import getpass
import os
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import choria_config
from ..natsproto.connection import parse_server
from ..natsproto.tls import client_context

if TYPE_CHECKING:
    from ..protocol.security import Signer

DEFAULT_SERVER = "nats://127.0.0.1:4222"
DEFAULT_CONFIG_FILES = ("~/.choriarc", "/etc/choria/client.conf")


class ClientConfigError(ValueError):
    """A connection setting is wrong; the message names the setting."""


def read_config_file(path: str | Path) -> dict[str, str]:
    try:
        return choria_config.read_config_file(path)
    except choria_config.ConfigFileError as exc:
        raise ClientConfigError(str(exc)) from None


puppet_ssldir = choria_config.puppet_ssldir
_split = choria_config.split_list


def normalise_servers(servers: list[str]) -> list[str]:
    """Accept ``host:port``, ``nats://host:port`` and comma lists; return ``nats://`` URLs."""
    urls = []
    for entry in servers:
        for item in _split(entry):
            try:
                address = parse_server(item)
            except ValueError as exc:
                raise ClientConfigError(f"bad --server {item!r}: {exc}") from None
            auth = ""
            if address.user:  # nats://user:pass@host, or nats://token@host
                auth = f"{address.user}:{address.password}@" if address.password is not None else f"{address.user}@"
            urls.append(f"{'tls' if address.tls else 'nats'}://{auth}{address.host}:{address.port}")
    return urls


@dataclass
class ClientConfig:
    servers: list[str] = field(default_factory=lambda: [DEFAULT_SERVER])
    collectives: list[str] = field(default_factory=lambda: ["mcollective"])
    main_collective: str = "mcollective"
    identity: str = field(default_factory=socket.gethostname)
    certname: str = field(default_factory=lambda: f"{getpass.getuser()}.mcollective")
    discovery_timeout: float = 2.0
    ttl: int = 60
    tls: bool = False
    tls_verify: bool = True
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    secure: bool = False
    credentials: str | None = None
    user: str | None = None
    password: str | None = None
    puppetdb_host: str | None = None
    puppetdb_port: int = 8081
    collectors: int = 1  # processes reading replies (client/collectors.py); 1 = the client's own inbox only
    source: str = "defaults"

    @property
    def callerid(self) -> str:
        return f"choria={self.certname}"

    def collective(self, name: str | None = None) -> str:
        collective = name or self.main_collective
        return collective

    def signer(self) -> Signer | None:
        """The request signer; None for insecure requests (so the client need not load cryptography)."""
        if not self.secure:
            return None
        if not (self.tls_cert and self.tls_key):
            raise ClientConfigError(
                "signed requests need a certificate and key (--tls-cert/--tls-key or plugin.security.file.*)"
            )
        from ..protocol.security import X509Signer  # cryptography: only for signed requests

        return X509Signer(self.tls_cert, self.tls_key)

    def nats_options(self) -> dict[str, Any]:
        """The nats-py ``connect()`` keywords for where and how to connect: servers, TLS, credentials.

        Callers add their own name, timeouts and reconnect policy.
        """
        options: dict[str, Any] = {"servers": list(self.servers)}
        if self.tls:
            options["tls"] = self.ssl_context()
        if self.credentials:
            options["user_credentials"] = self.credentials
        if self.user:
            options["user"], options["password"] = self.user, self.password
        return options

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for NATS, or None without TLS; bad files raise ClientConfigError naming them."""
        if not self.tls:
            return None
        try:
            return client_context(self.tls_ca, self.tls_cert, self.tls_key, self.tls_verify)
        except ValueError as exc:
            raise ClientConfigError(str(exc)) from None

    @classmethod
    def load(
        cls,
        servers: list[str] | None = None,
        config_file: str | None = None,
        search_default_files: bool = True,
        **overrides: object,
    ) -> ClientConfig:
        """Build the settings: explicit ``servers`` win, then the config file, then defaults."""
        config = cls()
        path = config_file
        if path is None and search_default_files:
            path = os.environ.get("CHORIA_CONFIG") or next(
                (p for p in DEFAULT_CONFIG_FILES if Path(p).expanduser().is_file()), None
            )
        if path:
            config.apply_file(read_config_file(path), str(path))
        if servers:
            config.servers = normalise_servers(servers)
            config.source = "--server" if not path else f"--server and {path}"
        if any(url.startswith("tls://") for url in config.servers):
            config.tls = True  # as nats-py and the emulator read it; an explicit tls=False still wins below
        for key, value in overrides.items():
            if value is not None:
                if not hasattr(config, key):
                    raise ClientConfigError(f"unknown client setting {key}")
                setattr(config, key, value)
        return config

    def apply_file(self, data: dict[str, str], path: str) -> None:
        self.source = path
        if "plugin.choria.middleware_hosts" in data:
            try:
                self.servers = normalise_servers([data["plugin.choria.middleware_hosts"]])
            except ClientConfigError as exc:
                raise ClientConfigError(
                    f"{path}: plugin.choria.middleware_hosts: {str(exc).removeprefix('bad --server ')}"
                ) from None
            if not self.servers:
                raise ClientConfigError(f"{path}: plugin.choria.middleware_hosts is empty")
        if "collectives" in data:
            self.collectives = _split(data["collectives"]) or self.collectives
        self.main_collective = data.get("main_collective", self.collectives[0])
        self.identity = data.get("identity", self.identity)
        self.certname = data.get("plugin.security.certname", self.certname)
        if "discovery_timeout" in data:
            try:
                self.discovery_timeout = float(data["discovery_timeout"])
            except ValueError:
                raise ClientConfigError(f"{path}: discovery_timeout must be a number") from None
        provider = data.get("plugin.security.provider", "")
        ca, cert, key = choria_config.tls_files(data, self.certname)
        self.tls_ca, self.tls_cert, self.tls_key = ca or self.tls_ca, cert or self.tls_cert, key or self.tls_key
        if provider in ("file", "puppet") and self.tls_cert:
            self.tls = True
            self.secure = True
        self.credentials = data.get("plugin.nats.credentials", self.credentials)
        self.user = data.get("plugin.nats.user", self.user)
        self.password = data.get("plugin.nats.pass", self.password)
        self.puppetdb_host = data.get("plugin.choria.puppetdb_host", self.puppetdb_host)
        if "plugin.choria.puppetdb_port" in data:
            try:
                self.puppetdb_port = int(data["plugin.choria.puppetdb_port"])
            except ValueError:
                raise ClientConfigError(f"{path}: plugin.choria.puppetdb_port must be a port number") from None
