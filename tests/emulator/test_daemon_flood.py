"""Hostile input (issue 12 item 4): a flood of malformed messages, functionally.

The benchmark (``make bench-flood``: 10,000 messages to 1,000 nodes, figures in
docs/benchmarks/flood.md) measures speed and memory; this test checks, at a size the test
tier affords, what must hold whatever the speed: no instance is dropped as a slow consumer or
reconnects, every delivery is counted malformed, each message is decoded once per worker (not
once per instance that receives it), and afterwards every node answers.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from choria_wire import apoll, stable_counters

from choria_emulator.client import ChoriaClient, ClientConfig, ping

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from flood_messages import flood  # the benchmark's generator, shared (after the path set-up)

NODES = 200
MESSAGES = 2_000
WORKERS = 2


async def test_a_flood_of_malformed_messages_is_counted_decoded_once_and_survived(nats_server, emulator_factory):
    emulator = await asyncio.to_thread(
        emulator_factory, nats_server.url, NODES, "--workers", str(WORKERS), name="flood"
    )
    nodes = [f"flood-{i}" for i in range(NODES)]
    messages = list(flood(MESSAGES, nodes, seed=7))
    deliveries = sum(NODES if ".broadcast." in subject else 1 for subject, _, _ in messages)
    config = ClientConfig.load(servers=[nats_server.url], search_default_files=False, identity="flooder")
    async with ChoriaClient(config) as client:
        slow_before = nats_server.varz().get("slow_consumers", 0)
        before = await asyncio.to_thread(stable_counters, emulator)
        decodes_before = sum(w["decodes"] for w in emulator.debug_vars()["workers"])
        for number, (subject, payload, _) in enumerate(messages):
            await client.nc.publish(subject, payload)
            if number % 200 == 199:
                await client.nc.flush()
        await client.nc.flush()
        total = before["total"] + deliveries
        await apoll(lambda: emulator.debug_vars()["counters"]["total"] >= total, timeout=300, what=f"total {total}")
        after = await asyncio.to_thread(stable_counters, emulator)
        assert after["malformed"] - before["malformed"] == deliveries
        assert after["validated"] == before["validated"] and after["replies"] == before["replies"]
        status = emulator.debug_vars()
        decodes = sum(w["decodes"] for w in status["workers"]) - decodes_before
        assert decodes <= MESSAGES * WORKERS < deliveries  # once per worker and message, not per delivery
        assert nats_server.varz().get("slow_consumers", 0) == slow_before
        assert status["reconnects"] == 0 and status["connected"] == NODES
        result = await ping(client, timeout=10, expect=NODES)
        assert sorted(result.times) == sorted(nodes)
    assert "Traceback" not in emulator.log()
