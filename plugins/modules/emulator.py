#!/usr/bin/python
# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: emulator
short_description: Run a choria-emulator process holding many emulated Choria nodes
version_added: 0.1.0
description:
  - Starts C(choria-emulator emulate) detached on the target and waits until all of its emulated
    instances are connected to NATS, as its C(/debug/vars) endpoint reports; or stops it by PID.
  - The replacement for the original emulator agent's C(start)/C(stop) actions and the
    C(start-emulator.yaml)/C(stop-emulator.yaml) playbooks. Every instance is one emulated Choria
    server with its own NATS connection, named C(<name>-0) ... C(<name>-<instances-1>).
  - An emulator already running with the same command line is left alone (C(changed=false)); other
    options restart it.
  - The emulator is identified by O(name). Its PID, port and log files in O(state_dir) are named after
    it, so one host can run several emulators with different names.
  - Runs on the target with the standard library only; C(choria-emulator) comes from O(venv), which the
    C(chorialab.choria.setup_prereqs) role installs.
author:
  - chorialab (@chorialab)
extends_documentation_fragment:
  - chorialab.choria.attributes
  - chorialab.choria.attributes.daemon
  - chorialab.choria.attributes.actiongroup_choria
  - chorialab.choria.connection
  - chorialab.choria.connection.files
  - chorialab.choria.emulator_command
  - chorialab.choria.venv
attributes:
  diff_mode:
    support: full
    details:
      - Shows the emulator's command line before and after.
options:
  state:
    description:
      - V(started) makes sure the emulator runs with these options and all instances are connected,
        V(stopped) stops it, V(restarted) always restarts it.
    type: str
    choices: [started, stopped, restarted]
    default: started
  name:
    description:
      - Instance name prefix, and the identity of this emulator on the host.
      - Defaults to the target's short host name, like the emulator; the C(chorialab.choria.emulator) role
        passes the inventory host name so several inventory hosts on one machine get distinct names.
      - With O(state=stopped) and neither O(name) nor O(pid_file), every emulator that a start recorded in
        O(state_dir) (C(emulator-*.state.json)) is stopped, whatever its name; what the starts recorded is
        what stops.
    type: str
  instances:
    description:
      - Number of emulated Choria servers. Required to start.
    type: int
  agents:
    description: Number of C(emulatedN) agents each instance has, besides discovery, rpcutil and choria_util.
    type: int
    default: 1
  collectives:
    description: Number of collectives (C(mcollective), C(collective1), ...).
    type: int
    default: 1
  monitor_port:
    description:
      - Port of the C(/debug/vars) and C(/metrics) endpoint (the original C(monitor), default 8080).
        V(0) picks a free port; the module finds it again through the port file.
    type: int
    default: 8080
  monitor_bind:
    description: Address of the C(/debug/vars) endpoint.
    type: str
    default: 127.0.0.1
  workers:
    description: Worker processes sharing the instances (the emulator defaults to the number of CPUs).
    type: int
  start_index:
    description: Number of the first instance, to continue one name across hosts.
    type: int
  name_format:
    description: V(blog) names C(NAME-i); V(e3) names C(i-NAME-xxxxx.choria.local) like the 2019 emulator.
    type: str
    choices: [blog, e3]
  secure:
    description: Require signed requests (x509), verified against O(ca).
    type: bool
    default: false
  ca:
    description: CA that signs client certificates, for O(secure).
    type: path
  allowed_callers:
    description: Certname patterns allowed to call with O(secure) (the emulator defaults to C(\.mcollective$)).
    type: list
    elements: str
  facts:
    description: YAML or JSON facts template, with per-instance variation.
    type: path
  audit:
    description: Pattern for a JSON audit log per RPC request; C(%s) is the instance identity.
    type: str
  ddl:
    description:
      - Serve the agents of these go-choria JSON DDLs; each entry is a DDL file or a directory of them on the
        target, or the name of a DDL the emulator ships (V(puppet), V(service), V(package), V(nrpe), V(haproxy),
        V(appmgr)). See the emulator's docs/scenarios.md.
      - The C(chorialab.choria.emulator) role copies DDLs from the controller first.
    type: list
    elements: str
  scenario:
    description: Scenario file on the target (or a shipped scenario's name, such as V(blue-green)) scripting the
      behaviour of the O(ddl) agents.
    type: str
  seed:
    description: Seed of every random choice of the O(scenario), so a run repeats.
    type: int
  lifecycle:
    description: Publish Choria lifecycle events (startup, alive, shutdown) as go-choria does.
    type: bool
    default: false
  extra_args:
    description: More C(choria-emulator emulate) flags, for example V([--registration-interval, 300]).
    type: list
    elements: str
  pid_file:
    description: PID file. Default C(<state_dir>/emulator-<name>.pid).
    type: path
  log_file:
    description: The emulator's log. Default C(<state_dir>/emulator-<name>.log).
    type: path
  check_servers:
    description:
      - Before starting, resolve every server and open a TCP connection to it, so a typo or a stopped broker
        fails at once with the cause instead of as a timeout.
    type: bool
    default: true
  wait:
    description: Wait until every instance is connected.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for all instances to connect; the emulator is stopped again if they do not.
    type: float
    default: 120
  open_files:
    description:
      - Open-files limit (C(RLIMIT_NOFILE), soft and hard) the process starts with, like C(LimitNOFILE=) of a
        service; V(0) or unset keeps the limits the module runs with. Raising the hard limit needs root
        (C(become)); without it the module warns and the soft limit goes up to the hard one.
      - Every emulated instance holds one connection, so a worker needs more files than its instances; when even
        this limit is too low the emulator fails at start saying how many workers or what limit it needs.
    type: int
  stop_timeout:
    description: Seconds to wait for the emulator and its workers to exit after SIGTERM before they are killed.
    type: float
    default: 30
notes:
  - Stopping finds the process through its PID file, or like the original C(stop) action through
    C(config.pid) of C(/debug/vars) on O(monitor_port), and waits until the process and all its workers
    have exited.
seealso:
  - module: chorialab.choria.emulator_info
  - module: chorialab.choria.nats_server
"""

EXAMPLES = r"""
- name: The seed's start-emulator.yaml --instances 750 --agents 10 --collectives 10 --servers broker:4300
  chorialab.choria.emulator:
    name: "{{ inventory_hostname }}"
    instances: 750
    agents: 10
    collectives: 10
    servers: broker.example.net:4300
  register: emulator

- name: Set the connection once for every task of the collection
  module_defaults:
    group/chorialab.choria.choria:
      servers: [nats1.example.net:4222, nats2.example.net:4222]
      tls: true
      tls_ca: /etc/choria/ca.pem
  block:
    - name: Start 2,000 signed-request nodes
      chorialab.choria.emulator:
        name: secure
        instances: 2000
        secure: true
        ca: /etc/choria/ca.pem

- name: 1,000 nodes serving the real puppet and nrpe agents with scripted behaviour
  chorialab.choria.emulator:
    name: app
    instances: 1000
    servers: broker.example.net:4222
    ddl: [puppet, nrpe]
    scenario: /etc/choria-emulator/fleet.yaml
    seed: 7
    lifecycle: true

- name: Stop it
  chorialab.choria.emulator:
    name: "{{ inventory_hostname }}"
    state: stopped
"""

RETURN = r"""
name:
  description: Instance name prefix.
  returned: always
  type: str
  sample: emu1
running:
  description: Whether the emulator runs when the task ends.
  returned: always
  type: bool
pid:
  description: PID of the emulator's supervisor process (null when stopped).
  returned: always
  type: int
  sample: 31337
instances:
  description: Instances configured.
  returned: when running
  type: int
  sample: 750
connected:
  description: Instances connected to NATS.
  returned: when running
  type: int
  sample: 750
agents:
  description: C(emulatedN) agents per instance.
  returned: when running
  type: int
collectives:
  description: Collectives per instance.
  returned: when running
  type: int
tls:
  description: Whether the instances connect with TLS.
  returned: when running
  type: bool
tls_verify:
  description: Whether they verify the broker's certificate.
  returned: when running
  type: bool
memory:
  description: Resident memory of the emulator and its workers, in bytes (C(memstats.Sys) in the original).
  returned: when running
  type: int
counters:
  description: Request and reply counters summed over all instances (go-choria's C(choria_server_*) names).
  returned: when running
  type: dict
workers:
  description: Worker processes.
  returned: when running
  type: int
servers:
  description: NATS servers the instances use.
  returned: when running
  type: list
  elements: str
monitor_url:
  description: Base URL of C(/debug/vars) and C(/metrics).
  returned: when running
  type: str
  sample: http://127.0.0.1:8080
all_connected_after:
  description: Seconds from start until every instance was connected.
  returned: when running
  type: float
command:
  description: The emulator's command line.
  returned: when started
  type: list
  elements: str
pid_file:
  description: PID file.
  returned: always
  type: str
log_file:
  description: The emulator's log.
  returned: always
  type: str
restarted:
  description: Whether a running emulator was restarted.
  returned: always
  type: bool
stopped:
  description: How a running emulator ended, V(exited) after SIGTERM or V(killed) after O(stop_timeout).
  returned: when an emulator was stopped
  type: str
stopped_records:
  description: What a V(stopped) without options that pick one emulator stopped, from the state files the starts wrote.
  returned: when recorded emulators were stopped that way
  type: list
  elements: str
  sample: ["choria-emulator emulate web1"]
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.chorialab.choria.plugins.module_utils.connection import (
    AddressError,
    connection_argument_spec,
    parse_servers,
)
from ansible_collections.chorialab.choria.plugins.module_utils.emulator import (
    NAME_RE,
    command_args,
    debug_vars,
    default_files,
    default_name,
    locate,
    status,
)
from ansible_collections.chorialab.choria.plugins.module_utils.emulator_command import (
    EmulatorCommandModule,
    emulator_command_argument_spec,
)


def argument_spec() -> dict[str, Any]:
    return emulator_command_argument_spec(
        monitor_port=8080,
        wait_timeout=120,
        name=dict(type="str"),
        instances=dict(type="int"),
        agents=dict(type="int", default=1),
        collectives=dict(type="int", default=1),
        workers=dict(type="int"),
        start_index=dict(type="int"),
        name_format=dict(type="str", choices=["blog", "e3"]),
        secure=dict(type="bool", default=False),
        ca=dict(type="path"),
        allowed_callers=dict(type="list", elements="str"),
        facts=dict(type="path"),
        audit=dict(type="str"),
        ddl=dict(type="list", elements="str"),
        scenario=dict(type="str"),
        seed=dict(type="int"),
        lifecycle=dict(type="bool", default=False),
        extra_args=dict(type="list", elements="str"),
        wait=dict(type="bool", default=True),
        **connection_argument_spec(),
    )


class EmulatorModule(EmulatorCommandModule):
    """One named ``choria-emulator emulate`` process on the target."""

    SUBCOMMAND = "emulate"

    def __init__(self, module: AnsibleModule):
        params = module.params
        named = bool(params.get("name") or params.get("pid_file"))
        params["name"] = params.get("name") or default_name()
        super().__init__(module, default_files(params), name=params["name"])
        self.identified = named or params["state"] != "stopped"  # else stop what the state files record
        if not NAME_RE.match(params["name"]):
            self.fail("name %r may only contain letters, digits, '_', '.' and '-'" % params["name"])

    def command(self) -> list[str]:
        params = self.params
        if params["instances"] is None:
            self.fail("instances is required to start an emulator")
        for option, low in (("instances", 1), ("agents", 0), ("collectives", 1), ("workers", 1), ("start_index", 0)):
            if params.get(option) is not None and params[option] < low:
                self.fail("%s must be at least %d; got %d" % (option, low, params[option]))
        if not (params["monitor_port"] == -1 or 0 <= params["monitor_port"] < 65536):
            self.fail(
                "monitor_port must be between 0 (any free port) and 65535, or -1 for none; got %d"
                % params["monitor_port"]
            )
        if params["secure"] and not params.get("ca"):
            self.fail("secure needs ca, the CA that signs client certificates")
        self.check_files("ca", "facts")
        try:
            self.servers = parse_servers(params["servers"])
        except AddressError as exc:
            self.fail("servers: %s" % exc)
        return [self.executable()] + command_args(params, self.servers, self.files)

    def running_pid(self) -> int | None:
        return locate(self.params, self.files)[0]

    def debug_vars(self, url: str) -> dict[str, Any]:
        return debug_vars(url)

    def ready(self, data: dict[str, Any]) -> bool:
        return not self.params["wait"] or data.get("connected") == self.params["instances"]

    def status(self, data: dict[str, Any], pid: int, url: str | None) -> dict[str, Any]:
        return status(data, pid, url)

    def not_ready(self, reason: str | None, data: dict[str, Any] | None, fresh: bool, tail: str) -> str:
        if reason and reason.startswith("exited"):
            last = tail.strip().splitlines()[-1] if tail.strip() else ""
            return "choria-emulator %s%s" % (reason, ": %s" % last if last else "")
        connected = data.get("connected") if data else None
        return "%s of %d instances connected to %s within %s s (%s)%s" % (
            "none" if connected is None else connected,
            self.params["instances"],
            ", ".join(str(s) for s in self.servers),
            self.params["wait_timeout"],
            reason,
            "; the emulator was stopped again" if fresh else "",
        )


def main() -> None:
    EmulatorModule(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)).run()


if __name__ == "__main__":
    main()
