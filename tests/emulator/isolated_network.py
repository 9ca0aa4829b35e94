"""Fixtures for test modules that broadcast and count replies: a nats-server of their own.

The session's nats-server is shared by every module, so a broadcast there reaches whatever
else is connected; modules that assert exactly who answered import these fixtures
(``from isolated_network import own_nats, own_client``) and talk only to their own daemons.
"""

from __future__ import annotations

import pytest

from choria_emulator.client import ChoriaClient, ClientConfig
from choria_emulator.testing.localnet import Emulator, NatsServer


@pytest.fixture(scope="module")
def own_nats(tmp_path_factory: pytest.TempPathFactory):
    server = NatsServer.start(workdir=tmp_path_factory.mktemp("own-nats"))
    yield server
    server.stop()


@pytest.fixture
async def own_client(own_nats: NatsServer):
    config = ClientConfig.load(servers=[own_nats.url], search_default_files=False, identity="test-client")
    async with ChoriaClient(config) as client:
        yield client


def start_network(
    own_nats: NatsServer, tmp_path_factory: pytest.TempPathFactory, instances: int, *extra: str, name: str
) -> Emulator:
    """An emulator on the module's own nats-server (stop it in the fixture that starts it)."""
    return Emulator.start(
        own_nats.url, instances, *extra, name=name, workdir=tmp_path_factory.mktemp(f"{name}-network")
    )
