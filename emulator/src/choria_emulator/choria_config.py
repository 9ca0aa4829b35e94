"""Choria configuration files (go-choria's ``key = value`` format), shared by the client and ``emulate -c``.

Only reading and the keys both sides agree on live here; ``client/config.py`` turns a file into
client settings, ``daemon/server_config.py`` into an emulator's. Light on imports: ``emulate``
loads this before its workers fork.
"""

from __future__ import annotations

import os
from pathlib import Path


class ConfigFileError(ValueError):
    """A config file cannot be read or a line is not ``key = value``; the message names file and line."""


def read_config_file(path: str | Path) -> dict[str, str]:
    data: dict[str, str] = {}
    try:
        lines = Path(path).expanduser().read_text().splitlines()
    except OSError as exc:
        raise ConfigFileError(f"cannot read Choria config {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ConfigFileError(f"{path}:{number}: expected 'key = value', got {line!r}")
        key, value = line.split("=", 1)
        data[key.strip()] = value.strip()
    return data


def split_list(value: str) -> list[str]:
    """A go-choria ``comma_split`` value."""
    return [item.strip() for item in value.split(",") if item.strip()]


def puppet_ssldir() -> str:
    """Puppet's SSL dir: the system one for root, ``~/.puppetlabs`` for everyone else (as Choria)."""
    return "/etc/puppetlabs/puppet/ssl" if os.geteuid() == 0 else "~/.puppetlabs/etc/puppet/ssl"


def tls_files(data: dict[str, str], certname: str) -> tuple[str | None, str | None, str | None]:
    """``(ca, certificate, key)`` of the security provider: ``puppet`` paths in the SSL dir, ``file`` keys win."""
    ca = cert = key = None
    if data.get("plugin.security.provider", "") == "puppet":
        ssldir = Path(data.get("plugin.choria.ssldir", puppet_ssldir())).expanduser()
        ca = str(ssldir / "certs" / "ca.pem")
        cert = str(ssldir / "certs" / f"{certname}.pem")
        key = str(ssldir / "private_keys" / f"{certname}.pem")
    return (
        data.get("plugin.security.file.ca", ca),
        data.get("plugin.security.file.certificate", cert),
        data.get("plugin.security.file.key", key),
    )
