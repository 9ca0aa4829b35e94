# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What every module that runs a long-lived process on the target shares.

``state: started|stopped|restarted``, a result that always says ``running`` and ``pid``, failures
that keep that result, starting detached with a PID file, refusing taken ports, stopping by PID
with the process group, and forgetting the PID (and port) files of a process that is gone.
A module subclasses :class:`DaemonModule` with how to find its process and how to start it
(``emulator_command.py`` does so once for every ``choria-emulator`` sub-command).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.chorialab.choria.plugins.module_utils.processes import (
    ProcessError,
    describe_port_conflict,
    is_running,
    log_tail,
    port_in_use,
    remove_file,
    start_detached,
    stop_process,
    write_pid_file,
)

STATES = ["started", "stopped", "restarted"]


def daemon_argument_spec(**options: dict[str, Any]) -> dict[str, Any]:
    """The options every :class:`DaemonModule` takes (documented per module), plus ``options``."""
    spec: dict[str, Any] = dict(
        state=dict(type="str", choices=STATES, default="started"),
        venv=dict(type="path", default="/opt/choria-emulator"),
        pid_file=dict(type="path"),
        log_file=dict(type="path"),
        stop_timeout=dict(type="float", default=30),
    )
    spec.update(options)
    return spec


class DaemonModule:
    """One process on the target; subclasses implement :meth:`running_pid` and :meth:`started`."""

    def __init__(
        self, module: AnsibleModule, pid_file: str, log_file: str, other_files: Sequence[str] = (), **result: Any
    ):
        self.module = module
        self.params = module.params
        self.pid_file = pid_file
        self.log_file = log_file
        self.state_files = (pid_file,) + tuple(other_files)
        self.process: subprocess.Popen | None = None
        self.result: dict[str, Any] = dict(
            changed=False, restarted=False, running=False, pid=None, pid_file=pid_file, log_file=log_file, **result
        )

    def fail(self, msg: str) -> None:
        self.module.fail_json(msg=msg, **self.result)

    def running_pid(self) -> int | None:
        raise NotImplementedError

    def started(self, force_restart: bool) -> None:
        raise NotImplementedError

    def predict_change(self, pid: int | None) -> bool:
        """Record a coming (re)start; True in check mode, where nothing more may happen."""
        self.result.update(changed=True, restarted=pid is not None)
        if self.module.check_mode:
            self.result.update(running=pid is not None, pid=pid)
        return self.module.check_mode

    def check_ports(self, listeners: Iterable[tuple[str, str, int]]) -> None:
        """Fail naming the owner of a ``(what, host, port)`` that is taken; 0 and -1 ask for a free port."""
        for what, host, port in listeners:
            if port_in_use(host, port):
                self.fail(describe_port_conflict(host, port, what))

    def launch(self, argv: Sequence[str], cwd: str) -> int:
        """Start ``argv`` detached with its output in the log file, and record its PID."""
        try:
            self.process = start_detached(argv, self.log_file, cwd=cwd)
        except ProcessError as exc:
            self.fail(str(exc))
        write_pid_file(self.pid_file, self.process.pid)
        return self.process.pid

    def give_up(self, pid: int, stop_timeout: float) -> str:
        """Stop a fresh process that did not become ready and forget it; its log's tail says why."""
        tail = log_tail(self.log_file)
        if is_running(pid):
            stop_process(pid, stop_timeout)
        self.forget()
        return tail

    def forget(self) -> None:
        """Remove the PID and port files of a process that is no longer running."""
        for path in self.state_files:
            remove_file(path)

    def stop(self, pid: int) -> None:
        try:
            self.result["stopped"] = stop_process(pid, self.params["stop_timeout"])
        except ProcessError as exc:
            self.fail(str(exc))
        self.forget()

    def stopped(self) -> None:
        pid = self.running_pid()
        if pid is None:
            if not self.module.check_mode:
                self.forget()  # stale files of a process that is gone
            return
        self.result["changed"] = True
        if self.module._diff:
            self.result["diff"] = dict(before="running (pid %d)\n" % pid, after="stopped\n")
        if self.module.check_mode:
            self.result.update(running=True, pid=pid)
            return
        self.stop(pid)

    def run(self) -> None:
        """Bring the process to ``state`` and exit with the result."""
        state = self.params["state"]
        if state == "stopped":
            self.stopped()
        else:
            self.started(force_restart=state == "restarted")
        self.module.exit_json(**self.result)
