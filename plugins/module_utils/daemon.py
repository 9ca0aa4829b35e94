# -*- coding: utf-8 -*-
# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What every module that runs a long-lived process on the target shares.

``state: started|stopped|restarted``, a result that always says ``running`` and ``pid``, failures
that keep that result, stopping by PID with the process group, and forgetting the PID (and port)
files of a process that is gone. A module subclasses :class:`DaemonModule` with how to find its
process and how to start it.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.chorialab.choria.plugins.module_utils.processes import ProcessError, remove_file, stop_process

STATES = ["started", "stopped", "restarted"]


class DaemonModule:
    """One process on the target; subclasses implement :meth:`running_pid` and :meth:`started`."""

    def __init__(self, module: AnsibleModule, state_files: Sequence[str], **result: Any):
        self.module = module
        self.params = module.params
        self.state_files = tuple(state_files)
        self.result: Dict[str, Any] = dict(changed=False, restarted=False, running=False, pid=None, **result)

    def fail(self, msg: str) -> None:
        self.module.fail_json(msg=msg, **self.result)

    def running_pid(self) -> Optional[int]:
        raise NotImplementedError

    def started(self, force_restart: bool) -> None:
        raise NotImplementedError

    def predict_change(self, pid: Optional[int]) -> bool:
        """Record a coming (re)start; True in check mode, where nothing more may happen."""
        self.result.update(changed=True, restarted=pid is not None)
        if self.module.check_mode:
            self.result.update(running=pid is not None, pid=pid)
        return self.module.check_mode

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
