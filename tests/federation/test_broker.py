"""A real broker process between a federation nats-server and two collective nats-servers."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import nats
import pytest

from choria_emulator.client import ChoriaClient, ClientConfig, ping, rpc
from choria_emulator.protocol import Federation, Request
from choria_emulator.protocol.messages import decode_reply, encode_request

from .conftest import A_NODES, B_NODES


def client_config(url: str) -> ClientConfig:
    return ClientConfig.load(servers=[url], search_default_files=False, identity="fed-client")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "choria_emulator", *args], capture_output=True, text=True, timeout=60)


def test_ping_through_one_broker_sees_both_collective_networks(fed_net, broker_factory):
    broker = broker_factory("NET", [fed_net.federation.url], [fed_net.a.url, fed_net.b.url])
    result = cli("ping", "--server", fed_net.federation.url, "--federation", "NET", "--json", "--timeout", "1")
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads(result.stdout)["nodes"]) == sorted(A_NODES + B_NODES)
    status = broker.debug_vars()
    assert status["requests"]["received"] == 1
    assert status["requests"]["published"] == 2  # the broadcast subject on each collective network
    assert status["replies"] == {**status["replies"], "received": 50, "published": 50, "errors": 0}


def test_discover_through_the_broker_with_a_filter(fed_net, broker_factory):
    broker_factory("NET", [fed_net.federation.url], [fed_net.a.url, fed_net.b.url])
    result = cli(
        "discover",
        "--server",
        fed_net.federation.url,
        "--federation",
        "NET",
        "--json",
        "--timeout",
        "1",
        "-I",
        f"/^{A_NODES[0]}$/",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [A_NODES[0]]


def test_nothing_answers_without_the_broker_or_with_another_network_name(fed_net, broker_factory):
    broker_factory("NET", [fed_net.federation.url], [fed_net.a.url])
    result = cli("ping", "--server", fed_net.federation.url, "--federation", "OTHER", "--json", "--timeout", "0.5")
    assert json.loads(result.stdout)["nodes"] == {}
    assert result.returncode == 1


async def test_directed_rpc_through_the_broker_reaches_every_target(fed_net, broker_factory):
    broker_factory("NET", [fed_net.federation.url], [fed_net.a.url, fed_net.b.url])
    targets = sorted(A_NODES + B_NODES)
    async with ChoriaClient(client_config(fed_net.federation.url)) as client:
        result = await rpc(
            client, "emulated0", "generate", {"size": 12}, targets=targets, directed=True, timeout=5, federation="NET"
        )
    assert result.stats.ok == 50 and result.stats.noresponses == 0 and result.stats.unexpected == 0
    assert {r["data"]["message"] for r in result.replies} == {"012345678901"}


async def test_one_broker_per_collective_and_a_federation_list(fed_net, broker_factory):
    """go-choria's layout: a broker per collective, the client publishes to every federation it lists."""
    broker_factory("east", [fed_net.federation.url], [fed_net.a.url])
    broker_factory("west", [fed_net.federation.url], [fed_net.b.url])
    async with ChoriaClient(client_config(fed_net.federation.url)) as client:
        both = await ping(client, timeout=5, expect=50, federation="east,west")
        east = await ping(client, timeout=0.5, federation="east")
    assert sorted(both.times) == sorted(A_NODES + B_NODES)
    assert sorted(east.times) == sorted(A_NODES)


async def test_daemon_replies_carry_the_federation_header_the_broker_needs(fed_net):
    """What go-choria's protocol.CopyFederationData does: the reply keeps req and reply-to."""
    nc = await nats.connect(fed_net.a.url)
    try:
        inbox = "choria.federation.NET.collective"
        sub = await nc.subscribe(inbox)
        request = Request(
            message="cGluZw==",
            senderid="t",
            callerid="choria=t.mcollective",
            collective="mcollective",
            agent="discovery",
        )
        data = encode_request(
            request, inbox, "t", federation=Federation(request.requestid, "mcollective.reply.x.y", [])
        )
        await nc.publish("mcollective.node.a-3", data)
        msg = await sub.next_msg(timeout=5)
        reply = decode_reply(msg.data)
        assert reply.sender == "a-3"
        assert reply.transport.federation is not None
        assert (reply.transport.federation.request_id, reply.transport.federation.reply_to) == (
            request.requestid,
            "mcollective.reply.x.y",
        )
        assert list(json.loads(msg.data)["headers"]) == ["mc_sender", "seen-by", "federation"]
    finally:
        await nc.close()


async def test_bad_messages_are_counted_and_the_broker_keeps_relaying(fed_net, broker_factory):
    broker = broker_factory("NET", [fed_net.federation.url], [fed_net.a.url])
    nc = await nats.connect(fed_net.federation.url)
    try:
        for junk in (b"", b"not json", b'{"protocol":"choria:transport:1","data":"eA==","headers":{}}'):
            await nc.publish("choria.federation.NET.federation", junk)
        await nc.flush()
    finally:
        await nc.close()
    async with ChoriaClient(client_config(fed_net.federation.url)) as client:
        result = await ping(client, timeout=5, expect=20, federation="NET")
    assert result.count == 20
    for _ in range(50):
        if broker.debug_vars()["requests"]["errors"] == 3:
            break
        await asyncio.sleep(0.05)
    assert broker.debug_vars()["requests"]["errors"] == 3
    metrics = broker.metrics()
    assert (
        'choria_federation_errors{name="choria_request_transformer",worker="0",connected_to="unconnected",cluster="NET"'
        in metrics
    )
    assert broker.process.poll() is None


def test_bad_arguments_are_one_clear_line(fed_net):
    result = cli(
        "federation",
        "--name",
        "bad name",
        "--federation-server",
        fed_net.federation.url,
        "--collective-server",
        fed_net.a.url,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "choria-emulator federation: --name 'bad name' is not usable in a NATS subject (no spaces or wildcards)"
    ]
    result = cli(
        "federation", "--name", "NET", "--federation-server", "nats://:1", "--collective-server", fed_net.a.url
    )
    assert result.returncode == 2 and "bad --server" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_broker_stops_on_signal(fed_net, broker_factory, signal_name):
    import signal

    broker = broker_factory("NET", [fed_net.federation.url], [fed_net.a.url])
    broker.process.send_signal(getattr(signal, signal_name))
    assert broker.process.wait(10) == 0


def test_measure_through_the_federation_reaches_both_collectives(fed_net, broker_factory, tmp_path):
    from choria_emulator.measure import read_requests

    broker = broker_factory("NET", [fed_net.federation.url], [fed_net.a.url, fed_net.b.url])
    for extra in ([], ["--force-direct"]):
        outdir = tmp_path / ("direct" if extra else "broadcast")
        result = cli(
            "measure",
            "2",
            "50",
            "federated",
            str(outdir),
            "--server",
            fed_net.federation.url,
            "--federation",
            "NET",
            "--dt",
            "1",
            "--no-events",
            *extra,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert [(r["ok"], r["noresponses"]) for r in read_requests(outdir)] == [(50, 0), (50, 0)]
        assert json.loads((outdir / "report.json").read_text())["federation"] == "NET"
    assert broker.debug_vars()["replies"]["published"] == 2 * (50 + 2 * 50)
