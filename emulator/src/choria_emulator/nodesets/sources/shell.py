"""``type: shell``: a command printing one node per line (upstream ``ShellNodes``).

Run through ``/bin/sh -c`` like Ruby does for command strings, with a 10 s timeout. Upstream
checks ``File.executable?`` on the whole ``script`` string, so a script with arguments always
failed; we check the command word instead (a path, or a name found on ``PATH``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess

from ..context import Discovered
from ..errors import check_hostnames
from .base import Source

DEFAULT_TIMEOUT = 10.0
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
BUILTINS = frozenset(
    {
        "echo",
        "printf",
        "true",
        "false",
        "test",
        "[",
        "exec",
        "eval",
        "set",
        "for",
        "if",
        "while",
        "case",
        "{",
        "(",
        ".",
        ":",
        "cd",
        "export",
        "read",
    }
)


class ShellSource(Source):
    type = "shell"
    options = frozenset({"script", "timeout"})

    def configure(self) -> None:
        script = self.opts.string("script")
        if not script or not script.strip():
            raise self.error("No node source script specified")
        self.script = script
        self.timeout = self.opts.number("timeout", DEFAULT_TIMEOUT)
        self.cwd = self.ctx.base_dir
        try:
            words = shlex.split(script)
        except ValueError as exc:
            raise self.error(f"Node source script {script!r} cannot be parsed: {exc}") from None
        words = [w for w in words if not ASSIGNMENT.match(w)] or words  # FOO=1 ./nodes.sh
        command = words[0] if words else script
        if "/" in command:
            path = self.path(command)
            if not path.exists():
                raise self.error(f"Node source script {command} was not found")
            if path.is_dir() or not os.access(path, os.X_OK):
                raise self.error("Node source script is not executable")
        elif shutil.which(command) is None and command not in BUILTINS:
            local = self.path(command)
            if local.is_file() and not os.access(local, os.X_OK):
                raise self.error("Node source script is not executable")
            hint = f" (to run the file {local}, write ./{command})" if local.is_file() else ""
            raise self.error(f"Node source script {command} was not found on PATH{hint}")

    def discover(self) -> Discovered:
        done = run_command(self.script, cwd=self.cwd, timeout=self.timeout, shell=True)
        if done is None:
            raise self.error(f"Node source script did not finish within {self.timeout:g} seconds")
        if isinstance(done, OSError):
            raise self.error(f"Node source script could not be started: {done}")
        if done.returncode != 0:
            stderr = " ".join(done.stderr.split())
            detail = f": {stderr[:500]}" if stderr else ""
            raise self.error(
                f"Could not discover nodes via shell method, command exited with code {done.returncode}{detail}"
            )
        nodes = [line.strip() for line in done.stdout.splitlines() if line.strip()]
        if not nodes and not self.empty_handled:
            raise self.error("Node source script produced no results")
        return Discovered(check_hostnames(self.name, nodes))


def run_command(
    command: str | list[str],
    *,
    timeout: float,
    cwd: str | os.PathLike | None = None,
    shell: bool = False,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess | OSError | None:
    """Run a node source command; None when it timed out (its whole process group is killed, so a
    script's children do not linger), the OSError when it could not start."""
    try:
        process = subprocess.Popen(
            command,
            shell=shell,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    except OSError as exc:
        return exc
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.communicate()
        return None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
