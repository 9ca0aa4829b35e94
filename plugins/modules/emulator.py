#!/usr/bin/python
# -*- coding: utf-8 -*-
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
  - chorialab.choria.attributes.actiongroup_choria
  - chorialab.choria.connection
  - chorialab.choria.venv
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - Shows the emulator's command line before and after.
  idempotent:
    support: full
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
  extra_args:
    description: More C(choria-emulator emulate) flags, for example V([--registration-interval, 300]).
    type: list
    elements: str
  executable:
    description: C(choria-emulator) executable, when not C(<venv>/bin/choria-emulator).
    type: path
  state_dir:
    description: Directory for the PID, port and log files (created if missing).
    type: path
    default: /tmp/choria-emulator
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
"""

import os
from subprocess import Popen
from typing import Any, Dict, List, Optional

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.chorialab.choria.plugins.module_utils.connection import (
    AddressError,
    ServerAddress,
    connection_argument_spec,
    missing_files,
    parse_servers,
    unreachable,
)
from ansible_collections.chorialab.choria.plugins.module_utils.emulator import (
    NAME_RE,
    EmulatorFiles,
    command_args,
    debug_vars,
    default_files,
    default_name,
    endpoint,
    find_emulator,
    find_executable,
    monitor_url,
    pid_from_debug_vars,
    running_args,
    status,
)
from ansible_collections.chorialab.choria.plugins.module_utils.daemon import STATES, DaemonModule
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


def argument_spec() -> Dict[str, Any]:
    spec = connection_argument_spec()
    spec.update(
        state=dict(type="str", choices=STATES, default="started"),
        name=dict(type="str"),
        instances=dict(type="int"),
        agents=dict(type="int", default=1),
        collectives=dict(type="int", default=1),
        monitor_port=dict(type="int", default=8080),
        monitor_bind=dict(type="str", default="127.0.0.1"),
        workers=dict(type="int"),
        start_index=dict(type="int"),
        name_format=dict(type="str", choices=["blog", "e3"]),
        secure=dict(type="bool", default=False),
        ca=dict(type="path"),
        allowed_callers=dict(type="list", elements="str"),
        facts=dict(type="path"),
        audit=dict(type="str"),
        extra_args=dict(type="list", elements="str"),
        venv=dict(type="path", default="/opt/choria-emulator"),
        executable=dict(type="path"),
        state_dir=dict(type="path", default="/tmp/choria-emulator"),
        pid_file=dict(type="path"),
        log_file=dict(type="path"),
        check_servers=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="float", default=120),
        stop_timeout=dict(type="float", default=30),
    )
    return spec


class EmulatorModule(DaemonModule):
    """One named ``choria-emulator emulate`` process on the target."""

    def __init__(self, module: AnsibleModule):
        params = module.params
        params["name"] = params.get("name") or default_name()
        files = default_files(params)
        super().__init__(module, [files.pid_file, files.port_file], name=params["name"], pid_file=files.pid_file, log_file=files.log_file)
        self.files: EmulatorFiles = files
        self.process: Optional[Popen] = None
        self.servers: List[ServerAddress] = []
        if not NAME_RE.match(params["name"]):
            self.fail("name %r may only contain letters, digits, '_', '.' and '-'" % params["name"])

    # ---- checks ----------------------------------------------------------------------------
    def _validate(self) -> List[str]:
        """The emulate command line, after every check that can fail before anything starts."""
        params = self.params
        if params["instances"] is None:
            self.fail("instances is required to start an emulator")
        for option, low in (("instances", 1), ("agents", 0), ("collectives", 1), ("workers", 1), ("start_index", 0)):
            if params.get(option) is not None and params[option] < low:
                self.fail("%s must be at least %d; got %d" % (option, low, params[option]))
        if not (params["monitor_port"] == -1 or 0 <= params["monitor_port"] < 65536):
            self.fail("monitor_port must be between 0 (any free port) and 65535, or -1 for none; got %d" % params["monitor_port"])
        if params["secure"] and not params.get("ca"):
            self.fail("secure needs ca, the CA that signs client certificates")
        if bool(params.get("tls_cert")) != bool(params.get("tls_key")):
            self.fail("tls_cert and tls_key go together")
        problems = missing_files(params, ("tls_ca", "tls_cert", "tls_key", "credentials", "ca", "facts"))
        if problems:
            self.fail("; ".join(problems))
        try:
            self.servers = parse_servers(params["servers"])
        except AddressError as exc:
            self.fail("servers: %s" % exc)
        executable = find_executable(params["venv"], params.get("executable"))
        if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
            self.fail(
                "choria-emulator not found at %s; run the chorialab.choria.setup_prereqs role "
                "(playbooks/setup-prereqs.yml) or set venv/executable" % executable
            )
        return [executable] + command_args(params, self.servers, self.files)

    def _preflight(self) -> None:
        params = self.params
        if params["monitor_port"] > 0 and port_in_use(params["monitor_bind"], params["monitor_port"]):
            self.fail(describe_port_conflict(params["monitor_bind"], params["monitor_port"], "monitor"))
        if params["check_servers"]:
            problems = unreachable(self.servers)
            if problems:
                self.fail("; ".join(problems))

    # ---- process ---------------------------------------------------------------------------
    def running_pid(self) -> Optional[int]:
        pid = find_emulator(self.files)
        url = endpoint(self.params["monitor_bind"], self.params["monitor_port"])
        if pid is None and url:
            pid = pid_from_debug_vars(url)
        return pid

    def _start(self, argv: List[str]) -> int:
        remove_file(self.files.port_file)
        try:
            process = start_detached(argv, self.files.log_file, cwd=self.params["state_dir"])
        except ProcessError as exc:
            self.fail(str(exc))
        self.process = process
        write_pid_file(self.files.pid_file, process.pid)
        return process.pid

    def _wait_connected(self, pid: int, fresh: bool) -> Dict[str, Any]:
        """Poll /debug/vars until every instance is connected; a failed fresh start is stopped again."""
        instances = self.params["instances"]
        servers = ", ".join(str(s) for s in self.servers)

        def exited() -> Optional[str]:
            code = self.process.poll() if self.process else None
            if code is not None:
                return "exited with code %d" % code
            return None if fresh or find_emulator(self.files) else "exited"

        def fetch() -> Dict[str, Any]:
            url = monitor_url(self.params, self.files)
            if url is None:
                raise MonitorError("no /debug/vars port yet")
            return debug_vars(url)

        def done(data: Dict[str, Any]) -> bool:
            return not self.params["wait"] or data.get("connected") == instances

        ok, data, reason = poll(fetch, done, self.params["wait_timeout"], interval=0.25, abort=exited)
        if ok:
            return data
        tail = log_tail(self.files.log_file)
        if fresh and self.process:
            if self.process.poll() is None:
                stop_process(pid, 10)
            self.forget()
        if reason and reason.startswith("exited"):
            last = tail.strip().splitlines()[-1] if tail.strip() else ""
            self.fail("choria-emulator %s%s; last lines of %s:\n%s" % (reason, ": %s" % last if last else "", self.files.log_file, tail))
        connected = data.get("connected") if data else None
        self.fail(
            "%s of %d instances connected to %s within %s s (%s)%s; last lines of %s:\n%s"
            % ("none" if connected is None else connected, instances, servers, self.params["wait_timeout"], reason,
               "; the emulator was stopped again" if fresh else "", self.files.log_file, tail)
        )
        return {}

    def _report(self, pid: int, data: Dict[str, Any]) -> None:
        self.result.update(status(data, pid, monitor_url(self.params, self.files)))

    # ---- states ----------------------------------------------------------------------------
    def started(self, force_restart: bool) -> None:
        argv = self._validate()
        self.result["command"] = argv
        pid = self.running_pid()
        current = running_args(pid) if pid else None
        if self.module._diff:
            self.result["diff"] = dict(before=" ".join(current) + "\n" if current else "", after=" ".join(argv) + "\n")
        if pid is not None and current == argv and not force_restart:
            self._report(pid, self._wait_connected(pid, fresh=False))
            return
        if self.predict_change(pid):
            return
        try:
            os.makedirs(self.params["state_dir"], exist_ok=True)
        except OSError as exc:
            self.fail("cannot create state_dir %s: %s" % (self.params["state_dir"], to_native(exc)))
        if pid is not None:
            self.stop(pid)
        self._preflight()
        new_pid = self._start(argv)
        self._report(new_pid, self._wait_connected(new_pid, fresh=True))


def main() -> None:
    EmulatorModule(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)).run()


if __name__ == "__main__":
    main()
