"""``shell``: a command that implements ``--read``, ``--write`` and ``--delete`` (§1.5).

The key travels in ``CHORIA_DATA_KEY`` (only the action is an argument: the docs were wrong),
the value of a write in ``CHORIA_DATA_VALUE``. As in 0.6.0 the store's own configuration checks
are not run before use; :meth:`validate_configuration` exists for ``playbook validate``.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from typing import Any

from ..errors import DataStoreError
from .base import DataStore, as_text

KEY = re.compile(r"^[a-zA-Z0-9_-]+$")


class ShellStore(DataStore):
    type_name = "Shell"

    def from_hash(self, properties: dict[str, Any]) -> ShellStore:
        super().from_hash(properties)
        self.command = properties.get("command")
        self.timeout = properties.get("timeout", 10)
        self.environment = properties.get("environment") or {}
        self.cwd = properties.get("cwd")
        return self

    def validate_configuration(self) -> None:
        if not self.command:
            raise DataStoreError("A command is required")
        if not (os.path.isfile(str(self.command)) and os.access(str(self.command), os.X_OK)):
            raise DataStoreError(f"Command {self.command} is not executable")
        if str(self.timeout).strip() != str(_int_or_none(self.timeout)):
            raise DataStoreError("Timeout should be an integer")
        if not isinstance(self.environment, dict):
            raise DataStoreError("Environment should be a hash")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in self.environment.items()):
            raise DataStoreError("All keys and values in the environment must be strings")
        if self.cwd:
            if not os.path.exists(self.cwd):
                raise DataStoreError(f"cwd {self.cwd} does not exist")
            if not os.path.isdir(self.cwd):
                raise DataStoreError(f"cwd {self.cwd} is not a directory")

    def run(self, action: str, key: str, extra: dict[str, str] | None = None) -> str:
        if not KEY.match(key):
            raise DataStoreError("Valid keys must match ^[a-zA-Z0-9_-]+$")
        command = f"{self.command} --{action}"
        env = {**os.environ, **{str(k): str(v) for k, v in dict(self.environment).items()}, **(extra or {})}
        env.update({"CHORIA_DATA_KEY": key, "CHORIA_DATA_ACTION": action, "LC_ALL": "C"})
        timeout = int(self.timeout)
        try:
            done = subprocess.run(  # a shell command line is the documented interface
                command,
                shell=True,
                env=env,
                cwd=self.cwd or tempfile.gettempdir(),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DataStoreError(f"Could not {action} key {key}, command timed out after {timeout} seconds") from None
        except OSError as exc:
            raise DataStoreError(f"Could not {action} key {key}: {exc}") from None
        if done.returncode != 0:
            self.warn(f"While running command {command}: {done.stderr.strip()}")
            raise DataStoreError(f"Could not {action} key {key}, got exitcode {done.returncode}")
        return done.stdout

    def read(self, key: str) -> Any:
        out = self.run("read", key)
        return out[:-1] if out.endswith("\n") else out

    def write(self, key: str, value: Any) -> Any:
        self.run("write", key, {"CHORIA_DATA_VALUE": as_text(value)})
        return None

    def delete(self, key: str) -> None:
        self.run("delete", key)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None
