"""Real parts for the emulator tests: nats-server on random ports, emulator processes, a client."""

from __future__ import annotations

import pytest

from choria_emulator.client import ChoriaClient, ClientConfig
from choria_emulator.testing.localnet import Emulator, NatsServer


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory):
    """One nats-server for the session (``-p -1 -m -1 --ports_file_dir``)."""
    server = NatsServer.start(workdir=tmp_path_factory.mktemp("nats"))
    yield server
    server.stop()


@pytest.fixture
def fresh_nats(tmp_path):
    """A nats-server of the test's own, for tests that kill or restart it."""
    servers: list[NatsServer] = []

    def start(*extra: str, port: int = -1) -> NatsServer:
        server = NatsServer.start(*extra, workdir=tmp_path / f"nats{len(servers)}", port=port)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def emulator_factory(tmp_path):
    """Start ``choria-emulator emulate`` processes; all are stopped after the test."""
    started: list[Emulator] = []

    def start(servers, instances: int, *extra: str, name: str = "emu", **kwargs) -> Emulator:
        emulator = Emulator.start(
            servers, instances, *extra, name=name, workdir=tmp_path / f"emu{len(started)}", **kwargs
        )
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture(scope="module")
def small_network(tmp_path_factory: pytest.TempPathFactory, nats_server: NatsServer):
    """10 instances, 2 agents, 2 collectives, named emu-0..emu-9, shared by a module's tests."""
    emulator = Emulator.start(
        nats_server.url,
        10,
        "--agents",
        "2",
        "--collectives",
        "2",
        "--workers",
        "2",
        name="emu",
        workdir=tmp_path_factory.mktemp("small-network"),
    )
    yield emulator
    emulator.stop()


@pytest.fixture
def client_config(nats_server: NatsServer) -> ClientConfig:
    return ClientConfig.load(servers=[nats_server.url], search_default_files=False, identity="test-client")


@pytest.fixture
async def client(client_config: ClientConfig):
    async with ChoriaClient(client_config) as c:
        yield c
