"""Part 1 of issue 11: the real Ruby ``mco`` drives an emulated network.

Four setups, each a fresh 12-node network (facts and classes of ``conftest.INTEROP_FACTS``):
plain and TLS broker (TLS 1.2 with client certificates, ``--tlsverify``), each with insecure
requests (``MCO_INSECURE=1`` against an insecure emulator) and signed requests (the client's
real x509 signatures, verified by ``emulate --secure --ca <harness CA>``). Per setup every
command of the matrix runs once, four at a time (most of an ``mco`` run is waiting out the
2 s discovery), and the tests below check each result: who answered, exactly once, with what.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import NETWORK_SIZE, EmulatedNetwork, emulated_classes, emulated_facts
from realchoria import McoResult, concurrently, mco

SETUPS = {
    "plain-insecure": (False, False),
    "plain-signed": (False, True),
    "tls-insecure": (True, False),
    "tls-signed": (True, True),
}


def commands(name: str) -> dict[str, tuple[str, ...]]:
    """The matrix, for a network whose nodes are ``name-0`` .. ``name-11``."""
    node = f"{name}-5"
    return {
        "ping": ("ping",),
        "ping collective1": ("ping", "-T", "collective1"),
        "ping identity": ("ping", "-I", f"{name}-3"),
        "find identity regex": ("find", "-I", f"/^{name}-1/"),
        # exact names alone are not discovered (mco trusts them); with a regex beside them they are
        "find identity exact": ("find", "-I", f"{name}-3", "-I", f"/^{name}-4$/"),
        "find agent": ("find", "-A", "emulated1"),
        "find missing agent": ("find", "-A", "emulated7"),
        "find fact": ("find", "-F", "role=db"),
        "find fact number": ("find", "-F", "cpus>4"),
        "find class": ("find", "-C", "database"),
        "find class regex": ("find", "-C", "/^web/"),
        "find compound": ("find", "-S", "role=web and (country=mt or database) and not cpus>8"),
        "find collective1 fact": ("find", "-T", "collective1", "-F", "country=de"),
        "generate broadcast": ("rpc", "emulated0", "generate", "size=5", "--json"),
        "generate directed": ("rpc", "emulated1", "generate", "size=3", "-I", node, "--json"),
        "generate discovered": ("rpc", "emulated1", "generate", "-I", f"/^{name}-1[01]$/", "--json"),
        "generate batch": ("rpc", "emulated0", "generate", "size=2", "--batch", "5", "--json"),
        "generate text": ("rpc", "emulated0", "generate", "size=7", "-F", "role=db", "-v"),
        "rpcutil ping": ("rpc", "rpcutil", "ping", "-I", node, "--json"),
        "rpcutil ping broadcast": ("rpc", "rpcutil", "ping", "-F", "role=web", "--json"),
        "rpcutil inventory": ("rpc", "rpcutil", "inventory", "-I", node, "-A", "rpcutil", "--json"),
        "rpcutil agent_inventory": ("rpc", "rpcutil", "agent_inventory", "-I", node, "--json"),
        "rpcutil daemon_stats": ("rpc", "rpcutil", "daemon_stats", "-I", node, "--json"),
        "rpcutil get_fact": ("rpc", "rpcutil", "get_fact", "fact=role", "-F", "country=mt", "--json"),
        "rpcutil collective_info": ("rpc", "rpcutil", "collective_info", "-T", "collective1", "-I", node, "--json"),
        "choria_util info": ("rpc", "choria_util", "info", "-I", node, "--json"),
        "inventory": ("inventory", node),
    }


# run-demo.sh's broadcast capture: without direct addressing mco rpc publishes to C.broadcast.agent.A
EXTRA_CFG = {"rpcutil ping broadcast": ("direct_addressing = 0",)}


@dataclass
class Matrix:
    network: EmulatedNetwork
    tls: bool
    signed: bool
    results: dict[str, McoResult]

    def __getitem__(self, key: str) -> McoResult:
        return self.results[key]

    def node(self, index: int) -> str:
        return f"{self.network.name}-{index}"

    def where(self, test: Any) -> set[str]:
        return self.network.identities_where(test)


@pytest.fixture(scope="module", params=list(SETUPS))
def matrix(request, brokers, emulators):
    tls, signed = SETUPS[request.param]
    name = "".join(word[0] for word in request.param.split("-"))  # pi, ps, ti, ts
    own = brokers.start(tls=tls)
    network = emulators.start(own, NETWORK_SIZE, name=name, secure=signed, tls=tls)
    url = network.broker.url
    calls = {
        key: (
            lambda key=key, args=args: mco(url, *args, tls=tls, insecure=not signed, extra_cfg=EXTRA_CFG.get(key, ()))
        )
        for key, args in commands(name).items()
    }
    yield Matrix(network, tls, signed, concurrently(calls, workers=4))
    network.stop()
    own.stop()


def pinged(result: McoResult) -> list[str]:
    """The node names of ``mco ping`` output (``NAME   time=1.23 ms``)."""
    return [line.split()[0] for line in result.lines if "time=" in line]


def found(result: McoResult) -> list[str]:
    return result.lines


def senders(result: McoResult) -> list[str]:
    assert result.rc == 0, result
    return [reply["sender"] for reply in result.json]


def test_ping_every_node_once(matrix):
    for key in ("ping", "ping collective1"):
        result = matrix[key]
        assert result.rc == 0, result
        names = pinged(result)
        assert sorted(names) == sorted(matrix.network.identities), result
        assert f"{NETWORK_SIZE} replies" in result.stdout, result


def test_ping_exact_identity(matrix):
    assert pinged(matrix["ping identity"]) == [matrix.node(3)], matrix["ping identity"]


def test_find_identity_regex(matrix):
    expected = {matrix.node(i) for i in (1, 10, 11)}
    assert sorted(found(matrix["find identity regex"])) == sorted(expected), matrix["find identity regex"]


def test_find_identity_exact(matrix):
    result = matrix["find identity exact"]
    assert sorted(found(result)) == sorted([matrix.node(3), matrix.node(4)]), result


def test_find_agent(matrix):
    assert sorted(found(matrix["find agent"])) == sorted(matrix.network.identities)
    assert found(matrix["find missing agent"]) == [], matrix["find missing agent"]


@pytest.mark.parametrize(
    ("key", "test"),
    [
        ("find fact", lambda f, c: f["role"] == "db"),
        ("find fact number", lambda f, c: f["cpus"] > 4),
        ("find class", lambda f, c: "database" in c),
        ("find class regex", lambda f, c: "webserver" in c),
        (
            "find compound",
            lambda f, c: f["role"] == "web" and (f["country"] == "mt" or "database" in c) and not f["cpus"] > 8,
        ),
        ("find collective1 fact", lambda f, c: f["country"] == "de"),
    ],
)
def test_find_by_facts_and_classes(matrix, key, test):
    expected = matrix.where(test)
    assert expected and expected != set(matrix.network.identities)  # the filter selects something, not all
    names = found(matrix[key])
    assert len(names) == len(set(names)) and set(names) == expected, matrix[key]


def test_generate_broadcast_reaches_every_node_once(matrix):
    result = matrix["generate broadcast"]
    names = senders(result)
    assert sorted(names) == sorted(matrix.network.identities), result
    for reply in result.json:
        assert reply["statuscode"] == 0 and reply["data"] == {"message": "01234"}, reply


def test_generate_directed(matrix):
    result = matrix["generate directed"]
    assert senders(result) == [matrix.node(5)], result
    assert result.json[0]["data"]["message"] == "012"
    discovered = matrix["generate discovered"]
    assert sorted(senders(discovered)) == sorted([matrix.node(10), matrix.node(11)]), discovered
    assert {r["data"]["message"] for r in discovered.json} == {"01234567890123456789"}  # size defaults to 20


def test_rpc_broadcast_without_direct_addressing(matrix):
    result = matrix["rpcutil ping broadcast"]
    expected = matrix.where(lambda f, c: f["role"] == "web")
    assert sorted(senders(result)) == sorted(expected), result


def test_generate_batched(matrix):
    result = matrix["generate batch"]
    names = senders(result)
    assert sorted(names) == sorted(matrix.network.identities), result  # every node once, 3 batches


def test_generate_text_output(matrix):
    result = matrix["generate text"]
    assert result.rc == 0, result
    dbs = sorted(matrix.where(lambda f, c: f["role"] == "db"))
    for name in dbs:
        assert re.search(rf"^{re.escape(name)}\s+: OK$", result.stdout, re.M), result
    assert result.stdout.count('{:message=>"0123456"}') == len(dbs), result  # -v: the reply data as Ruby sees it
    assert re.search(rf"Nodes: {len(dbs)} / {len(dbs)}\s+Pass / Fail: {len(dbs)} / 0", result.stdout), result


def only_reply(result: McoResult, sender: str) -> dict[str, Any]:
    assert senders(result) == [sender], result
    reply = result.json[0]
    assert reply["statuscode"] == 0 and reply["statusmsg"] == "OK", reply
    return reply["data"]


def test_rpcutil_actions(matrix):
    node = matrix.node(5)
    assert isinstance(only_reply(matrix["rpcutil ping"], node)["pong"], int)
    inventory = only_reply(matrix["rpcutil inventory"], node)
    assert inventory["facts"] == emulated_facts(5)
    assert inventory["classes"] == emulated_classes(5)
    assert inventory["collectives"] == ["mcollective", "collective1"]
    assert inventory["main_collective"] == "mcollective"
    assert {"discovery", "rpcutil", "choria_util", "emulated0", "emulated1"} == set(inventory["agents"])
    agents = only_reply(matrix["rpcutil agent_inventory"], node)["agents"]
    assert sorted(a["agent"] for a in agents) == sorted(inventory["agents"])
    stats = only_reply(matrix["rpcutil daemon_stats"], node)
    assert stats["total"] >= stats["passed"] >= stats["replies"] > 0
    assert stats["unvalidated"] == 0
    info = only_reply(matrix["rpcutil collective_info"], node)
    assert info == {"main_collective": "mcollective", "collectives": ["mcollective", "collective1"]}


def test_rpcutil_get_fact_with_discovery(matrix):
    result = matrix["rpcutil get_fact"]
    expected = matrix.where(lambda f, c: f["country"] == "mt")
    assert sorted(senders(result)) == sorted(expected), result
    by_node = {r["sender"]: r["data"] for r in result.json}
    for name, data in by_node.items():
        index = int(name.rsplit("-", 1)[1])
        assert data == {"fact": "role", "value": emulated_facts(index)["role"]}


def test_choria_util_info(matrix):
    info = only_reply(matrix["choria_util info"], matrix.node(5))
    assert info["secure_protocol"] is matrix.signed
    assert info["connector_tls"] is matrix.tls
    assert info["connected_server"].endswith(str(matrix.network.broker.port))


def test_inventory_application(matrix):
    result = matrix["inventory"]
    assert result.rc == 0, result
    text = result.stdout
    assert f"Inventory for {matrix.node(5)}:" in text, result
    for agent in ("choria_util", "discovery", "emulated0", "emulated1", "rpcutil"):
        assert re.search(rf"\b{agent}\b", text), result
    facts = emulated_facts(5)
    assert re.search(rf"role\s+=>\s+{facts['role']}", text), result
    assert re.search(rf"cpus\s+=>\s+{facts['cpus']}", text), result
    assert "database" in text and "base" in text, result  # configuration management classes


def test_nothing_was_malformed_or_refused(matrix):
    counters = matrix.network.counters()
    assert counters["malformed"] == 0, counters
    assert counters["unvalidated"] == 0, counters
    assert counters["replies"] > 0
