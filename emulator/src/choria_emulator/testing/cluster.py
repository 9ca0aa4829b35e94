"""A NATS cluster on this machine: the scale-out shape for networks one nats-server cannot hold.

One nats-server takes just under 20,000 client connections here (the per-process open-files limit;
docs/architecture.md, "Facts about the machines"), so 50,000 emulated instances need at least three
servers joined by routes. ``choria-emulator emulate --server a --server b --server c`` puts instance *i* on
server *i mod 3*; a client connected to any server reaches every instance over the routes.

Servers start on random ports: the first one's cluster port (from its ports file) is the seed
route of the others, and gossip completes the full mesh; :meth:`LocalCluster.start` returns
once every server sees all the others.

Leaf nodes (the original's ``leafnode_servers``, scenario ``broker_leafnodes``) are the other
way out: each emulator host runs a nats-server of its own that holds its local instances and
makes one leafnode connection to the core, so the core's servers hold a handful of leaf
connections instead of every instance's.
"""

from __future__ import annotations

import json
import tempfile
import time
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .localnet import LocalNetError, NatsServer, http_json


def cluster_url(server: NatsServer) -> str:
    """The route URL of a server started with ``--cluster nats://127.0.0.1:-1``."""
    ports = json.loads((server.workdir / f"nats-server_{server.pid}.ports").read_text())
    try:
        return ports["cluster"][0]
    except (KeyError, IndexError):
        raise LocalNetError(f"nats-server {server.pid} has no cluster port (started without --cluster?)") from None


def route_peers(server: NatsServer) -> set[str]:
    """Server ids this server has routes to (route pooling opens several routes per peer)."""
    routez = http_json(f"{server.monitor}/routez")
    return {route.get("remote_id", "") for route in routez.get("routes") or []} - {""}


@dataclass
class LocalCluster:
    servers: list[NatsServer]
    name: str

    leaves: list[NatsServer] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        size: int = 3,
        *extra: str,
        leafnodes: int = 0,
        name: str = "choria-emulator",
        workdir: str | Path | None = None,
        timeout: float = 30.0,
    ) -> LocalCluster:
        """``size`` routed servers, plus ``leafnodes`` leaf servers spread over them."""
        if size < 1:
            raise ValueError("a cluster needs at least one server")
        workdir = Path(workdir or tempfile.mkdtemp(prefix="nats-cluster-"))
        common = ["--cluster", "nats://127.0.0.1:-1", "--cluster_name", name, *extra]
        if leafnodes:
            hub = workdir / "hub.conf"
            workdir.mkdir(parents=True, exist_ok=True)
            hub.write_text('leafnodes { listen: "127.0.0.1:-1" }\n')
            common += ["-c", str(hub)]
        cluster = cls([], name)
        try:
            cluster.servers.append(NatsServer.start(*common, workdir=workdir / "nats0"))
            seed = cluster_url(cluster.servers[0])
            for index in range(1, size):
                cluster.servers.append(NatsServer.start(*common, "--routes", seed, workdir=workdir / f"nats{index}"))
            cluster.wait_meshed(timeout)
            for index in range(leafnodes):
                hub_server = cluster.servers[index % size]
                remote = f"nats-leaf://127.0.0.1:{hub_server.varz()['leaf']['port']}"
                conf = workdir / f"leaf{index}.conf"
                conf.write_text(f'leafnodes {{ remotes: [ {{ url: "{remote}" }} ] }}\n')
                cluster.leaves.append(NatsServer.start("-c", str(conf), workdir=workdir / f"leaf{index}"))
            cluster.wait_leaves(timeout)
            return cluster
        except BaseException:
            cluster.stop()
            raise

    def wait_leaves(self, timeout: float = 30.0) -> None:
        """Until every leaf server has its leafnode connection to the core."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if all(leaf.varz().get("leafnodes", 0) >= 1 for leaf in self.leaves):
                    return
            except (OSError, urllib.error.URLError, ValueError):
                pass
            time.sleep(0.05)
        raise LocalNetError(f"leaf nodes of {self.name} did not connect within {timeout} s")

    def wait_meshed(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        peers: list[int] = []
        while time.monotonic() < deadline:
            try:
                peers = [len(route_peers(s)) for s in self.servers]
                if all(p >= len(self.servers) - 1 for p in peers):
                    return
            except (OSError, urllib.error.URLError, ValueError):
                pass
            time.sleep(0.05)
        raise LocalNetError(
            f"NATS cluster {self.name} did not form a full mesh within {timeout} s (peers per server: {peers})"
        )

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    @property
    def monitors(self) -> list[str]:
        return [s.monitor for s in self.servers]

    def varz(self) -> list[dict[str, Any]]:
        return [s.varz() for s in self.servers]

    @property
    def leaf_urls(self) -> list[str]:
        return [s.url for s in self.leaves]

    def stop(self) -> None:
        for server in [*self.leaves, *self.servers]:
            server.stop()
