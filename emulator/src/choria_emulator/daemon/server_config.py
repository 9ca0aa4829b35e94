"""``emulate -c FILE``: what an emulator takes from a Choria server configuration (``server.conf``).

The original emulator built every instance from the config file given with ``-c`` and then set
what makes instances differ (identity, collectives) itself. Here the file supplies defaults and
every ``emulate`` flag overrides it:

=========================================================  =============================================
config key                                                 emulate setting
=========================================================  =============================================
``plugin.choria.middleware_hosts``                         ``--server`` (``plugin.nats.user``/``pass`` added)
``identity``                                               ``--name`` (instances ``IDENTITY-0`` ...)
``collectives``, ``main_collective``                       the collectives, main one first (``--collectives N``
                                                           overrides with ``mcollective, collective1`` ...)
``plugin.security.provider`` ``file``/``puppet`` with a    TLS on and verified (``--tls-ca/-cert/-key``), as a
certificate (``plugin.security.file.*``, or the Puppet     Choria server with that file connects
SSL dir ``plugin.choria.ssldir`` + ``plugin.security.
certname``)
``plugin.nats.credentials``                                ``--credentials``
``plugin.choria.security.certname_whitelist``              ``--allowed-callers`` (for ``--secure``)
``plugin.yaml``                                            ``--facts``
``registration`` + ``registerinterval``                    ``--registration-interval``
=========================================================  =============================================

Other keys are ignored, as Choria ignores keys it does not know. ``-c /dev/null`` (what the
original management agent passed) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..choria_config import ConfigFileError, read_config_file, split_list, tls_files


@dataclass
class ServerSettings:
    servers: list[str] = field(default_factory=list)
    identity: str | None = None
    collectives: list[str] = field(default_factory=list)
    tls: bool = False
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    credentials: str | None = None
    allowed_callers: list[str] = field(default_factory=list)
    facts: str | None = None
    registration_interval: float | None = None


def load(path: str) -> ServerSettings:
    """The settings of a server config file; a bad file or value raises ConfigFileError naming it."""
    data = read_config_file(path)
    settings = ServerSettings()
    user, password = data.get("plugin.nats.user"), data.get("plugin.nats.pass")
    for host in split_list(data.get("plugin.choria.middleware_hosts", "")):
        if user and "@" not in host:
            scheme, sep, rest = host.partition("://")
            auth = f"{user}:{password}@" if password is not None else f"{user}@"
            host = f"{scheme}{sep}{auth}{rest}" if sep else f"{auth}{host}"
        settings.servers.append(host)
    settings.identity = data.get("identity") or None
    collectives = split_list(data.get("collectives", ""))
    main = data.get("main_collective")
    if main:
        collectives = [main] + [name for name in collectives if name != main]
    settings.collectives = collectives
    certname = data.get("plugin.security.certname") or settings.identity or ""
    settings.tls_ca, settings.tls_cert, settings.tls_key = tls_files(data, certname)
    settings.tls = data.get("plugin.security.provider", "") in ("file", "puppet") and bool(settings.tls_cert)
    settings.credentials = data.get("plugin.nats.credentials") or None
    settings.allowed_callers = split_list(data.get("plugin.choria.security.certname_whitelist", ""))
    settings.facts = data.get("plugin.yaml") or None
    if data.get("registration"):
        raw = data.get("registerinterval", "300")
        try:
            settings.registration_interval = float(raw)
        except ValueError:
            raise ConfigFileError(f"{path}: registerinterval must be a number of seconds, got {raw!r}") from None
    return settings
