"""The whole path against a real nats-server: emulator processes answer a real client."""

from __future__ import annotations

import json

from choria_emulator.client import discover, ping, rpc
from choria_emulator.protocol import Filter


async def test_ping_reaches_every_instance(small_network, client):
    result = await ping(client, timeout=5, expect=10)
    assert sorted(result.times) == [f"emu-{i}" for i in range(10)]
    assert all(ms >= 0 for ms in result.times.values())


async def test_generate_returns_repeating_digits(small_network, client):
    result = await rpc(client, "emulated0", "generate", {"size": 25}, timeout=5)
    assert result.stats.discovered == 10
    assert result.stats.ok == 10 and result.stats.success
    assert {r["data"]["message"] for r in result.replies} == {"0123456789012345678901234"}


async def test_second_collective_and_second_agent_answer(small_network, client):
    result = await rpc(client, "emulated1", "generate", {"size": 3}, collective="collective1", timeout=5)
    assert result.stats.ok == 10
    assert result.replies[0]["data"] == {"message": "012"}


async def test_unknown_action_is_status_2(small_network, client):
    result = await rpc(client, "emulated0", "nosuch", {}, targets=["emu-3"], timeout=5)
    assert [(r["sender"], r["statuscode"]) for r in result.replies] == [("emu-3", 2)]
    assert result.replies[0]["statusmsg"] == "Unknown action nosuch for agent emulated0"


async def test_identity_regex_discovery(small_network, client):
    nodes = await discover(client, Filter(identity=["/^emu-[13]$/"]), timeout=1)
    assert sorted(nodes) == ["emu-1", "emu-3"]


async def test_agent_filter_excludes_missing_agent(small_network, client):
    assert await discover(client, Filter(agent=["emulated5"]), timeout=0.5) == []
    assert len(await discover(client, Filter(agent=["rpcutil", "emulated1"]), timeout=1)) == 10


async def test_broadcast_rpc_counts_expected_nodes(small_network, client):
    result = await rpc(client, "emulated0", "generate", {}, directed=False, timeout=5)
    assert result.stats.responded == 10 and result.stats.noresponses == 0
    assert len(result.replies[0]["data"]["message"]) == 20  # default size


def test_debug_vars_shape(small_network):
    data = small_network.debug_vars()
    assert data["name"] == "emu"
    assert data["config"]["instances"] == 10
    assert data["config"]["agents"] == 2
    assert data["config"]["collectives"] == 2
    assert data["config"]["TLS"] == 0 and data["config"]["tlsVerify"] == 0
    assert data["connected"] == 10
    assert data["subscriptions_per_instance"] == 2 * (2 + 4)
    json.dumps(data)


def test_subscriptions_on_the_broker(nats_server, small_network):
    varz = nats_server.varz()
    # 10 instances x 2 collectives x (node + discovery, rpcutil, choria_util, emulated0, emulated1)
    assert varz["subscriptions"] >= 10 * 12
