# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""A ``choria-emulator`` sub-command (``emulate``, ``federation``) as a daemon on the target.

The start/wait/report flow the emulator and federation modules share, so each of them is its
options, its command line and its status. The options they document alike are the
``chorialab.choria.emulator_command`` doc fragment.
"""

from __future__ import annotations

import os
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.chorialab.choria.plugins.module_utils.connection import (
    CONNECTION_FILE_OPTIONS,
    ServerAddress,
    missing_files,
    unreachable,
)
from ansible_collections.chorialab.choria.plugins.module_utils.daemon import DaemonModule, daemon_argument_spec
from ansible_collections.chorialab.choria.plugins.module_utils.emulator import (
    EmulatorFiles,
    find_executable,
    find_subcommand,
    monitor_url,
    running_args,
)
from ansible_collections.chorialab.choria.plugins.module_utils.monitor import MonitorError, poll
from ansible_collections.chorialab.choria.plugins.module_utils.processes import log_tail, remove_file


def emulator_command_argument_spec(monitor_port: int, wait_timeout: float, **options: dict[str, Any]) -> dict[str, Any]:
    """The options of an :class:`EmulatorCommandModule`, with its own defaults, plus ``options``."""
    return daemon_argument_spec(
        monitor_port=dict(type="int", default=monitor_port),
        monitor_bind=dict(type="str", default="127.0.0.1"),
        executable=dict(type="path"),
        state_dir=dict(type="path", default="/tmp/choria-emulator"),
        check_servers=dict(type="bool", default=True),
        wait_timeout=dict(type="float", default=wait_timeout),
        **options,
    )


class EmulatorCommandModule(DaemonModule):
    """A ``choria-emulator`` sub-command (``emulate``, ``federation``) run detached on the target.

    Its command line is its configuration: one already running with the same arguments is left
    alone, other arguments restart it. It is ready when its ``/debug/vars`` says so; a fresh start
    that does not get there is stopped again, so a failed task leaves nothing running. Subclasses
    give :attr:`SUBCOMMAND`, :meth:`command` and how to read and judge ``/debug/vars``.
    """

    SUBCOMMAND = ""
    POLL_INTERVAL = 0.25

    def __init__(self, module: AnsibleModule, files: EmulatorFiles, **result: Any):
        super().__init__(module, files.pid_file, files.log_file, [files.port_file], **result)
        self.files = files
        kind = os.path.basename(files.pid_file).split("-", 1)[0]  # emulator-<name>.pid, federation-<name>.pid
        self.records_pattern = os.path.join(os.path.dirname(files.pid_file), kind + "-*.state.json")
        self.servers: list[ServerAddress] = []  # what must accept a TCP connection before a start

    # ---- what a sub-command defines ---------------------------------------------------------
    def command(self) -> list[str]:
        """The whole command line, after every check that can fail before anything starts."""
        raise NotImplementedError

    def debug_vars(self, url: str) -> dict[str, Any]:
        raise NotImplementedError

    def ready(self, data: dict[str, Any]) -> bool:
        raise NotImplementedError

    def status(self, data: dict[str, Any], pid: int, url: str | None) -> dict[str, Any]:
        raise NotImplementedError

    def not_ready(self, reason: str | None, data: dict[str, Any] | None, fresh: bool, tail: str) -> str:
        """Why the process did not become ready (the log's tail is appended)."""
        raise NotImplementedError

    # ---- shared checks ----------------------------------------------------------------------
    def executable(self) -> str:
        path = find_executable(self.params["venv"], self.params.get("executable"))
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            self.fail(
                "choria-emulator not found at %s; run the chorialab.choria.setup_prereqs role "
                "(playbooks/setup-prereqs.yml) or set venv/executable" % path
            )
        return path

    def check_files(self, *options: str) -> None:
        """The TLS pair goes together, and every file of the connection ``options`` can be read."""
        if bool(self.params.get("tls_cert")) != bool(self.params.get("tls_key")):
            self.fail("tls_cert and tls_key go together")
        problems = missing_files(self.params, CONNECTION_FILE_OPTIONS + options)
        if problems:
            self.fail("; ".join(problems))

    # ---- process ----------------------------------------------------------------------------
    def find_pid(self) -> int | None:
        """The PID in the PID file, if that process is this sub-command."""
        return find_subcommand(self.pid_file, self.SUBCOMMAND)

    def running_pid(self) -> int | None:
        return self.find_pid()

    def wait_ready(self, pid: int, fresh: bool) -> dict[str, Any]:
        """Poll /debug/vars until :meth:`ready`; a fresh start that does not get there is stopped again."""

        def exited() -> str | None:
            code = self.process.poll() if self.process else None
            if code is not None:
                return "exited with code %d" % code
            return None if fresh or self.find_pid() else "exited"

        def fetch() -> dict[str, Any]:
            url = monitor_url(self.params, self.files)
            if url is None:
                raise MonitorError("no /debug/vars port yet")
            return self.debug_vars(url)

        ok, data, reason = poll(
            fetch, self.ready, self.params["wait_timeout"], interval=self.POLL_INTERVAL, abort=exited
        )
        if ok:
            return data
        tail = self.give_up(pid, 10) if fresh else log_tail(self.log_file)
        self.fail("%s; last lines of %s:\n%s" % (self.not_ready(reason, data, fresh, tail), self.log_file, tail))
        return {}

    def identity(self) -> str:
        return "choria-emulator %s %s" % (self.SUBCOMMAND, self.params.get("name"))

    def report(self, pid: int, data: dict[str, Any]) -> None:
        url = monitor_url(self.params, self.files)
        self.result.update(self.status(data, pid, url))
        self.write_record(pid, kind="choria-emulator " + self.SUBCOMMAND, monitor_url=url)

    def started(self, force_restart: bool) -> None:
        argv = self.command()
        self.result["command"] = argv
        pid = self.running_pid()
        current = running_args(pid, self.SUBCOMMAND) if pid else None
        if self.module._diff:
            self.result["diff"] = dict(before=" ".join(current) + "\n" if current else "", after=" ".join(argv) + "\n")
        if pid is not None and current == argv and not force_restart:
            self.report(pid, self.wait_ready(pid, fresh=False))
            return
        if self.predict_change(pid):
            return
        state_dir = self.params["state_dir"]
        try:
            os.makedirs(state_dir, exist_ok=True)
        except OSError as exc:
            self.fail("cannot create state_dir %s: %s" % (state_dir, to_native(exc)))
        if pid is not None:
            self.stop(pid)
        self.check_ports([("monitor", self.params["monitor_bind"], self.params["monitor_port"])])
        if self.params["check_servers"]:
            problems = unreachable(self.servers)
            if problems:
                self.fail("; ".join(problems))
        remove_file(self.files.port_file)
        new_pid = self.launch(argv, cwd=state_dir)
        self.report(new_pid, self.wait_ready(new_pid, fresh=True))
