"""How an instance treats a request before any agent sees it: TTL window and reply-to (protocol.md §2.9, §7)."""

from __future__ import annotations

import asyncio
import time

from choria_wire import apoll, make_request, request, rpc_message, stable_counters

from choria_emulator.protocol import Filter
from choria_emulator.protocol.messages import broadcast_subject, node_subject


def counters(network) -> dict[str, int]:
    return network.debug_vars()["counters"]


async def settled(network, key: str, value: int) -> dict[str, int]:
    """Counters once ``key`` reached ``value`` (workers report every second)."""
    return await apoll(lambda: (c := counters(network))[key] >= value and c, timeout=30, what=f"{key} >= {value}")


async def test_expired_ttl_gets_no_reply_and_is_counted(small_network, client):
    before = await asyncio.to_thread(stable_counters, small_network)
    now = int(time.time())
    expired = make_request("discovery", "cGluZw==", ttl=60, sent=now - 61)
    assert await request(client.nc, broadcast_subject("mcollective", "discovery"), expired, timeout=2) == []
    future = make_request("discovery", "cGluZw==", ttl=60, sent=now + 120)
    assert await request(client.nc, broadcast_subject("mcollective", "discovery"), future, timeout=1) == []
    after = await settled(small_network, "ttlexpired", before["ttlexpired"] + 20)
    assert after["ttlexpired"] == before["ttlexpired"] + 20  # 10 instances x 2 requests
    assert after["replies"] == before["replies"]
    fresh = make_request("discovery", "cGluZw==", ttl=60, sent=int(time.time()))
    replies = await request(client.nc, broadcast_subject("mcollective", "discovery"), fresh, expect=10, timeout=10)
    assert len(replies) == 10


async def test_request_without_reply_to_gets_no_reply(small_network, client):
    before = await asyncio.to_thread(stable_counters, small_network)
    req = make_request(
        "emulated0", rpc_message("emulated0", "generate", {"size": 5}), filter=Filter(agent=["emulated0"])
    )
    assert await request(client.nc, node_subject("mcollective", "emu-2"), req, reply=False, timeout=2) == []
    after = await settled(small_network, "passed", before["passed"] + 1)
    # received, validated and passed the filter: counted, but nothing was published
    assert after["total"] == before["total"] + 1
    assert after["validated"] == before["validated"] + 1
    assert after["replies"] == before["replies"]


async def test_filtered_requests_are_counted_and_unanswered(small_network, client):
    before = await asyncio.to_thread(stable_counters, small_network)
    req = make_request("discovery", "cGluZw==", filter=Filter(identity=["emu-1"]))
    replies = await request(client.nc, broadcast_subject("mcollective", "discovery"), req, expect=1, timeout=5)
    assert [r.sender for r in replies] == ["emu-1"]
    after = await settled(small_network, "filtered", before["filtered"] + 9)
    assert after["filtered"] == before["filtered"] + 9 and after["passed"] == before["passed"] + 1


async def test_second_collective_reaches_every_instance(small_network, client):
    req = make_request("discovery", "cGluZw==", collective="collective1")
    replies = await request(client.nc, broadcast_subject("collective1", "discovery"), req, expect=10, timeout=10)
    assert len({r.sender for r in replies}) == 10
    # and the node subject of the second collective works too
    req = make_request("discovery", "cGluZw==", collective="collective1")
    replies = await request(client.nc, node_subject("collective1", "emu-9"), req, expect=1, timeout=5)
    assert [r.sender for r in replies] == ["emu-9"]
