"""What resolving node sets needs from its caller, and what it hands back."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..client import ChoriaClient, ClientConfig, ClientConfigError, ClientError
from .puppetdb import PuppetDBConfig

LOG = logging.getLogger("choria_emulator.nodesets")
T = TypeVar("T")


@dataclass
class NodeSetContext:
    """Where the Choria network and PuppetDB are, and the playbook-wide settings node sets use."""

    client: ClientConfig | None = None  # broker for mcollective sets and for test/uses
    puppetdb: PuppetDBConfig | None = None
    uses: dict[str, str] = field(default_factory=dict)  # top-level playbook `uses`: agent -> range
    discovery_timeout: float = 2.0
    log: logging.Logger = LOG
    base_dir: str | None = None  # relative yaml `source` and terraform `statefile` paths start here
    rpc_timeout: float = 10.0  # rpcutil#ping (test) and rpcutil#agent_inventory (uses)

    def client_config(self) -> ClientConfig:
        """The configured client, else the user's Choria config (~/.choriarc, /etc/choria/client.conf)."""
        if self.client is None:
            self.client = ClientConfig.load()
        return self.client

    def with_client(self, call: Callable[[ChoriaClient], Awaitable[T]]) -> T:
        """Run ``call`` with a connected client from synchronous code, even under a running loop."""
        config = self.client_config()

        async def main() -> T:
            async with ChoriaClient(config) as client:
                return await call(client)

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(main())
        # Called from async code (a playbook runner): a private loop in a worker thread.
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="nodesets") as pool:
            return pool.submit(asyncio.run, main()).result()


CLIENT_ERRORS = (ClientError, ClientConfigError, OSError)


@dataclass
class Discovered:
    """What a source found: node names in its order (duplicates allowed) and per-node variables."""

    nodes: list[str]
    hostvars: dict[str, dict[str, Any]] = field(default_factory=dict)
    collective: str | None = None  # where test/uses must address these nodes (mcollective sets)


@dataclass
class ResolvedNodeSet:
    name: str
    nodes: list[str]
    hostvars: dict[str, dict[str, Any]] = field(default_factory=dict)
    type: str = ""
    collective: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "nodes": list(self.nodes),
            "hostvars": {n: self.hostvars.get(n, {}) for n in self.nodes},
        }
