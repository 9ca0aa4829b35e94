"""The connection settings of a plugin call, resolved once, as the CLI and the native runner do.

The options of the ``chorialab.choria.connection.controller`` doc fragment override single settings;
the rest comes from the Choria client config (``config_file``, else ``$CHORIA_CONFIG``, else
``~/.choriarc``, else ``/etc/choria/client.conf``), else the defaults (``nats://127.0.0.1:4222``).
"""

from __future__ import annotations

from typing import Any

from ..client import ClientConfig

CONNECTION_KEYS = ("servers", "tls", "tls_verify", "tls_ca", "tls_cert", "tls_key", "credentials", "config_file")


def client_config(params: dict[str, Any]) -> ClientConfig:
    """The Choria connection from the connection options (doc fragment ``chorialab.choria.connection``)."""
    servers = params.get("servers") or None
    return ClientConfig.load(
        servers=list(servers) if servers else None,
        config_file=params.get("config_file"),
        search_default_files=True,
        tls=params.get("tls"),
        # with tls given here, not verifying is the documented default (the original --tls); a config file's own
        # TLS settings verify
        tls_verify=params.get("tls_verify") if params.get("tls_verify") is not None or not params.get("tls") else False,
        tls_ca=params.get("tls_ca"),
        tls_cert=params.get("tls_cert"),
        tls_key=params.get("tls_key"),
        credentials=params.get("credentials"),
    )
