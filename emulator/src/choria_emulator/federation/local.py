"""Start ``choria-emulator federation`` as a real process on this machine (tests, demos, benchmarks).

Like :class:`choria_emulator.localnet.Emulator`: the broker listens for ``/debug/vars`` on a
free port, and :meth:`LocalBroker.start` returns once both sides are connected.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..localnet import LocalNetError, _stop, http_json


@dataclass
class LocalBroker:
    process: subprocess.Popen
    http: str
    workdir: Path
    name: str

    @classmethod
    def start(
        cls,
        name: str,
        federation_servers: list[str],
        collective_servers: list[str],
        *extra: str,
        workdir: str | Path | None = None,
        timeout: float = 30.0,
    ) -> LocalBroker:
        """``collective_servers``: one entry per collective network (a comma list is a pool)."""
        workdir = Path(workdir or tempfile.mkdtemp(prefix="federation-"))
        workdir.mkdir(parents=True, exist_ok=True)
        port_file = workdir / "http.port"
        port_file.unlink(missing_ok=True)
        command = [sys.executable, "-m", "choria_emulator", "federation", "--name", name, "--http-port", "0", "--port-file", str(port_file)]
        for server in federation_servers:
            command += ["--federation-server", server]
        for server in collective_servers:
            command += ["--collective-server", server]
        command += list(extra)
        log = open(workdir / "federation.log", "ab")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise LocalNetError(f"federation broker exited with {process.returncode}: {(workdir / 'federation.log').read_text()[-3000:]}")
            if port_file.exists() and port_file.read_text().strip():
                broker = cls(process, f"http://127.0.0.1:{port_file.read_text().strip()}", workdir, name)
                try:
                    if broker.debug_vars()["connected"]:
                        return broker
                except (OSError, urllib.error.URLError, ValueError, KeyError):
                    pass
            time.sleep(0.05)
        _stop(process, 10)
        raise LocalNetError(f"federation broker {name} did not connect within {timeout} s: {(workdir / 'federation.log').read_text()[-3000:]}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def debug_vars(self) -> dict[str, Any]:
        return http_json(f"{self.http}/debug/vars")

    def metrics(self) -> str:
        with urllib.request.urlopen(f"{self.http}/metrics", timeout=2) as response:  # noqa: S310 - local URL
            return response.read().decode()

    def log(self) -> str:
        return (self.workdir / "federation.log").read_text()

    def stop(self, timeout: float = 10.0) -> int | None:
        return _stop(self.process, timeout)
