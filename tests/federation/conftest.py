"""Two collective networks, each on its own nats-server, behind a federation network.

``fed_net``: nats-servers F (federation side), A and B (collectives); emulators ``a-0..a-19``
on A and ``b-0..b-29`` on B. Brokers are started by the tests that need them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from choria_emulator.testing.localnet import Emulator, LocalBroker, NatsServer

A_NODES = [f"a-{i}" for i in range(20)]
B_NODES = [f"b-{i}" for i in range(30)]


@dataclass
class FedNet:
    federation: NatsServer
    a: NatsServer
    b: NatsServer


@pytest.fixture(scope="module")
def fed_net(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("fednet")
    servers = [NatsServer.start(workdir=base / name) for name in ("f", "a", "b")]
    emulators: list[Emulator] = []
    try:
        emulators.append(
            Emulator.start(servers[1].url, len(A_NODES), "--workers", "1", name="a", workdir=base / "emu-a")
        )
        emulators.append(
            Emulator.start(servers[2].url, len(B_NODES), "--workers", "1", name="b", workdir=base / "emu-b")
        )
        yield FedNet(*servers)
    finally:
        for emulator in emulators:
            emulator.stop()
        for server in servers:
            server.stop()


@pytest.fixture
def broker_factory(tmp_path):
    started: list[LocalBroker] = []

    def start(name: str, federation: list[str], collectives: list[str], *extra: str) -> LocalBroker:
        broker = LocalBroker.start(name, federation, collectives, *extra, workdir=tmp_path / f"broker{len(started)}")
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.stop()
