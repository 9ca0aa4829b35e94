#!/usr/bin/python
# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: federation
short_description: Run a Choria Federation Broker (choria-emulator federation)
version_added: 0.1.0
description:
  - Starts C(choria-emulator federation) detached on the target and waits until it is connected to the
    federation network and to every collective network; or stops it by PID.
  - The replacement for the original emulator agent's C(start_federation)/C(stop_federation) actions and
    the C(start-federation.yaml)/C(stop-federation.yaml) playbooks.
  - Clients publish to C(choria.federation.<name>.federation) on the federation servers (C(choria-emulator
    ping --federation NAME)); the broker republishes each request to its targets on the collective servers
    and relays every reply back, like go-choria's Federation Broker.
  - A broker already running with the same command line is left alone (C(changed=false)); other options
    restart it. Brokers are identified by O(name), so one host can run several.
  - Runs on the target with the standard library only; C(choria-emulator) comes from O(venv), which the
    C(chorialab.choria.setup_prereqs) role installs.
author:
  - chorialab (@chorialab)
extends_documentation_fragment:
  - chorialab.choria.attributes
  - chorialab.choria.attributes.daemon
  - chorialab.choria.emulator_command
  - chorialab.choria.venv
attributes:
  diff_mode:
    support: full
    details:
      - Shows the broker's command line before and after.
options:
  state:
    description: V(started) makes sure the broker runs with these options, V(stopped) stops it, V(restarted) always
      restarts it.
    type: str
    choices: [started, stopped, restarted]
    default: started
  name:
    description:
      - The federation network name (the original C(name) input); clients address it with C(--federation NAME).
      - Letters, digits, C(_) and C(-) only.
    type: str
    required: true
  federation_servers:
    description:
      - NATS servers of the federation network, as C(host:port), C(nats://host:port) or C(tls://host:port);
        a comma-separated string is accepted as well as a list. They form one server pool.
      - Required to start.
    type: list
    elements: str
  collective_servers:
    description:
      - NATS servers of the collective network(s) behind the broker.
      - Each item is one collective network; a comma-separated item is a server pool of that network, as the
        original C(collective_servers) input (C(localhost:4222) by default). Several items make one broker
        bridge several collective networks (go-choria runs one broker per collective).
    type: list
    elements: str
    default: ['localhost:4222']
  identity:
    description: Broker identity in metrics and C(seen-by) headers (the broker defaults to the host name).
    type: str
  tls:
    description: Connect to both sides with TLS.
    type: bool
    default: false
  tls_verify:
    description: Verify the brokers' TLS certificates against O(tls_ca); without it TLS encrypts but does not
      authenticate.
    type: bool
    default: false
    aliases: [verify]
  tls_ca:
    description: CA bundle (PEM) to verify the NATS servers with.
    type: path
  tls_cert:
    description: Client certificate (PEM).
    type: path
  tls_key:
    description: Private key (PEM) of O(tls_cert).
    type: path
  credentials:
    description: NATS credentials (C(.creds)) file, used on both sides.
    type: path
  monitor_port:
    description: Port of the broker's C(/debug/vars) and C(/metrics) (go-choria metric names). V(0) picks a free port.
    type: int
    default: 0
  monitor_bind:
    description: Address of that endpoint.
    type: str
    default: 127.0.0.1
  pid_file:
    description: PID file. Default C(<state_dir>/federation-<name>.pid).
    type: path
  log_file:
    description: The broker's log. Default C(<state_dir>/federation-<name>.log).
    type: path
  check_servers:
    description: Before starting, open a TCP connection to every server so a typo or a stopped broker fails at once.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait until both sides are connected; the broker is stopped again if they are not.
    type: float
    default: 60
  open_files:
    description:
      - Open-files limit (C(RLIMIT_NOFILE), soft and hard) the process starts with, like C(LimitNOFILE=) of a
        service; V(0) or unset keeps the limits the module runs with. Raising the hard limit needs root
        (C(become)); without it the module warns and the soft limit goes up to the hard one.
    type: int
  stop_timeout:
    description: Seconds to wait for the broker to exit after SIGTERM before it is killed.
    type: float
    default: 30
seealso:
  - module: chorialab.choria.nats_server
  - module: chorialab.choria.emulator
"""

EXAMPLES = r"""
- name: The seed's start-federation.yaml
  chorialab.choria.federation:
    name: production
    federation_servers: fed1.example.net:4222,fed2.example.net:4222
    collective_servers: localhost:4222

- name: One broker in front of two collective networks
  chorialab.choria.federation:
    name: global
    federation_servers: [fed.example.net:4222]
    collective_servers:
      - east1.example.net:4222,east2.example.net:4222
      - west1.example.net:4222

- name: Stop it
  chorialab.choria.federation:
    name: production
    state: stopped
"""

RETURN = r"""
name:
  description: Federation network name.
  returned: always
  type: str
  sample: production
running:
  description: Whether the broker runs when the task ends.
  returned: always
  type: bool
pid:
  description: PID of the broker (null when stopped).
  returned: always
  type: int
connected:
  description: Whether both sides are connected.
  returned: when running
  type: bool
federation_url:
  description: Federation-side server the broker is connected to.
  returned: when running
  type: str
  sample: nats://fed1.example.net:4222
collective_urls:
  description: Collective-side servers it is connected to, one per collective network.
  returned: when running
  type: list
  elements: str
requests:
  description: Request chain counters (C(received), C(published), C(errors)) as go-choria's C(choria_federation_*).
  returned: when running
  type: dict
  sample: {received: 10, published: 20, errors: 0}
replies:
  description: Reply chain counters.
  returned: when running
  type: dict
monitor_url:
  description: Base URL of C(/debug/vars) and C(/metrics).
  returned: when running
  type: str
command:
  description: The broker's command line.
  returned: when started
  type: list
  elements: str
pid_file:
  description: PID file.
  returned: always
  type: str
log_file:
  description: The broker's log.
  returned: always
  type: str
restarted:
  description: Whether a running broker was restarted.
  returned: always
  type: bool
stopped:
  description: How a running broker ended, V(exited) after SIGTERM or V(killed) after O(stop_timeout).
  returned: when a broker was stopped
  type: str
"""

import re
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.chorialab.choria.plugins.module_utils.connection import (
    AddressError,
    ServerAddress,
    connection_argument_spec,
    parse_server,
    parse_servers,
)
from ansible_collections.chorialab.choria.plugins.module_utils.emulator_command import (
    EmulatorCommandModule,
    emulator_command_argument_spec,
)
from ansible_collections.chorialab.choria.plugins.module_utils.federation import (
    command_args,
    debug_vars,
    default_files,
    status,
)

NETWORK_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def argument_spec() -> dict[str, Any]:
    tls_options = connection_argument_spec()
    del tls_options["servers"]  # two sides instead
    return emulator_command_argument_spec(
        monitor_port=0,
        wait_timeout=60,
        name=dict(type="str", required=True),
        federation_servers=dict(type="list", elements="str"),
        collective_servers=dict(type="list", elements="str", default=["localhost:4222"]),
        identity=dict(type="str"),
        **tls_options,
    )


class FederationModule(EmulatorCommandModule):
    """One named ``choria-emulator federation`` process on the target."""

    SUBCOMMAND = "federation"
    POLL_INTERVAL = 0.2

    def __init__(self, module: AnsibleModule):
        super().__init__(module, default_files(module.params), name=module.params["name"])
        if not NETWORK_RE.match(self.params["name"]):
            self.fail(
                "name %r may only contain letters, digits, '_' and '-' (it is part of NATS subjects)"
                % self.params["name"]
            )

    def command(self) -> list[str]:
        params = self.params
        if not params.get("federation_servers"):
            self.fail("federation_servers is required to start a federation broker")
        if not (0 <= params["monitor_port"] < 65536):
            self.fail("monitor_port must be between 0 (any free port) and 65535; got %d" % params["monitor_port"])
        self.check_files()
        try:
            federation = parse_servers(params["federation_servers"])
        except AddressError as exc:
            self.fail("federation_servers: %s" % exc)
        collectives: list[list[ServerAddress]] = []
        for index, pool in enumerate(params["collective_servers"] or []):
            try:
                collectives.append([parse_server(item) for item in str(pool).split(",") if item.strip()])
            except AddressError as exc:
                self.fail("collective_servers[%d]: %s" % (index, exc))
            if not collectives[-1]:
                self.fail("collective_servers[%d] is empty" % index)
        if not collectives:
            self.fail("collective_servers needs at least one collective network")
        self.servers = federation + [s for pool in collectives for s in pool]
        return [self.executable()] + command_args(params, federation, collectives, self.files)

    def debug_vars(self, url: str) -> dict[str, Any]:
        return debug_vars(url)

    def ready(self, data: dict[str, Any]) -> bool:
        return bool(data.get("connected"))

    def status(self, data: dict[str, Any], pid: int, url: str | None) -> dict[str, Any]:
        return status(data, pid, url)

    def not_ready(self, reason: str | None, data: dict[str, Any] | None, fresh: bool, tail: str) -> str:
        exited_early = bool(reason and reason.startswith("exited"))
        what = (
            reason
            if exited_early
            else "did not connect both sides within %s s (%s)" % (self.params["wait_timeout"], reason)
        )
        again = "; it was stopped again" if fresh and not exited_early else ""
        return "federation broker %s %s%s" % (self.params["name"], what, again)


def main() -> None:
    FederationModule(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)).run()


if __name__ == "__main__":
    main()
