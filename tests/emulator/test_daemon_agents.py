"""The agents of an emulated instance answer like go-choria's, shaped by the DDLs (protocol.md §4.3, §7)."""

from __future__ import annotations

import base64
import time

import pytest
from choria_wire import make_request, request, rpc_bodies

from choria_emulator import ddl
from choria_emulator.client import rpc
from choria_emulator.protocol import Filter
from choria_emulator.protocol.messages import broadcast_subject, node_subject

METADATA_KEYS = ["license", "author", "timeout", "name", "version", "url", "description"]


def ddl_outputs(agent: str, action: str) -> set[str]:
    actions = {a["action"]: a for a in ddl.load(agent)["actions"]}
    return set(actions[action].get("output", {}))


async def call(client, agent: str, action: str, data: dict | None = None, node: str = "emu-3"):
    result = await rpc(client, agent, action, data or {}, targets=[node], timeout=10)
    assert [r["sender"] for r in result.replies] == [node], result.to_dict()
    return result.replies[0]


@pytest.mark.parametrize(
    "action",
    ["ping", "inventory", "agent_inventory", "collective_info", "daemon_stats"],
)
async def test_rpcutil_actions_return_the_ddl_outputs(small_network, client, action):
    reply = await call(client, "rpcutil", action)
    assert reply["statuscode"] == 0 and reply["statusmsg"] == "OK"
    assert set(reply["data"]) == ddl_outputs("rpcutil", action)


async def test_rpcutil_ping_is_the_time(small_network, client):
    before = int(time.time())
    reply = await call(client, "rpcutil", "ping")
    assert before <= reply["data"]["pong"] <= int(time.time()) + 1


async def test_rpcutil_inventory_matches_the_instance(small_network, client):
    data = (await call(client, "rpcutil", "inventory"))["data"]
    # go-choria KnownAgents() is sorted; Machines is a list
    assert data["agents"] == ["choria_util", "discovery", "emulated0", "emulated1", "rpcutil"]
    assert data["collectives"] == ["mcollective", "collective1"]
    assert data["main_collective"] == "mcollective"
    assert data["machines"] == [] and data["data_plugins"] == []
    assert data["facts"] == {} and data["classes"] == []
    assert list(data)[:8] == [
        "agents",
        "classes",
        "collectives",
        "data_plugins",
        "facts",
        "machines",
        "main_collective",
        "version",
    ]


async def test_rpcutil_agent_inventory_carries_the_metadata(small_network, client):
    agents = (await call(client, "rpcutil", "agent_inventory"))["data"]["agents"]
    assert [a["agent"] for a in agents] == ["choria_util", "discovery", "emulated0", "emulated1", "rpcutil"]
    for entry in agents:
        assert list(entry) == ["agent", *METADATA_KEYS]
        assert entry["name"] == entry["agent"]
    emulated1 = next(a for a in agents if a["agent"] == "emulated1")
    assert emulated1["timeout"] == 120 and emulated1["description"] == "Choria Agent emulated by choria-emulator"


async def test_rpcutil_collective_info(small_network, client):
    data = (await call(client, "rpcutil", "collective_info"))["data"]
    assert data == {"main_collective": "mcollective", "collectives": ["mcollective", "collective1"]}


async def test_rpcutil_daemon_stats_counts_this_instance(small_network, client):
    first = (await call(client, "rpcutil", "daemon_stats", node="emu-7"))["data"]
    second = (await call(client, "rpcutil", "daemon_stats", node="emu-7"))["data"]
    assert second["total"] > first["total"] and second["replies"] > first["replies"]
    assert second["validated"] + second["unvalidated"] <= second["total"]
    assert second["times"] == {"cstime": 0, "cutime": 0, "stime": 0, "utime": 0}
    assert isinstance(second["threads"], list) and second["threads"]
    assert second["pid"] in [w["pid"] for w in small_network.debug_vars()["workers"]]
    assert second["agents"] == ["choria_util", "discovery", "emulated0", "emulated1", "rpcutil"]


async def test_rpcutil_get_fact_and_get_facts_without_facts(small_network, client):
    reply = await call(client, "rpcutil", "get_fact", {"fact": "country"})
    assert reply["statuscode"] == 0 and reply["data"] == {"fact": "country", "value": None}
    reply = await call(client, "rpcutil", "get_facts", {"facts": "a, b"})
    assert reply["data"] == {"values": {"a": None, "b": None}}
    reply = await call(client, "rpcutil", "get_fact", {})
    assert reply["statuscode"] == 3


async def test_rpcutil_get_config_item(small_network, client):
    reply = await call(client, "rpcutil", "get_config_item", {"item": "identity"})
    assert reply["data"] == {"item": "identity", "value": "emu-3"}
    reply = await call(client, "rpcutil", "get_config_item", {"item": "collectives"})
    assert reply["data"]["value"] == ["mcollective", "collective1"]
    reply = await call(client, "rpcutil", "get_config_item", {"item": "registerinterval"})
    assert reply["data"]["value"] == 0
    reply = await call(client, "rpcutil", "get_config_item", {"item": "no.such.key"})
    assert (reply["statuscode"], reply["statusmsg"]) == (1, "Unknown key")
    reply = await call(client, "rpcutil", "get_config_item", {"item": 5})
    assert reply["statuscode"] == 3


async def test_rpcutil_get_data_has_no_plugins(small_network, client):
    reply = await call(client, "rpcutil", "get_data", {"source": "sysctl", "query": "x"})
    assert (reply["statuscode"], reply["statusmsg"]) == (1, "Unknown data plugin")


async def test_rpcutil_unknown_action(small_network, client):
    reply = await call(client, "rpcutil", "nosuch")
    assert (reply["statuscode"], reply["statusmsg"]) == (2, "Unknown action nosuch for agent rpcutil")


async def test_choria_util_info(small_network, client):
    reply = await call(client, "choria_util", "info")
    assert reply["statuscode"] == 0
    assert set(reply["data"]) == ddl_outputs("choria_util", "info")
    data = reply["data"]
    assert data["connected_server"].startswith("nats://127.0.0.1:")
    assert data["secure_protocol"] is False and data["connector_tls"] is False
    assert data["client_options"]["name"] == "emu-3"
    assert data["client_stats"]["in_msgs"] >= 1


async def test_choria_util_machine_actions_without_machines(small_network, client):
    reply = await call(client, "choria_util", "machine_states")
    assert reply["statuscode"] == 0 and reply["data"] == {"machine_ids": [], "machine_names": [], "states": {}}
    assert set(reply["data"]) == ddl_outputs("choria_util", "machine_states")
    reply = await call(client, "choria_util", "machine_state", {})
    assert (reply["statuscode"], reply["statusmsg"]) == (1, "No search criteria given")
    reply = await call(client, "choria_util", "machine_state", {"name": "x"})
    assert (reply["statuscode"], reply["statusmsg"]) == (1, "No running machines")
    reply = await call(client, "choria_util", "machine_transition", {"name": "x", "transition": "go"})
    assert reply["statuscode"] == 1
    reply = await call(client, "choria_util", "nosuch")
    assert reply["statuscode"] == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "01234567890123456789"),
        ({"size": 0}, ""),
        ({"size": 10}, "0123456789"),
        ({"size": 25}, "0123456789012345678901234"),
    ],
)
async def test_generate_sizes(small_network, client, data, message):
    reply = await call(client, "emulated1", "generate", data)
    assert reply["statuscode"] == 0 and reply["data"] == {"message": message}


@pytest.mark.parametrize("size", ["ten", -1, 1.5, True, [1]])
async def test_generate_bad_size_is_invalid_data(small_network, client, size):
    reply = await call(client, "emulated0", "generate", {"size": size})
    assert reply["statuscode"] == 4 and reply["statusmsg"].startswith("Validation failed")


async def test_generate_too_big_for_the_broker_is_refused_with_a_reason(small_network, client):
    reply = await call(client, "emulated0", "generate", {"size": 2_000_000})
    assert reply["statuscode"] == 4 and "max_payload of 1048576 bytes" in reply["statusmsg"]
    reply = await call(client, "emulated0", "generate", {"size": 600_000})  # fits: sent
    assert reply["statuscode"] == 0 and len(reply["data"]["message"]) == 600_000


async def test_generate_unknown_action(small_network, client):
    reply = await call(client, "emulated1", "explode")
    assert (reply["statuscode"], reply["statusmsg"]) == (2, "Unknown action explode for agent emulated1")


async def test_unparseable_rpc_body_is_invalid_data(small_network, client):
    for message in ("{not json", '["agent"]', '{"agent":"emulated0"}'):
        req = make_request("emulated0", message, filter=Filter(agent=["emulated0"]))
        replies = await request(client.nc, node_subject("mcollective", "emu-4"), req, expect=1)
        body = rpc_bodies(replies)["emu-4"]
        assert body.statuscode == 4 and body.statusmsg.startswith("Could not process request"), message


@pytest.mark.parametrize(
    ("message", "answers"),
    [
        (base64.b64encode(b"ping").decode(), True),  # Go: cGluZw==
        ('"ping"', True),  # Ruby mco: JSON.dump("ping")
        ("ping", False),  # valid base64 (decodes to 3 other bytes), so Go does not see "ping" either
        ("please ping me", True),  # contains ping
        ("hello", False),
        (base64.b64encode(b"hello").decode(), False),
    ],
)
async def test_discovery_answers_only_ping(small_network, client, message, answers):
    req = make_request("discovery", message)
    replies = await request(
        client.nc, broadcast_subject("mcollective", "discovery"), req, expect=10, timeout=3 if answers else 1
    )
    if answers:
        assert sorted(r.sender for r in replies) == [f"emu-{i}" for i in range(10)]
        assert {r.reply.message for r in replies} == {"pong"}
    else:
        assert replies == []
