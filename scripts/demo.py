#!/usr/bin/env python3
"""`make demo`: a nats-server and 1,000 emulated nodes on this machine, pinged and load-tested.

Starts everything on random ports, prints counts and timings, and stops everything by PID,
whatever happens in between.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from choria_emulator.client import ChoriaClient, ClientConfig, ping, rpc
from choria_emulator.localnet import Emulator, NatsServer

INSTANCES = 1000
REQUESTS = 5
SIZE = 100


async def drive(url: str) -> int:
    config = ClientConfig.load(servers=[url], search_default_files=False, identity="demo-client")
    async with ChoriaClient(config) as client:
        result = await ping(client, timeout=10, expect=INSTANCES)
        summary = result.summary()
        print(f"ping: {result.count}/{INSTANCES} replies in {result.duration * 1000:.0f} ms "
              f"(min {summary['min']:.1f} / median {summary['median']:.1f} / max {summary['max']:.1f} ms)")
        nodes = sorted(result.times)
        times = []
        for n in range(1, REQUESTS + 1):
            res = await rpc(client, "emulated0", "generate", {"size": SIZE}, targets=nodes, directed=False, timeout=10)
            times.append(res.stats.request_duration)
            print(f"emulated0#generate size={SIZE} #{n}: {res.stats.ok} OK, {res.stats.failed} failed, "
                  f"{res.stats.noresponses} no response in {res.stats.request_duration * 1000:.0f} ms")
        print(f"round trip to {INSTANCES} nodes: median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")
        return 0 if result.count == INSTANCES else 1


def main() -> int:
    started = time.monotonic()
    nats = NatsServer.start()
    emulator = None
    try:
        print(f"nats-server pid {nats.pid} on {nats.url} (monitor {nats.monitor})")
        emulator = Emulator.start(nats.url, INSTANCES, name="demo")
        vars_ = emulator.debug_vars()
        print(f"emulator pid {emulator.pid}: {vars_['connected']}/{INSTANCES} instances connected "
              f"in {vars_['all_connected_after'] or 0:.2f} s, RSS {vars_['rss'] / 2**20:.0f} MiB, /debug/vars at {emulator.http}/debug/vars")
        code = asyncio.run(drive(nats.url))
        varz = nats.varz()
        print(f"nats-server: {varz['connections']} connections, {varz['subscriptions']} subscriptions, "
              f"{varz['in_msgs']} msgs in, {varz['out_msgs']} msgs out")
        return code
    finally:
        if emulator is not None:
            emulator.stop()
            print(f"stopped emulator pid {emulator.pid}")
        nats.stop()
        print(f"stopped nats-server pid {nats.pid}; demo took {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
