"""``type: mcollective`` node sets: broadcast discovery over a real nats-server against emulated Choria servers."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from choria_emulator.client import ClientConfig
from choria_emulator.nodesets import NodeSetContext, NodeSetError, resolve_node_set, resolve_node_sets
from choria_emulator.testing.localnet import Emulator

EVEN = ["emu-0", "emu-2", "emu-4", "emu-6"]  # country mt, class apache (fixtures/facts.yaml)
ODD = ["emu-1", "emu-3", "emu-5", "emu-7"]  # country de, class mysql


def discover(ctx: NodeSetContext, **options) -> list[str]:
    return resolve_node_set("servers", {"type": "mcollective", **options}, ctx).nodes


def test_default_discovers_every_node_with_rpcutil(net_ctx: NodeSetContext) -> None:
    assert sorted(discover(net_ctx)) == sorted(EVEN + ODD)


def test_identities_exact_and_regex(net_ctx: NodeSetContext) -> None:
    assert sorted(discover(net_ctx, identities=["emu-3", "/^emu-[56]$/"])) == ["emu-3", "emu-5", "emu-6"]


def test_fact_filter(net_ctx: NodeSetContext) -> None:
    assert sorted(discover(net_ctx, facts=["country=mt"])) == EVEN
    assert sorted(discover(net_ctx, facts=["country=/^d/", "role=emulated"])) == ODD


def test_class_filter(net_ctx: NodeSetContext) -> None:
    assert sorted(discover(net_ctx, classes=["mysql"])) == ODD


def test_agent_filter(net_ctx: NodeSetContext) -> None:
    assert sorted(discover(net_ctx, agents=["emulated1"])) == sorted(EVEN + ODD)
    with pytest.raises(NodeSetError, match="^Did not discover any nodes for nodeset servers$"):
        discover(net_ctx, agents=["puppet"])


def test_compound_filter(net_ctx: NodeSetContext) -> None:
    assert sorted(
        discover(net_ctx, compound='with("apache") and facts.country == "mt"', identities=["/emu-[0-3]/"])
    ) == ["emu-0", "emu-2"]


def test_compound_with_choria_method_uses_broadcast(net_ctx: NodeSetContext) -> None:
    assert sorted(discover(net_ctx, discovery_method="choria", compound='with("mysql")')) == ODD


def test_sub_collective(network, tmp_path: Path, client_config: ClientConfig) -> None:
    nats, _ = network
    extra = Emulator.start(nats.url, 2, "--collectives", "2", "--workers", "1", name="sub", workdir=tmp_path / "sub")
    try:
        ctx = NodeSetContext(client=client_config, rpc_timeout=3.0)
        resolved = resolve_node_sets({"sub": {"type": "mcollective", "collective": "collective1", "test": True}}, ctx)
        assert sorted(resolved["sub"].nodes) == ["sub-0", "sub-1"]
        assert resolved["sub"].hostvars["sub-0"] == {"collective": "collective1", "discovery_method": "mc"}
    finally:
        extra.stop()


def test_limit_and_host_vars(net_ctx: NodeSetContext) -> None:
    resolved = resolve_node_set("servers", {"type": "mcollective", "limit": 3}, net_ctx)
    assert len(resolved.nodes) == 3
    assert all(resolved.hostvars[n] == {"collective": "mcollective", "discovery_method": "mc"} for n in resolved.nodes)


def test_stopped_emulator_fails_the_connectivity_test(network, tmp_path: Path, client_config: ClientConfig) -> None:
    nats, _ = network
    doomed = Emulator.start(nats.url, 3, "--workers", "1", name="doomed", workdir=tmp_path / "doomed")
    ctx = NodeSetContext(client=client_config, rpc_timeout=2.0)
    try:
        specs = {"doomed": {"type": "mcollective", "identities": ["/^doomed-/"]}}
        assert sorted(resolve_node_sets(specs, ctx)["doomed"].nodes) == ["doomed-0", "doomed-1", "doomed-2"]
        # A node list discovered while they ran, then the emulator stops: the test names every missing node.
        nodes_file = tmp_path / "nodes.yaml"
        nodes_file.write_text("cluster: [emu-0, doomed-0, doomed-1, doomed-2]\n")
        doomed.stop()
        specs = {"cluster": {"type": "yaml", "source": str(nodes_file), "group": "cluster", "test": True}}
        with pytest.raises(NodeSetError) as err:
            resolve_node_sets(specs, ctx)
        assert (
            str(err.value)
            == "Connectivity test failed for some nodes: 3 of 4 node(s) did not respond: doomed-0, doomed-1, doomed-2"
        )
    finally:
        doomed.stop()


def test_unreachable_broker_is_one_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = NodeSetContext(client=ClientConfig.load(servers=[f"127.0.0.1:{port}"], search_default_files=False))
    with pytest.raises(
        NodeSetError, match=rf"^Node set servers: discovery failed: cannot connect to nats://127.0.0.1:{port}"
    ):
        discover(ctx)


def test_unreachable_broker_during_uses_check(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = NodeSetContext(
        client=ClientConfig.load(servers=[f"127.0.0.1:{port}"], search_default_files=False), uses={"rpcutil": "*"}
    )
    spec = {"type": "shell", "script": "echo node1", "uses": ["rpcutil"]}
    with pytest.raises(NodeSetError, match="^Could not determine agent inventory: cannot connect to"):
        resolve_node_sets({"s": spec}, ctx)


@pytest.mark.parametrize(
    "options, reason",
    [
        (
            {"discovery_method": "flatfile"},
            "unsupported discovery_method flatfile (use mc for broadcast discovery or choria for PuppetDB)",
        ),
        (
            {"facts": ["country"]},
            "option facts: could not parse fact country it does not appear to be in a valid format",
        ),
        ({"identity": ["x"]}, "unknown option identity for a mcollective node set"),
        ({"agents": {"a": 1}}, "option agents must be a list of strings"),
        ({"identities": ["/([/"]}, "invalid regular expression /([/"),
        ({"limit": "many"}, "option limit must be an integer, got 'many'"),
        ({"test": "perhaps"}, "option test must be true or false, got 'perhaps'"),
    ],
)
def test_bad_options_name_the_set_and_option(options: dict, reason: str) -> None:
    with pytest.raises(NodeSetError) as err:
        resolve_node_set("servers", {"type": "mcollective", **options}, NodeSetContext())
    assert err.value.reason.startswith(reason)
    assert str(err.value).startswith("Node set servers: ")
