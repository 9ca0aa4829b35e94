"""``shell``: a local command through ``/bin/sh`` (§2.3), its output logged line by line.

The task's data is the output as 0.6.0 collected it (mcollective's shell helper, systemu): the
whole stdout, then the whole stderr, in pieces of 8 KiB, nothing for an empty stream.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from typing import Any

from ..errors import describe
from .base import Task, TaskOutcome

KILL_GRACE = 2.0
CHUNK = 8192  # systemu appends output 8 KiB at a time


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
        streams: dict[str, list[str]] = {"stdout": [], "stderr": []}
        try:
            code = self._execute(streams)
        except Exception as exc:  # upstream reports any failure to start or finish this way
            msg = f"Could not run command {self.command}: {describe(exc)}"
            self.log.debug(msg)
            return False, msg, output_chunks(streams)
        output = output_chunks(streams)
        if code == 0:
            self.log.info(f"Successfully ran command {self.command}")
            return True, "Command completed successfully", output
        self.log.warn(f"Failed to run command {self.command} with exit code {code}")
        return False, f"Command failed with code {code}", output

    def _execute(self, streams: dict[str, list[str]]) -> int:
        env = dict(os.environ)
        env.update({str(k): str(v) for k, v in (self.environment or {}).items()})
        env["LC_ALL"] = "C"
        process = subprocess.Popen(  # the playbook gives a shell command line
            str(self.command),
            shell=True,
            cwd=str(self.cwd),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )

        def pump(stream: Any, into: list[str]) -> None:
            for line in stream:
                into.append(line)
                self.log.info(line.rstrip("\n"))

        readers = [
            threading.Thread(target=pump, args=(process.stdout, streams["stdout"]), daemon=True),
            threading.Thread(target=pump, args=(process.stderr, streams["stderr"]), daemon=True),
        ]
        for reader in readers:
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
            for reader in readers:
                reader.join(1)
            raise CommandTimeout(f"command did not finish within {timeout} seconds and was killed") from None
        for reader in readers:
            reader.join()
        return code


def output_chunks(streams: dict[str, list[str]]) -> list[str]:
    """stdout then stderr, each whole, in 8 KiB pieces (what 0.6.0's task data held)."""
    chunks: list[str] = []
    for name in ("stdout", "stderr"):
        text = "".join(streams[name])
        chunks += [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
    return chunks


def _signal(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
