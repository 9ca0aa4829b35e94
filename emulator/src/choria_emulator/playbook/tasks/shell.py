"""``shell``: a local command through ``/bin/sh`` (§2.3), its output logged line by line."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from typing import Any

from ..errors import describe
from .base import Task, TaskOutcome

KILL_GRACE = 2.0


class CommandTimeout(Exception):
    ruby_class = "Timeout::Error"


class ShellTask(Task):
    type_name = "shell"

    def from_hash(self, data: dict[str, Any]) -> ShellTask:
        self.cwd = data.get("cwd") or os.getcwd()
        self.timeout = data.get("timeout")
        self.nodes = data.get("nodes")
        self.environment = data.get("environment")
        command = data.get("command")
        if isinstance(self.nodes, list) and command:
            self.command = f"{command} --nodes {','.join(str(n) for n in self.nodes)}"
        else:
            self.command = command
        return self

    def validate_configuration(self) -> None:
        if not self.command:
            raise self.fail("A command was not given")
        if self.nodes is not None and not isinstance(self.nodes, list):
            raise self.fail("Nodes were given but is not an array")

    def run(self) -> TaskOutcome:
        if isinstance(self.nodes, list):
            self.log.info(f"Starting command {self.command} against {len(self.nodes)} nodes")
        else:
            self.log.info(f"Starting command {self.command}")
        output: list[str] = []
        try:
            code = self._execute(output)
        except Exception as exc:  # noqa: BLE001 - upstream reports any failure to start or finish this way
            msg = f"Could not run command {self.command}: {describe(exc)}"
            self.log.debug(msg)
            return False, msg, output
        if code == 0:
            self.log.info(f"Successfully ran command {self.command}")
            return True, "Command completed successfully", output
        self.log.warn(f"Failed to run command {self.command} with exit code {code}")
        return False, f"Command failed with code {code}", output

    def _execute(self, output: list[str]) -> int:
        env = dict(os.environ)
        env.update({str(k): str(v) for k, v in (self.environment or {}).items()})
        env["LC_ALL"] = "C"
        process = subprocess.Popen(  # noqa: S602 - the playbook gives a shell command line
            str(self.command),
            shell=True,
            cwd=str(self.cwd),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )

        def pump() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                output.append(line)
                self.log.info(line.rstrip("\n"))

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        timeout = int(self.timeout) if self.timeout else None
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal(process, signal.SIGTERM)
            try:
                process.wait(KILL_GRACE)
            except subprocess.TimeoutExpired:
                _signal(process, signal.SIGKILL)
                process.wait()
            reader.join(1)
            raise CommandTimeout(f"command did not finish within {timeout} seconds and was killed") from None
        reader.join()
        return code


def _signal(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
