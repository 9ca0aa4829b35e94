"""The real, unmodified Ruby Choria of ``../shared/real-choria``, driven from Python tests.

``client.sh`` runs the real ``mco`` (Debian mcollective 2.12.5 + mcollective-choria 0.19.0, or
0.6.0 for playbooks, + nats-pure 0.6.2) against any NATS URL; ``daemon.sh`` runs one real
``mcollectived``. This module wraps both: :func:`mco` returns the exit status, the output and
the parsed ``--json``; :class:`RealDaemon` starts a daemon with facts and classes and returns
once the broker shows its ten subscriptions, and stops it by PID. The harness folder may be
read-only; its writable state (test PKI, venv) is ``$REAL_CHORIA_STATE`` (default
``/var/tmp/real-choria``), created by ``setup.sh`` (the ``test-interop`` tier runs it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import yaml

REPO = Path(__file__).resolve().parents[2]
HARNESS = Path(os.environ.get("REAL_CHORIA") or REPO.parent / "shared" / "real-choria").resolve()
STATE = Path(os.environ.get("REAL_CHORIA_STATE") or "/var/tmp/real-choria")
SSL = STATE / "ssl"
CALLER = "rip.mcollective"  # the identity and certname client.sh always uses
COLLECTIVES = ("mcollective", "collective1")  # what client.sh and daemon.sh configure
T = TypeVar("T")


class HarnessMissing(RuntimeError):
    pass


def check_harness() -> None:
    """Fail loudly (never skip) when the harness or its state is not there."""
    missing = [str(p) for p in (HARNESS / "client.sh", HARNESS / "daemon.sh", SSL / "ca.pem") if not p.exists()]
    if missing:
        raise HarnessMissing(
            f"the real Choria harness is incomplete ({', '.join(missing)} missing): "
            f"run `bash {HARNESS}/setup.sh` (make test-interop does)"
        )


def ssl_file(name: str) -> str:
    """A file of the harness PKI (``ca.pem``, ``nats.pem``, ``real-0.key``, ...)."""
    return str(SSL / name)


def make_cert(name: str, state: Path | None = None) -> tuple[str, str]:
    """``certs.sh NAME`` in ``state`` (default the harness state): a cert of that PKI's CA, made once."""
    env = dict(os.environ, REAL_CHORIA_STATE=str(state or STATE))
    subprocess.run(["bash", str(HARNESS / "certs.sh"), name], check=True, env=env, capture_output=True, timeout=60)
    ssl = (state or STATE) / "ssl"
    return str(ssl / f"{name}.pem"), str(ssl / f"{name}.key")


# ---- the real mco ------------------------------------------------------------------------------


@dataclass
class McoResult:
    args: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        """The ``--json`` output (a list of replies for ``mco rpc``)."""
        try:
            return json.loads(self.stdout)
        except ValueError as exc:
            raise AssertionError(f"mco {' '.join(self.args)}: stdout is not JSON ({exc}): {self}") from None

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.strip()]

    def __str__(self) -> str:
        return f"rc={self.rc}\n--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-4000:]}"


_NOISE = ("Disabling TLS in NATS connector",)


def mco(
    url: str,
    *args: str,
    tls: bool = False,
    insecure: bool = False,
    extra_cfg: tuple[str, ...] | list[str] = (),
    state: Path | None = None,
    version: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300.0,
) -> McoResult:
    """Run the real ``mco ARGS`` via ``client.sh URL`` and wait for it.

    ``tls``: TLS to the broker with the client certificate (``MCO_TLS=1``); ``insecure``:
    unsigned requests (``MCO_INSECURE=1``); ``extra_cfg``: config lines (``direct_addressing = 0``);
    ``state``: another ``REAL_CHORIA_STATE`` (another PKI: its ``ssl/rip.mcollective.*`` sign);
    ``version``: ``0.6.0`` for the old plugin (playbooks). The plugin's plain-NATS warning is
    dropped from stderr.
    """
    run_env = dict(os.environ)
    run_env.pop("MCO_TLS", None)
    run_env.pop("MCO_INSECURE", None)
    run_env.update(env or {})
    if tls:
        run_env["MCO_TLS"] = "1"
    if insecure:
        run_env["MCO_INSECURE"] = "1"
    if extra_cfg:
        run_env["MCO_EXTRA_CFG"] = "\n".join(extra_cfg)
    if state is not None:
        run_env["REAL_CHORIA_STATE"] = str(state)
    if version:
        run_env["CHORIA_VERSION"] = version
    proc = subprocess.run(
        ["bash", str(HARNESS / "client.sh"), url, *args],
        capture_output=True,
        text=True,
        env=run_env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    stderr = "\n".join(line for line in proc.stderr.splitlines() if not any(n in line for n in _NOISE))
    return McoResult(tuple(args), proc.returncode, proc.stdout, stderr)


def concurrently(calls: dict[str, Callable[[], T]], workers: int = 8) -> dict[str, T]:
    """Run independent calls (mostly ``mco`` runs, which sit out discovery timeouts) side by side."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


# ---- the real mcollectived ------------------------------------------------------------------------


def broker_subscriptions(monitor: str, name: str) -> list[str] | None:
    """The subscriptions of the broker connection named ``name`` (None when there is none)."""
    with urllib.request.urlopen(f"{monitor}/connz?subs=1&limit=100000", timeout=5) as response:
        data = json.loads(response.read())
    for conn in data.get("connections", []):
        if conn.get("name") == name:
            return conn.get("subscriptions_list") or []
    return None


DAEMON_SUBSCRIPTIONS = 10  # {mcollective,collective1} x {node.<id>, discovery, rpcutil, choria_util, bolt_tasks}
RUBY = Path(__file__).parent / "ruby"  # a real Ruby emulated0 agent


@dataclass
class RealDaemon:
    """One real ``mcollectived`` (``daemon.sh``) in its own session, with a log file."""

    identity: str
    process: subprocess.Popen
    workdir: Path
    facts: dict[str, Any] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        url: str,
        monitor: str,
        identity: str,
        workdir: Path,
        *,
        facts: dict[str, Any] | None = None,
        classes: list[str] | None = None,
        tls: bool = False,
        insecure: bool = False,
        emulated0: bool = False,
        timeout: float = 60.0,
    ) -> RealDaemon:
        """Start and wait until the broker shows all its subscriptions (it answers from then on).

        ``emulated0``: also load a real Ruby ``emulated0`` agent (``ruby/``, with the harness's DDL),
        so the daemon can take part in ``choria-emulator measure`` suites.
        """
        workdir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, MCO_WORK=str(workdir))
        env.pop("MCO_TLS", None)
        env.pop("MCO_INSECURE", None)
        if facts:
            (workdir / "facts.yaml").write_text(yaml.safe_dump(facts))
            env["MCO_FACTS"] = str(workdir / "facts.yaml")
        if classes:
            (workdir / "classes.txt").write_text("".join(f"{c}\n" for c in classes))
            env["MCO_CLASSES"] = str(workdir / "classes.txt")
        if tls:
            env["MCO_TLS"] = "1"
        if insecure:
            env["MCO_INSECURE"] = "1"
        expected = DAEMON_SUBSCRIPTIONS
        if emulated0:
            # mcollective's libdir is $LOAD_PATH itself: -I adds the agent and the harness's DDLs
            env["RUBYOPT"] = f"{env.get('RUBYOPT', '')} -I{RUBY} -I{HARNESS / 'plugins'}".strip()
            expected += len(COLLECTIVES)
        log = workdir / "mcollectived.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                ["bash", str(HARNESS / "daemon.sh"), url, identity],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        daemon = cls(identity, process, workdir, dict(facts or {}), list(classes or []))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"mcollectived {identity} exited with {process.returncode}: {daemon.log()[-3000:]}")
            subs = broker_subscriptions(monitor, identity)
            if subs is not None and len(subs) >= expected:
                return daemon
            time.sleep(0.2)
        daemon.stop()
        raise RuntimeError(f"mcollectived {identity} did not subscribe within {timeout} s: {daemon.log()[-3000:]}")

    def log(self) -> str:
        path = self.workdir / "mcollectived.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


# ---- another PKI, for the refusal tests -----------------------------------------------------------


def foreign_state(directory: Path) -> Path:
    """A ``REAL_CHORIA_STATE`` with its own CA and a ``rip.mcollective`` cert of it: the real
    client signs properly, with a certificate the harness CA never issued."""
    make_cert(CALLER, directory)
    return directory


def impostor_state(directory: Path, certname: str = "mallory.mcollective") -> Path:
    """A ``REAL_CHORIA_STATE`` whose ``rip.mcollective`` files hold the harness CA's valid cert for
    ``certname``: the client sends callerid ``choria=rip.mcollective`` signed by someone else."""
    cert, key = make_cert(certname)
    ssl = directory / "ssl"
    ssl.mkdir(parents=True, exist_ok=True)
    shutil.copy(SSL / "ca.pem", ssl / "ca.pem")
    shutil.copy(cert, ssl / f"{CALLER}.pem")
    shutil.copy(key, ssl / f"{CALLER}.key")
    return directory
