#!/usr/bin/python
# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: nats_server
short_description: Run a nats-server broker for an emulated Choria network
version_added: 0.1.0
description:
  - Writes a nats-server configuration file, starts C(nats-server) detached on the target and waits
    until its monitoring endpoint (C(/varz)) answers; or stops it by PID.
  - The replacement for the original emulator agent's C(start_nats)/C(stop_nats) actions and
    C(start-nats.yaml)/C(stop-nats.yaml) playbooks.
  - A running server whose configuration file is unchanged is left alone (C(changed=false)); a changed
    configuration is checked with C(nats-server -t) first and then applied by a restart, so a bad change
    never takes a working broker down.
  - Several servers can run on one host when each has its own O(port) or O(name) (their files are named
    after it), for example a NATS cluster of several nodes on one machine.
author:
  - chorialab (@chorialab)
extends_documentation_fragment:
  - chorialab.choria.attributes
  - chorialab.choria.attributes.daemon
  - chorialab.choria.venv
attributes:
  diff_mode:
    support: full
    details:
      - Shows the configuration file before and after; stopping shows the process state.
options:
  state:
    description:
      - V(started) makes sure the server runs with this configuration, V(stopped) makes sure it does
        not run, V(restarted) always restarts it.
    type: str
    choices: [started, stopped, restarted]
    default: started
  port:
    description:
      - Client port. V(-1) picks a free port (the actual one is returned in RV(port) and RV(url)). Starting
        without it uses V(4222).
      - With O(state=stopped) and neither O(port) nor O(name), stops exactly the servers whose state files
        (C(nats-server-*.state.json), written at each start) in O(config_dir) record as running. With a
        O(port) or O(name) that never ran there (no files of it) while recorded servers run, the task fails
        naming them rather than report ok.
    type: int
  monitor_port:
    description:
      - HTTP monitoring port (C(/varz), C(/connz), C(/subsz)). V(-1) picks a free port.
    type: int
    default: 8222
  bind:
    description:
      - Address the client, monitoring and cluster listeners bind to.
    type: str
    default: 0.0.0.0
  name:
    description:
      - Server name (C(server_name)); needed to tell cluster members apart in monitoring output.
      - Also names this server's files in O(config_dir) instead of the port.
    type: str
  cluster:
    description:
      - Join or form a NATS cluster, with a route listener and routes to the other members.
    type: dict
    suboptions:
      name:
        description: Cluster name; every member must use the same one.
        type: str
      port:
        description: Route listener port. V(-1) picks a free port.
        type: int
        default: 6222
      bind:
        description: Address of the route listener (default O(bind)).
        type: str
      routes:
        description:
          - Other members as C(host:port) or C(nats-route://host:port); listing this server itself is harmless.
        type: list
        elements: str
        default: []
  tls:
    description:
      - Serve clients over TLS.
    type: dict
    suboptions:
      cert:
        description: Server certificate (PEM).
        type: path
        required: true
      key:
        description: Private key of O(tls.cert) (PEM).
        type: path
        required: true
      ca:
        description: CA bundle to verify client certificates with.
        type: path
      verify:
        description: Require and verify client certificates.
        type: bool
        default: false
      timeout:
        description: Seconds a client has to complete the TLS handshake (raise it for thousands of connects at once).
        type: float
  leafnodes:
    description:
      - Leaf node connections, as the 2019 emulator's C(start_nats) set up to reach Synadia NGS or a hub.
    type: dict
    suboptions:
      port:
        description: Accept leaf node connections on this port (7422 by convention); omit to accept none.
        type: int
      bind:
        description: Address of the leaf node listener (default O(bind)).
        type: str
      remotes:
        description: Hubs to connect to as a leaf node, C(host:port), C(nats-leaf://host:port) or C(tls://host:port).
        type: list
        elements: str
        default: []
      credentials:
        description: NATS credentials (C(.creds)) file for the connections to O(leafnodes.remotes).
        type: path
  max_connections:
    description:
      - Most client connections the server accepts (nats-server default 65536). Each emulated
        instance is one connection.
    type: int
  max_payload:
    description:
      - Largest message in bytes (nats-server default 1 MiB).
    type: int
  extra_config:
    description:
      - Further nats-server settings, merged over the ones above (for example C(leafnodes), C(jetstream), C(accounts)).
    type: dict
  binary:
    description:
      - Path of the nats-server executable. Default C(<venv>/bin/nats-server), then C(nats-server) or C(gnatsd) on
        E(PATH).
    type: path
  config_dir:
    description:
      - Directory for the configuration, PID, log and ports files (created if missing).
    type: path
    default: /tmp/choria-emulator
  config_file:
    description: Configuration file. Default C(<config_dir>/nats-server-<name or port>.conf).
    type: path
  pid_file:
    description: PID file. Default C(<config_dir>/nats-server-<name or port>.pid).
    type: path
  log_file:
    description: Where the server's output goes. Default C(<config_dir>/nats-server-<name or port>.log).
    type: path
  start_timeout:
    description: Seconds to wait for C(/varz) to answer after starting.
    type: float
    default: 30
  open_files:
    description:
      - Open-files limit (C(RLIMIT_NOFILE), soft and hard) the process starts with, like C(LimitNOFILE=) of a
        service; V(0) or unset keeps the limits the module runs with. Raising the hard limit needs root
        (C(become)); without it the module warns and the soft limit goes up to the hard one.
    type: int
  stop_timeout:
    description: Seconds to wait for the server to exit after SIGTERM before it is killed.
    type: float
    default: 30
seealso:
  - module: chorialab.choria.nats_server_info
  - module: chorialab.choria.emulator
  - name: NATS server configuration
    description: All settings a nats-server configuration file accepts.
    link: https://docs.nats.io/running-a-nats-service/configuration
"""

EXAMPLES = r"""
- name: Start the broker the seed's start-nats.yaml started (port 4300, monitor 8300)
  chorialab.choria.nats_server:
    port: 4300
    monitor_port: 8300

- name: One member of a three-node cluster (run on each broker host)
  chorialab.choria.nats_server:
    name: "{{ inventory_hostname }}"
    max_connections: 100000
    cluster:
      name: choria
      routes: "{{ groups['brokers'] | map('regex_replace', '$', ':6222') | list }}"

- name: A leaf node of Synadia NGS, like the 2019 emulator's start_nats with credentials
  chorialab.choria.nats_server:
    leafnodes:
      remotes: [tls://connect.ngs.global:7422]
      credentials: /etc/choria/ngs.creds

- name: TLS for clients
  chorialab.choria.nats_server:
    tls:
      cert: /etc/choria/broker.pem
      key: /etc/choria/broker.key
      ca: /etc/choria/ca.pem
      timeout: 10

- name: Stop it
  chorialab.choria.nats_server:
    port: 4300
    state: stopped

- name: Stop every server the starts in /tmp/choria-emulator recorded
  chorialab.choria.nats_server:
    state: stopped
"""

RETURN = r"""
running:
  description: Whether the server runs when the task ends.
  returned: always
  type: bool
  sample: true
pid:
  description: Process ID of the server (null when stopped).
  returned: always
  type: int
  sample: 4242
url:
  description:
    - Client URL, with the real port when V(-1) was asked for.
    - C(tls://) when O(tls) is set, which tells NATS clients (and M(chorialab.choria.emulator)) to use TLS.
  returned: when running
  type: str
  sample: nats://127.0.0.1:4222
port:
  description: Client port the server listens on.
  returned: when running
  type: int
  sample: 4222
monitor_url:
  description: Monitoring URL (C(/varz) and friends below it).
  returned: when running
  type: str
  sample: http://127.0.0.1:8222
cluster_url:
  description: Route URL other cluster members can list in their routes (null without O(cluster)).
  returned: when running
  type: str
  sample: nats-route://127.0.0.1:6222
version:
  description: nats-server version from C(/varz).
  returned: when running
  type: str
  sample: 2.15.1
connections:
  description: Client connections at the end of the task.
  returned: when running
  type: int
  sample: 0
varz:
  description: A summary of C(/varz) (server_id, server_name, version, connections, subscriptions, routes, in/out
    messages and bytes, mem, cpu, limits, start).
  returned: when running
  type: dict
config_file:
  description: The configuration file.
  returned: always
  type: str
  sample: /tmp/choria-emulator/nats-server-4222.conf
pid_file:
  description: The PID file.
  returned: always
  type: str
log_file:
  description: The server's log.
  returned: always
  type: str
restarted:
  description: Whether a running server was restarted (to apply a changed configuration or for V(restarted)).
  returned: always
  type: bool
  sample: false
stopped:
  description: How a running server ended when stopped or restarted, V(exited) after SIGTERM or V(killed) after the
    O(stop_timeout).
  returned: when a server was stopped
  type: str
  sample: exited
stopped_records:
  description: What a V(stopped) without options that pick one server stopped, from the state files the starts wrote.
  returned: when recorded servers were stopped that way
  type: list
  elements: str
  sample: ["nats-server on port 4222"]
"""

import os
import subprocess
import tempfile
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.chorialab.choria.plugins.module_utils.daemon import DaemonModule, daemon_argument_spec
from ansible_collections.chorialab.choria.plugins.module_utils.monitor import MonitorError, poll
from ansible_collections.chorialab.choria.plugins.module_utils.nats import (
    BINARY_NAMES,
    NatsConfigError,
    NatsFiles,
    build_config,
    default_files,
    endpoints,
    find_server,
    log_error,
    render_config,
    summarize_varz,
    varz,
)
from ansible_collections.chorialab.choria.plugins.module_utils.processes import is_running, remove_file, start_time

DEFAULT_PORT = 4222

ARGUMENT_SPEC = daemon_argument_spec(
    port=dict(type="int"),
    monitor_port=dict(type="int", default=8222),
    bind=dict(type="str", default="0.0.0.0"),
    name=dict(type="str"),
    cluster=dict(
        type="dict",
        options=dict(
            name=dict(type="str"),
            port=dict(type="int", default=6222),
            bind=dict(type="str"),
            routes=dict(type="list", elements="str", default=[]),
        ),
    ),
    tls=dict(
        type="dict",
        options=dict(
            cert=dict(type="path", required=True),
            key=dict(type="path", required=True, no_log=False),
            ca=dict(type="path"),
            verify=dict(type="bool", default=False),
            timeout=dict(type="float"),
        ),
    ),
    leafnodes=dict(
        type="dict",
        options=dict(
            port=dict(type="int"),
            bind=dict(type="str"),
            remotes=dict(type="list", elements="str", default=[]),
            credentials=dict(type="path"),
        ),
    ),
    max_connections=dict(type="int"),
    max_payload=dict(type="int"),
    extra_config=dict(type="dict"),
    binary=dict(type="path"),
    config_dir=dict(type="path", default="/tmp/choria-emulator"),
    config_file=dict(type="path"),
    start_timeout=dict(type="float", default=30),
)


class NatsServerModule(DaemonModule):
    """One nats-server on the target, identified by its files (see ``default_files``)."""

    def __init__(self, module: AnsibleModule):
        params = module.params
        identified = params["port"] is not None or bool(params.get("name")) or bool(params.get("pid_file"))
        if params["port"] is None:
            params["port"] = DEFAULT_PORT
        files = default_files(params)
        super().__init__(module, files.pid_file, files.log_file, config_file=files.config_file)
        self.files: NatsFiles = files
        self.identified = identified or params["state"] != "stopped"
        self.records_pattern = os.path.join(params["config_dir"], "nats-server-*.state.json")

    def identity(self) -> str:
        if self.params.get("name"):
            return "nats-server %s" % self.params["name"]
        return "nats-server on port %d" % self.params["port"]

    def running_pid(self) -> int | None:
        return find_server(self.files)

    # ---- helpers ---------------------------------------------------------------------------
    def _check_port(self, option: str, port: int | None) -> None:
        if port is not None and not (port == -1 or 0 < port < 65536):
            self.fail("%s must be between 1 and 65535, or -1 for a free port; got %d" % (option, port))

    def _validate(self) -> None:
        params = self.params
        cluster = params.get("cluster") or {}
        leafnodes = params.get("leafnodes") or {}
        for option, port in (
            ("port", params["port"]),
            ("monitor_port", params["monitor_port"]),
            ("cluster.port", cluster.get("port")),
            ("leafnodes.port", leafnodes.get("port")),
        ):
            self._check_port(option, port)
        for option in ("max_connections", "max_payload"):
            if params.get(option) is not None and params[option] < 1:
                self.fail("%s must be a positive number; got %d" % (option, params[option]))
        if leafnodes.get("credentials") and not os.path.isfile(leafnodes["credentials"]):
            self.fail("leafnodes.credentials: file not found: %s" % leafnodes["credentials"])
        tls = params.get("tls")
        if tls:
            for key in ("cert", "key", "ca"):
                if tls.get(key) and not os.path.isfile(tls[key]):
                    self.fail("tls.%s: file not found: %s" % (key, tls[key]))

    def _binary(self) -> str:
        if self.params.get("binary"):
            path = self.params["binary"]
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                self.fail("nats-server binary %s does not exist or is not executable" % path)
            return path
        beside = os.path.join(self.params["venv"], "bin", "nats-server")
        if os.path.isfile(beside) and os.access(beside, os.X_OK):
            return beside
        for name in BINARY_NAMES:
            found = self.module.get_bin_path(name)
            if found:
                return found
        self.fail(
            "nats-server binary not found: %s does not exist and neither nats-server nor gnatsd is on PATH; "
            "run the chorialab.choria.setup_prereqs role or set binary" % beside
        )
        return ""  # not reached: fail_json exits

    def _existing_config(self) -> str | None:
        try:
            with open(self.files.config_file) as handle:
                return handle.read()
        except OSError:
            return None

    def _stale(self, pid: int) -> bool:
        """The file was rewritten after the process started (for example by a failed restart)."""
        started = start_time(pid)
        try:
            written = os.path.getmtime(self.files.config_file)
        except OSError:
            return True
        return started is not None and written > started + 1

    def _test_config(self, binary: str, text: str) -> None:
        """``nats-server -t`` on the new configuration before anything running is touched."""
        handle, path = tempfile.mkstemp(prefix=".nats-server-", suffix=".conf", dir=self.params["config_dir"])
        try:
            with os.fdopen(handle, "w") as out:
                out.write(text)
            proc = subprocess.run(
                [binary, "-t", "-c", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.fail("cannot run %s -t to check the configuration: %s" % (binary, to_native(exc)))
        finally:
            remove_file(path)
        if proc.returncode != 0:
            output = to_native(proc.stdout).strip().replace(path, self.files.config_file)
            self.fail("nats-server rejected the configuration: %s" % (output or "exit code %d" % proc.returncode))

    def _write_config(self, text: str) -> None:
        directory = os.path.dirname(self.files.config_file) or "."
        handle, tmp = tempfile.mkstemp(prefix=".nats-server-", dir=directory)
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        self.module.atomic_move(tmp, self.files.config_file)

    def _check_ports(self) -> None:
        params = self.params
        listeners = [("client", params["bind"], params["port"]), ("monitor", params["bind"], params["monitor_port"])]
        cluster = params.get("cluster")
        if cluster:
            listeners.append(("cluster", cluster.get("bind") or params["bind"], cluster["port"]))
        leafnodes = params.get("leafnodes") or {}
        if leafnodes.get("port") is not None:
            listeners.append(("leafnode", leafnodes.get("bind") or params["bind"], leafnodes["port"]))
        self.check_ports(listeners)

    def _wait_ready(self, pid: int) -> dict[str, Any]:
        def exited() -> str | None:
            return None if is_running(pid) else "nats-server exited"

        def fetch() -> dict[str, Any]:
            urls = endpoints(self.params, pid)
            if not urls.get("monitor_port") or urls["monitor_port"] < 0:
                raise MonitorError("no monitoring port yet")
            return varz(urls["monitor_url"])

        ok, data, reason = poll(fetch, lambda d: True, self.params["start_timeout"], abort=exited)
        if ok:
            return data
        tail = self.give_up(pid, 5)
        if reason == "nats-server exited":
            cause = log_error(tail)
            self.fail(
                "nats-server exited right after start%s; last lines of %s:\n%s"
                % (": %s" % cause if cause else "", self.files.log_file, tail)
            )
        self.fail(
            "nats-server did not answer on /varz within %s s (%s); last lines of %s:\n%s"
            % (self.params["start_timeout"], reason, self.files.log_file, tail)
        )
        return {}

    def _report(self, pid: int, data: dict[str, Any] | None = None) -> None:
        urls = endpoints(self.params, pid)
        self.result.update(running=True, pid=pid, **urls)
        if data is None:
            try:
                data = varz(urls["monitor_url"])
            except MonitorError as exc:
                self.module.warn("nats-server pid %d runs but %s" % (pid, exc))
                data = {}
        self.result.update(
            version=data.get("version"), connections=data.get("connections"), varz=summarize_varz(data) if data else {}
        )
        self.write_record(pid, kind="nats-server", config_file=self.files.config_file, endpoints=urls)

    # ---- states ----------------------------------------------------------------------------
    def started(self, force_restart: bool) -> None:
        self._validate()
        binary = self._binary()
        try:
            text = render_config(build_config(self.params))
        except NatsConfigError as exc:
            self.fail(str(exc))
        before = self._existing_config()
        pid = self.running_pid()
        if self.module._diff:
            self.result["diff"] = dict(
                before=before or "",
                after=text,
                before_header=self.files.config_file,
                after_header=self.files.config_file,
            )
        up_to_date = pid is not None and before == text and not self._stale(pid)
        if up_to_date and not force_restart:
            self._report(pid)
            return
        if self.predict_change(pid):
            return
        try:
            os.makedirs(self.params["config_dir"], exist_ok=True)
            self._test_config(binary, text)
            if pid is not None:
                self.stop(pid)
            if before != text:
                self._write_config(text)
            self._check_ports()
            new_pid = self.launch([binary, "-c", self.files.config_file], cwd=self.params["config_dir"])
        except OSError as exc:
            self.fail("cannot write nats-server files in %s: %s" % (self.params["config_dir"], to_native(exc)))
        self._report(new_pid, self._wait_ready(new_pid))


def main() -> None:
    NatsServerModule(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)).run()


if __name__ == "__main__":
    main()
