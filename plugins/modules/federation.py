#!/usr/bin/python
# -*- coding: utf-8 -*-
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
  - chorialab.choria.venv
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - Shows the broker's command line before and after.
  idempotent:
    support: full
options:
  state:
    description: V(started) makes sure the broker runs with these options, V(stopped) stops it, V(restarted) always restarts it.
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
    description: Verify the brokers' TLS certificates against O(tls_ca); without it TLS encrypts but does not authenticate.
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
  executable:
    description: C(choria-emulator) executable, when not C(<venv>/bin/choria-emulator).
    type: path
  state_dir:
    description: Directory for the PID, port and log files (created if missing).
    type: path
    default: /tmp/choria-emulator
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

import os
import re
import subprocess
from typing import Any, Dict, List, Optional

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.chorialab.choria.plugins.module_utils.connection import (
    AddressError,
    ServerAddress,
    missing_files,
    parse_server,
    parse_servers,
    unreachable,
)
from ansible_collections.chorialab.choria.plugins.module_utils.daemon import STATES, DaemonModule
from ansible_collections.chorialab.choria.plugins.module_utils.emulator import find_executable, monitor_url
from ansible_collections.chorialab.choria.plugins.module_utils.federation import (
    FederationFiles,
    command_args,
    debug_vars,
    default_files,
    find_broker,
    running_args,
    status,
)
from ansible_collections.chorialab.choria.plugins.module_utils.monitor import MonitorError, poll
from ansible_collections.chorialab.choria.plugins.module_utils.processes import (
    ProcessError,
    describe_port_conflict,
    log_tail,
    port_in_use,
    remove_file,
    start_detached,
    stop_process,
    write_pid_file,
)

NETWORK_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def argument_spec() -> Dict[str, Any]:
    return dict(
        state=dict(type="str", choices=STATES, default="started"),
        name=dict(type="str", required=True),
        federation_servers=dict(type="list", elements="str"),
        collective_servers=dict(type="list", elements="str", default=["localhost:4222"]),
        identity=dict(type="str"),
        tls=dict(type="bool", default=False),
        tls_verify=dict(type="bool", default=False, aliases=["verify"]),
        tls_ca=dict(type="path"),
        tls_cert=dict(type="path"),
        tls_key=dict(type="path"),
        credentials=dict(type="path"),
        monitor_port=dict(type="int", default=0),
        monitor_bind=dict(type="str", default="127.0.0.1"),
        venv=dict(type="path", default="/opt/choria-emulator"),
        executable=dict(type="path"),
        state_dir=dict(type="path", default="/tmp/choria-emulator"),
        pid_file=dict(type="path"),
        log_file=dict(type="path"),
        check_servers=dict(type="bool", default=True),
        wait_timeout=dict(type="float", default=60),
        stop_timeout=dict(type="float", default=30),
    )


class FederationModule(DaemonModule):
    """One named ``choria-emulator federation`` process on the target."""

    def __init__(self, module: AnsibleModule):
        files = default_files(module.params)
        super().__init__(module, [files.pid_file, files.port_file], name=module.params["name"], pid_file=files.pid_file, log_file=files.log_file)
        self.files: FederationFiles = files
        self.process: Optional[subprocess.Popen] = None
        self.all_servers: List[ServerAddress] = []
        if not NETWORK_RE.match(self.params["name"]):
            self.fail("name %r may only contain letters, digits, '_' and '-' (it is part of NATS subjects)" % self.params["name"])

    def running_pid(self) -> Optional[int]:
        return find_broker(self.files)

    def _validate(self) -> List[str]:
        params = self.params
        if not params.get("federation_servers"):
            self.fail("federation_servers is required to start a federation broker")
        if not (0 <= params["monitor_port"] < 65536):
            self.fail("monitor_port must be between 0 (any free port) and 65535; got %d" % params["monitor_port"])
        if bool(params.get("tls_cert")) != bool(params.get("tls_key")):
            self.fail("tls_cert and tls_key go together")
        problems = missing_files(params, ("tls_ca", "tls_cert", "tls_key", "credentials"))
        if problems:
            self.fail("; ".join(problems))
        try:
            federation = parse_servers(params["federation_servers"])
        except AddressError as exc:
            self.fail("federation_servers: %s" % exc)
        collectives: List[List[ServerAddress]] = []
        for index, pool in enumerate(params["collective_servers"] or []):
            try:
                collectives.append([parse_server(item) for item in str(pool).split(",") if item.strip()])
            except AddressError as exc:
                self.fail("collective_servers[%d]: %s" % (index, exc))
            if not collectives[-1]:
                self.fail("collective_servers[%d] is empty" % index)
        if not collectives:
            self.fail("collective_servers needs at least one collective network")
        self.all_servers = federation + [s for pool in collectives for s in pool]
        executable = find_executable(params["venv"], params.get("executable"))
        if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
            self.fail(
                "choria-emulator not found at %s; run the chorialab.choria.setup_prereqs role "
                "(playbooks/setup-prereqs.yml) or set venv/executable" % executable
            )
        return [executable] + command_args(params, federation, collectives, self.files)

    def _wait_connected(self, pid: int, fresh: bool) -> Dict[str, Any]:
        def exited() -> Optional[str]:
            code = self.process.poll() if self.process else None
            if code is not None:
                return "exited with code %d" % code
            return None if fresh or find_broker(self.files) else "exited"

        def fetch() -> Dict[str, Any]:
            url = monitor_url(self.params, self.files)
            if url is None:
                raise MonitorError("no /debug/vars port yet")
            return debug_vars(url)

        ok, data, reason = poll(fetch, lambda d: bool(d.get("connected")), self.params["wait_timeout"], interval=0.2, abort=exited)
        if ok:
            return data
        tail = log_tail(self.files.log_file)
        if fresh and self.process:
            if self.process.poll() is None:
                stop_process(pid, 10)
            self.forget()
        exited_early = bool(reason and reason.startswith("exited"))
        what = reason if exited_early else "did not connect both sides within %s s (%s)" % (self.params["wait_timeout"], reason)
        again = "; it was stopped again" if fresh and not exited_early else ""
        self.fail("federation broker %s %s%s; last lines of %s:\n%s" % (self.params["name"], what, again, self.files.log_file, tail))
        return {}

    def started(self, force_restart: bool) -> None:
        argv = self._validate()
        self.result["command"] = argv
        pid = self.running_pid()
        current = running_args(pid) if pid else None
        if self.module._diff:
            self.result["diff"] = dict(before=" ".join(current) + "\n" if current else "", after=" ".join(argv) + "\n")
        if pid is not None and current == argv and not force_restart:
            self.result.update(status(self._wait_connected(pid, fresh=False), pid, monitor_url(self.params, self.files)))
            return
        if self.predict_change(pid):
            return
        try:
            os.makedirs(self.params["state_dir"], exist_ok=True)
        except OSError as exc:
            self.fail("cannot create state_dir %s: %s" % (self.params["state_dir"], to_native(exc)))
        if pid is not None:
            self.stop(pid)
        if self.params["monitor_port"] > 0 and port_in_use(self.params["monitor_bind"], self.params["monitor_port"]):
            self.fail(describe_port_conflict(self.params["monitor_bind"], self.params["monitor_port"], "monitor"))
        if self.params["check_servers"]:
            problems = unreachable(self.all_servers)
            if problems:
                self.fail("; ".join(problems))
        remove_file(self.files.port_file)
        try:
            self.process = start_detached(argv, self.files.log_file, cwd=self.params["state_dir"])
        except ProcessError as exc:
            self.fail(str(exc))
        write_pid_file(self.files.pid_file, self.process.pid)
        data = self._wait_connected(self.process.pid, fresh=True)
        self.result.update(status(data, self.process.pid, monitor_url(self.params, self.files)))


def main() -> None:
    FederationModule(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)).run()


if __name__ == "__main__":
    main()
