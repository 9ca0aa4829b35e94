# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What every module that runs a long-lived process on the target shares.

``state: started|stopped|restarted``, a result that always says ``running`` and ``pid``, failures
that keep that result, starting detached with a PID file, refusing taken ports, stopping by PID
with the process group, and forgetting the PID (and port) files of a process that is gone.

Stop remembers: every start writes a state file beside the PID file (``<base>.state.json``: PID,
command line, ports, files). ``stopped`` without the options that pick one process stops exactly
what those files record; with options that match nothing that ever ran here (no log or configuration
file either) while recorded processes still run, it fails naming them instead of reporting ok; and it
never reports ok while a stopped process runs.
A module subclasses :class:`DaemonModule` with how to find its process and how to start it
(``emulator_command.py`` does so once for every ``choria-emulator`` sub-command).
"""

from __future__ import annotations

import glob
import json
import os
import resource
import subprocess
import time
from collections.abc import Iterable, Sequence
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.chorialab.choria.plugins.module_utils.processes import (
    ProcessError,
    cmdline,
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


def record_file(pid_file: str) -> str:
    """The state file of the process behind ``pid_file``: ``<base>.state.json`` beside it."""
    base = pid_file[:-4] if pid_file.endswith(".pid") else pid_file
    return base + ".state.json"


def read_records(pattern: str) -> list[dict[str, Any]]:
    """The readable state files matching ``pattern``, each with its own path as ``record``."""
    records = []
    for path in sorted(glob.glob(pattern)):
        try:
            with open(path) as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("pid"), int):
            data["record"] = path
            records.append(data)
    return records


def record_runs(record: dict[str, Any]) -> bool:
    """The recorded process still runs: same PID, same command line (not a reused PID)."""
    pid = record["pid"]
    return is_running(pid) and (not record.get("argv") or cmdline(pid) == record["argv"])


def daemon_argument_spec(**options: dict[str, Any]) -> dict[str, Any]:
    """The options every :class:`DaemonModule` takes (documented per module), plus ``options``."""
    spec: dict[str, Any] = dict(
        state=dict(type="str", choices=STATES, default="started"),
        venv=dict(type="path", default="/opt/choria-emulator"),
        pid_file=dict(type="path"),
        log_file=dict(type="path"),
        stop_timeout=dict(type="float", default=30),
        open_files=dict(type="int"),
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
        self.record_file = record_file(pid_file)
        self.state_files = (pid_file, self.record_file) + tuple(other_files)
        # Set by a subclass: the state files of every process of its kind in the same directory, and
        # whether the options given pick one process (else ``stopped`` stops what the files record).
        self.records_pattern: str | None = None
        self.identified = True
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

    def apply_open_files(self) -> None:
        """Give the process to start ``open_files`` as soft and hard limit (this module exits right after)."""
        wanted = self.params.get("open_files") or 0
        if wanted <= 0:
            return
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))  # both, as LimitNOFILE= does
        except (OSError, ValueError) as exc:
            capped = min(wanted, hard)
            self.module.warn(
                "open_files: cannot raise the open-files limit to %d (%s; raising the hard limit %d needs root): "
                "starting with %d" % (wanted, exc, hard, capped)
            )
            if capped > soft:
                resource.setrlimit(resource.RLIMIT_NOFILE, (capped, hard))
        self.result["open_files"] = resource.getrlimit(resource.RLIMIT_NOFILE)[0]

    def launch(self, argv: Sequence[str], cwd: str) -> int:
        """Start ``argv`` detached with its output in the log file, and record its PID."""
        self.apply_open_files()
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

    def identity(self) -> str:
        """How this process is told apart from others of its kind, for messages (e.g. ``port 4222``)."""
        return self.pid_file

    def known(self) -> bool:
        """Whether this process ever ran here: its files (log, configuration) outlive it, so stopping
        it again is an idempotent ok, while options that never matched anything are an error."""
        paths = (self.pid_file, self.record_file, self.log_file, self.result.get("config_file"))
        return any(path and os.path.exists(path) for path in paths)

    def write_record(self, pid: int, **details: Any) -> None:
        """Remember what was started, for a later ``stopped`` (never in check mode)."""
        if self.module.check_mode:
            return
        data = dict(pid=pid, argv=cmdline(pid), identity=self.identity(), files=list(self.state_files), **details)
        data.setdefault("recorded_at", time.time())
        try:
            with open(self.record_file + ".tmp", "w") as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
            os.rename(self.record_file + ".tmp", self.record_file)
        except OSError as exc:
            self.module.warn("cannot write %s: %s" % (self.record_file, exc))

    def running_records(self) -> list[dict[str, Any]]:
        """Recorded processes of this kind that still run; the files of those that are gone are removed."""
        running = []
        for record in read_records(self.records_pattern) if self.records_pattern else []:
            if record_runs(record):
                running.append(record)
            elif not self.module.check_mode:
                remove_file(record["record"])
        return running

    def stop_recorded(self) -> None:
        """``stopped`` without options that pick one process: stop exactly what the state files record."""
        records = self.running_records()
        if not records:
            pid = self.running_pid()  # started before state files existed, or by hand with the default files
            if pid is not None:
                self.result["changed"] = True
                if not self.module.check_mode:
                    self.stop(pid)
            elif not self.module.check_mode:
                self.forget()
            return
        self.result["changed"] = True
        self.result["stopped_records"] = [record.get("identity") for record in records]
        if self.module._diff:
            before = "".join("%s running (pid %d)\n" % (r.get("identity"), r["pid"]) for r in records)
            self.result["diff"] = dict(before=before, after="stopped\n")
        if self.module.check_mode:
            return
        for record in records:
            try:
                self.result["stopped"] = stop_process(record["pid"], self.params["stop_timeout"])
            except ProcessError as exc:
                self.fail(str(exc))
            if is_running(record["pid"]):
                self.fail("%s (pid %d) still runs after stopping it" % (record.get("identity"), record["pid"]))
            for path in record.get("files") or [record["record"]]:
                remove_file(path)
            remove_file(record["record"])

    def stop(self, pid: int) -> None:
        try:
            self.result["stopped"] = stop_process(pid, self.params["stop_timeout"])
        except ProcessError as exc:
            self.fail(str(exc))
        if is_running(pid):
            self.fail("%s (pid %d) still runs after stopping it" % (self.identity(), pid))
        self.forget()

    def stopped(self) -> None:
        if not self.identified:
            self.stop_recorded()
            return
        pid = self.running_pid()
        if pid is None:
            others = [record for record in self.running_records() if record["record"] != self.record_file]
            if others and not self.known():
                self.fail(
                    "nothing runs as %s, but %s still run%s (recorded in %s); stop %s without naming one, "
                    "or name what runs"
                    % (
                        self.identity(),
                        ", ".join("%s (pid %d)" % (r.get("identity"), r["pid"]) for r in others),
                        "s" if len(others) == 1 else "",
                        os.path.dirname(others[0]["record"]),
                        "them" if len(others) > 1 else "it",
                    )
                )
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
