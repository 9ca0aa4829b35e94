# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment:
    """How a task reaches the NATS brokers of a Choria network.

    Every member of the ``chorialab.choria.choria`` action group takes these options with
    these names, so ``module_defaults`` for the group sets them once. The matching argument
    spec is ``plugins/module_utils/connection.py`` ``connection_argument_spec()``. A plugin takes
    ``connection`` (or ``connection.controller``) together with ``connection.files``.
    """

    DOCUMENTATION = r"""
options:
  servers:
    description:
      - NATS servers to connect to, as C(host:port), C(nats://host:port) or C(tls://host:port).
      - A comma-separated string is accepted as well as a list (the original C(--servers h1:4222,h2:4222)).
      - A port-less entry means port 4222.
    type: list
    elements: str
    default: ['127.0.0.1:4222']
  tls:
    description:
      - Connect to NATS with TLS.
    type: bool
    default: false
  tls_verify:
    description:
      - Verify the broker's TLS certificate against O(tls_ca) (or the system CAs).
      - Without it TLS encrypts but does not authenticate the broker, as the original C(--tls) alone did.
    type: bool
    default: false
    aliases: [verify]
"""

    # The controller-side actions (rpc, discover, choria_playbook): what is not given comes from the user's Choria
    # client configuration, resolved as the CLI and the native playbook runner resolve it.
    CONTROLLER = r"""
options:
  servers:
    description:
      - NATS servers to connect to, as C(host:port), C(nats://host:port) or C(tls://host:port).
      - A comma-separated string is accepted as well as a list (the original C(--servers h1:4222,h2:4222)).
      - A port-less entry means port 4222.
      - Without it, C(plugin.choria.middleware_hosts) of the Choria client configuration (O(config_file), else
        E(CHORIA_CONFIG), else C(~/.choriarc), else C(/etc/choria/client.conf)), else C(127.0.0.1:4222).
    type: list
    elements: str
  tls:
    description:
      - Connect to NATS with TLS (a C(tls://) server or a Choria configuration with C(file) or C(puppet) security
        does too).
    type: bool
  tls_verify:
    description:
      - Verify the broker's TLS certificate against O(tls_ca) (or the system CAs).
      - With O(tls=true) and no O(tls_verify), TLS encrypts but does not authenticate the broker, as the original
        C(--tls) alone did; a Choria configuration's own TLS settings verify.
    type: bool
    aliases: [verify]
"""

    # The certificate and credential files, in a fragment of their own so that both connection fragments above
    # use one text: ansible-test's yamllint reads each fragment as one string literal (no concatenation).
    FILES = r"""
options:
  tls_ca:
    description:
      - CA bundle (PEM) used to verify the broker's certificate.
    type: path
  tls_cert:
    description:
      - Client certificate (PEM) presented to the broker.
    type: path
  tls_key:
    description:
      - Private key (PEM) of O(tls_cert).
    type: path
  credentials:
    description:
      - NATS credentials (C(.creds)) file with the user JWT and NKEY seed, as used with NGS or operator-mode brokers.
    type: path
"""
