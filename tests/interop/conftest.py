"""Session fixtures of the interop tier: brokers, emulated networks, real daemons, the real mco.

Everything is real: nats-server on random ports (plain, and TLS with the harness PKI's
``nats`` certificate and ``--tlsverify``), ``choria-emulator emulate`` processes, Ruby
``mcollectived`` processes (``daemon.sh``) and the Ruby ``mco`` (``client.sh``) from
``../shared/real-choria``. Fixtures are session-scoped and shared with ``tests/interop/playbooks``:

* ``broker`` / ``tls_broker`` — shared :class:`~choria_emulator.testing.localnet.NatsServer` (``.url``, ``.monitor``);
  ``brokers.start(tls=...)`` — one of a test's own (networks on one broker all answer a broadcast)
* ``emulators.start(broker, instances, name=..., secure=..., tls=..., facts=...)`` — an emulated network
* ``network`` — the plain-broker, insecure network of :data:`NETWORK_SIZE` nodes ``emu-*`` with
  :data:`INTEROP_FACTS`
* ``daemons.start(broker, identity, facts=..., classes=..., tls=..., insecure=...)`` — a real ``mcollectived``
* ``mco(url, *args, tls=..., insecure=..., extra_cfg=..., version=...)`` — the real ``mco``, a :class:`McoResult`

Nothing skips: a missing harness is an error that says how to install it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from realchoria import COLLECTIVES, RealDaemon, check_harness, ssl_file
from realchoria import mco as run_mco

from choria_emulator.testing.localnet import Emulator, NatsServer

# The emulated nodes' facts: index % 3 gives role web, web, db (classes webserver, webserver,
# database, as run-demo.sh gives node1..node3); country alternates mt/de; cpus cycles 2, 4, 8, 16.
INTEROP_FACTS: dict[str, Any] = {
    "facts": {"os": {"family": "Debian", "release": {"major": "12"}}, "rack": "r{index}"},
    "vary": {"role": ["web", "web", "db"], "country": ["mt", "de"], "cpus": [2, 4, 8, 16]},
    "classes": ["base"],
    "vary_classes": [["webserver"], ["webserver"], ["database"]],
}
NETWORK_SIZE = 12
AGENTS = 2  # emulated0, emulated1 (client.sh has DDLs for emulated0..9)


def emulated_facts(index: int) -> dict[str, Any]:
    """The facts :data:`INTEROP_FACTS` gives instance ``index`` (for expectations and real daemons)."""
    vary = INTEROP_FACTS["vary"]
    facts = {
        "os": {"family": "Debian", "release": {"major": "12"}},
        "rack": f"r{index}",
        **{key: values[index % len(values)] for key, values in vary.items()},
    }
    return facts


def emulated_classes(index: int) -> list[str]:
    return ["base", *INTEROP_FACTS["vary_classes"][index % 3]]


@dataclass
class EmulatedNetwork:
    """A running ``emulate`` process and what it was asked to be."""

    emulator: Emulator
    broker: NatsServer
    name: str
    instances: int
    secure: bool
    tls: bool
    collectives: tuple[str, ...] = COLLECTIVES

    @property
    def identities(self) -> list[str]:
        return [f"{self.name}-{i}" for i in range(self.instances)]

    def identities_where(self, test: Any) -> set[str]:
        """The identities whose (facts, classes) pass ``test``."""
        return {f"{self.name}-{i}" for i in range(self.instances) if test(emulated_facts(i), emulated_classes(i))}

    def counters(self) -> dict[str, int]:
        return self.emulator.debug_vars()["counters"]

    def stop(self) -> None:
        """Stop it early (networks on a shared broker answer every request they match)."""
        self.emulator.stop()


@dataclass
class EmulatorFactory:
    workdir: Path
    started: list[EmulatedNetwork] = field(default_factory=list)

    def start(
        self,
        broker: NatsServer,
        instances: int,
        *,
        name: str = "emu",
        secure: bool = False,
        tls: bool = False,
        facts: dict[str, Any] | None = INTEROP_FACTS,
        agents: int = AGENTS,
        extra: tuple[str, ...] = (),
    ) -> EmulatedNetwork:
        """``choria-emulator emulate`` on ``broker``: ``secure`` verifies requests with the harness CA,
        ``tls`` connects with a harness certificate (the TLS broker verifies clients)."""
        workdir = self.workdir / f"{name}-{len(self.started)}"
        workdir.mkdir(parents=True)
        args = ["--agents", str(agents), "--collectives", str(len(COLLECTIVES)), "--workers", "1", *extra]
        if facts is not None:
            (workdir / "facts.yaml").write_text(yaml.safe_dump(facts))
            args += ["--facts", str(workdir / "facts.yaml")]
        if secure:
            args += ["--secure", "--ca", ssl_file("ca.pem")]
        if tls:
            args += ["--tls", "--verify", "--tls-ca", ssl_file("ca.pem")]
            args += ["--tls-cert", ssl_file("real-0.pem"), "--tls-key", ssl_file("real-0.key")]
        server = broker.url.split("://", 1)[-1]
        emulator = Emulator.start(server, instances, *args, name=name, workdir=workdir)
        network = EmulatedNetwork(emulator, broker, name, instances, secure, tls)
        self.started.append(network)
        return network

    def stop_all(self) -> None:
        for network in self.started:
            network.emulator.stop()


@dataclass
class DaemonFactory:
    workdir: Path
    started: list[RealDaemon] = field(default_factory=list)

    def start(
        self,
        broker: NatsServer,
        identity: str,
        *,
        facts: dict[str, Any] | None = None,
        classes: list[str] | None = None,
        tls: bool = False,
        insecure: bool = False,
        emulated0: bool = False,
    ) -> RealDaemon:
        """A real ``mcollectived`` on ``broker``; returns once it is subscribed (``emulated0``: with
        a Ruby ``emulated0`` agent, see :meth:`RealDaemon.start`)."""
        daemon = RealDaemon.start(
            broker.url,
            broker.monitor,
            identity,
            self.workdir / f"{identity}-{len(self.started)}",
            facts=facts,
            classes=classes,
            tls=tls,
            insecure=insecure,
            emulated0=emulated0,
        )
        self.started.append(daemon)
        return daemon

    def stop_all(self) -> None:
        for daemon in self.started:
            daemon.stop()


@pytest.fixture(scope="session")
def harness() -> None:
    check_harness()


@dataclass
class BrokerFactory:
    """nats-servers on random ports: plain, or TLS with client verification by the harness CA
    (run-demo.sh's ``MCO_TLS=1`` broker: ``nats.pem``, ``--tlsverify``)."""

    workdir: Path
    started: list[NatsServer] = field(default_factory=list)

    def start(self, tls: bool = False) -> NatsServer:
        args: list[str] = []
        if tls:
            args = ["--tls", "--tlscert", ssl_file("nats.pem"), "--tlskey", ssl_file("nats.key")]
            args += ["--tlsverify", "--tlscacert", ssl_file("ca.pem")]
        server = NatsServer.start(*args, workdir=self.workdir / f"broker-{len(self.started)}")
        self.started.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


@pytest.fixture(scope="session")
def brokers(harness, tmp_path_factory: pytest.TempPathFactory):
    """Start brokers of a test's own (every network on a broker answers what it matches)."""
    factory = BrokerFactory(tmp_path_factory.mktemp("brokers"))
    yield factory
    factory.stop_all()


@pytest.fixture(scope="session")
def broker(brokers: BrokerFactory) -> NatsServer:
    """The shared plain broker of :func:`network`."""
    return brokers.start()


@pytest.fixture(scope="session")
def tls_broker(brokers: BrokerFactory) -> NatsServer:
    """The shared TLS broker."""
    return brokers.start(tls=True)


@pytest.fixture(scope="session")
def emulators(harness, tmp_path_factory: pytest.TempPathFactory):
    factory = EmulatorFactory(tmp_path_factory.mktemp("emulators"))
    yield factory
    factory.stop_all()


@pytest.fixture(scope="session")
def daemons(harness, tmp_path_factory: pytest.TempPathFactory):
    factory = DaemonFactory(tmp_path_factory.mktemp("daemons"))
    yield factory
    factory.stop_all()


@pytest.fixture(scope="session")
def network(broker, emulators: EmulatorFactory) -> EmulatedNetwork:
    """The shared plain, insecure network: ``emu-0`` .. ``emu-11`` with :data:`INTEROP_FACTS`."""
    return emulators.start(broker, NETWORK_SIZE, name="emu")


@pytest.fixture(scope="session")
def mco(harness):
    """The real ``mco``: ``mco(url, *args, tls=False, insecure=False, extra_cfg=(), version=None)``."""
    return run_mco
