"""protocol.md §7 "Facts a test can check", item by item.

Items that are about the protocol are checked on the codec; items about daemons on real
emulated daemons behind a real nats-server. Item 2 (the E1 emulator's 6 subscriptions) does not
apply: our instances are E3/go-choria shaped. Item 19 (the ``measure`` tool) is tested with it.
Items 10, 13 and 14 live in test_security.py and test_filters.py.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from pathlib import Path

import pytest
from choria_wire import apoll, request
from isolated_network import own_client, own_nats, start_network  # noqa: F401 - fixtures

from choria_emulator.client import rpc
from choria_emulator.daemon.agents import build_registry
from choria_emulator.daemon.config import EmulatorConfig, collective_names, emulated_agent_names
from choria_emulator.daemon.instance import Layout
from choria_emulator.natsproto import parse_server
from choria_emulator.protocol import Filter, Request, RPCReply, RPCRequest
from choria_emulator.protocol.messages import broadcast_subject, node_subject, reply_subject
from choria_emulator.protocol.secure import message_hash

VECTORS = Path(__file__).parent / "fixtures" / "protocol"
CALLER = "choria=rip.mcollective"


def test_item_01_subscriptions_of_a_go_choria_shaped_instance():
    layout = Layout(["mcollective", "collective1"], build_registry(1))  # discovery, rpcutil, choria_util, emulated0
    expected = {"mcollective.node.emu-0", "collective1.node.emu-0"} | {
        f"{c}.broadcast.agent.{a}"
        for c in ("mcollective", "collective1")
        for a in ("discovery", "rpcutil", "choria_util", "emulated0")
    }
    assert set(layout.subjects("emu-0")) == expected
    assert layout.subscription_count == 10 == 2 * (1 + 4)


def test_item_01_the_broker_sees_exactly_those_subscriptions(own_nats, emulator_factory):
    emulator_factory(own_nats.url, 1, "--collectives", "2", "--agents", "1", "--workers", "1", name="subs")
    with urllib.request.urlopen(f"{own_nats.monitor}/connz?subs=1&limit=1024", timeout=5) as response:
        connections = json.loads(response.read())["connections"]
    (instance,) = [c for c in connections if c.get("name") == "subs-0"]
    assert sorted(instance["subscriptions_list"]) == sorted(
        ["mcollective.node.subs-0", "collective1.node.subs-0"]
        + [
            f"{c}.broadcast.agent.{a}"
            for c in ("mcollective", "collective1")
            for a in ("discovery", "rpcutil", "choria_util", "emulated0")
        ]
    )


def test_item_03_collective_and_agent_names():
    assert collective_names(3) == ["mcollective", "collective1", "collective2"]
    assert emulated_agent_names(3) == ["emulated0", "emulated1", "emulated2"]


def test_item_04_instance_names_of_the_e3_and_e1_eras():
    server = [parse_server("127.0.0.1:4222")]
    assert (
        EmulatorConfig(instances=2, name="emu", servers=server, name_format="e3").identity(0, "5f3ab")
        == "1-emu-5f3ab.choria.local"
    )
    assert EmulatorConfig(instances=2, name="test", servers=server).identity(0) == "test-0"


def test_item_05_broadcast_and_directed_subjects():
    assert broadcast_subject("mcollective", "emulated0") == "mcollective.broadcast.agent.emulated0"
    assert node_subject("mcollective", "test-1") == "mcollective.node.test-1"


def test_item_06_modern_go_reply_subject_uses_md5_of_the_callerid():
    rid = "a2b3c4d5e6f708192a3b4c5d6e7f8091"
    assert reply_subject("mcollective", CALLER, rid) == f"mcollective.reply.37bdf08389145a56c13096c178802d3b.{rid}"


async def test_item_07_go_discovery_message_and_reply(network, own_client):
    ping = discovery()
    assert base64.b64decode(ping.message) == b"ping"
    replies = await request(own_client.nc, DISCOVERY, ping, expect=10)
    assert len(replies) == 10
    assert {r.reply.message for r in replies} == {"pong"}


@pytest.mark.parametrize(("size", "message"), [(10, "0123456789"), (25, "0123456789012345678901234"), (0, "")])
async def test_item_08_generate_repeats_the_digits(network, own_client, size: int, message: str):
    result = await rpc(own_client, "emulated0", "generate", {"size": size}, targets=["emu-0"], timeout=5)
    assert [r["data"]["message"] for r in result.replies] == [message]


def test_item_09_reply_hash_is_base64_sha256_of_the_secure_message():
    assert (
        message_hash((VECTORS / "discovery_reply.json").read_text()) == "wS57Gi/yiQqMiV1BuxsRmW9lMXRT0Kc74cDA4/zm7xc="
    )


def test_item_11_transport_data_decodes_to_the_secure_layer():
    for name, protocol in (
        ("discovery_transport", "choria:secure:request:1"),
        ("discovery_reply_transport", "choria:secure:reply:1"),
    ):
        transport = json.loads((VECTORS / f"{name}.json").read_bytes())
        assert json.loads(base64.b64decode(transport["data"]))["protocol"] == protocol


def test_item_12_envelope_key_order():
    request = json.loads((VECTORS / "discovery_request.json").read_bytes())
    reply = json.loads((VECTORS / "discovery_reply.json").read_bytes())
    assert list(request["envelope"]) == [
        "requestid",
        "senderid",
        "callerid",
        "collective",
        "agent",
        "ttl",
        "time",
        "filter",
    ]
    assert list(reply["envelope"]) == ["requestid", "senderid", "agent", "time"]
    fresh = json.loads(Request(message="x", senderid="s", callerid=CALLER, collective="c", agent="a").encode())
    assert list(fresh["envelope"]) == list(request["envelope"])
    assert list(fresh["envelope"]["filter"]) == ["fact", "cf_class", "agent", "identity", "compound"]


async def test_item_15_ttl_window_drops_and_counts_stale_requests(network, own_client):
    now = int(time.time())
    assert Request("x", "s", CALLER, "c", "a", time=now - 61, ttl=60).ttl_valid() is False
    assert Request("x", "s", CALLER, "c", "a", time=now, ttl=60).ttl_valid() is True
    before = network.debug_vars()["counters"]["ttlexpired"]
    assert await request(own_client.nc, DISCOVERY, discovery(time=now - 61), timeout=0.5) == []
    assert len(await request(own_client.nc, DISCOVERY, discovery(time=now), expect=10)) == 10
    await apoll(
        lambda: network.debug_vars()["counters"]["ttlexpired"] >= before + 10, timeout=10, what="ttlexpired count"
    )


async def test_item_16_no_reply_to_no_reply(network, own_client):
    passed = network.debug_vars()["counters"]["passed"]
    assert await request(own_client.nc, DISCOVERY, discovery(), reply=False, timeout=0.5) == []
    await apoll(lambda: network.debug_vars()["counters"]["passed"] >= passed + 10, timeout=10, what="passed count")


def test_item_17_debug_vars_name_and_config(own_nats, emulator_factory):
    emulator = emulator_factory(own_nats.url, 5, "-a", "2", "--collectives", "3", "--workers", "1", name="dv")
    data = emulator.debug_vars()
    assert data["name"] == "dv"
    config = data["config"]
    assert (config["instances"], config["agents"], config["collectives"]) == (5, 2, 3)
    assert isinstance(config["pid"], int) and (config["TLS"], config["tlsVerify"]) == (0, 0)


async def test_item_18_unknown_action_is_status_2(network, own_client):
    result = await rpc(own_client, "emulated1", "nosuch", {}, targets=["emu-2"], timeout=5)
    assert [(r["sender"], r["statuscode"]) for r in result.replies] == [("emu-2", 2)]


async def test_ruby_dialect_requests_are_answered_like_go_ones(network, own_client):
    """protocol.md §2.6/§2.7: JSON-dumped "ping" and bodies with caller and process_results."""
    replies = await request(own_client.nc, DISCOVERY, discovery(message='"ping"'), expect=10)
    assert len(replies) == 10 and {r.reply.message for r in replies} == {"pong"}
    body = json.dumps(
        {"agent": "emulated0", "action": "generate", "caller": CALLER, "data": {"size": 4, "process_results": True}}
    )
    generate = Request(
        message=body,
        senderid="mco",
        callerid=CALLER,
        collective="mcollective",
        agent="emulated0",
        filter=Filter(identity=["emu-4"]),
    )
    replies = await request(own_client.nc, broadcast_subject("mcollective", "emulated0"), generate, timeout=1.0)
    assert [r.sender for r in replies] == ["emu-4"]
    assert RPCReply.decode(replies[0].reply.message).data == {"message": "0123"}
    assert RPCRequest.decode(body).caller == CALLER


# ---- helpers ---------------------------------------------------------------------------------------

DISCOVERY = broadcast_subject("mcollective", "discovery")


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory, own_nats):
    """10 instances emu-0..emu-9, 2 agents, 2 collectives, alone on the module's nats-server."""
    emulator = start_network(
        own_nats, tmp_path_factory, 10, "--agents", "2", "--collectives", "2", "--workers", "2", name="emu"
    )
    yield emulator
    emulator.stop()


def discovery(message: str = "cGluZw==", **envelope: int) -> Request:
    """A Go client's discovery request (``time``/``ttl`` may be given)."""
    return Request(
        message=message, senderid="spec", callerid=CALLER, collective="mcollective", agent="discovery", **envelope
    )
