"""``ChoriaClient.request`` takes one RequestSpec, and no client call changes the Filter it was given."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import nats
import pytest

from choria_emulator.client import ChoriaClient, ClientConfig, ClientError, RequestSpec, discover, ping, rpc
from choria_emulator.protocol import FactFilter, Filter, Reply, RPCRequest
from choria_emulator.protocol.messages import encode_reply
from choria_emulator.protocol.transport import Transport
from choria_emulator.testing.localnet import http_json


def a_filter() -> Filter:
    return Filter(identity=["/emu/"], fact=[FactFilter.parse("role=web")], cf_class=["apache"], agent=["rpcutil"])


def test_a_spec_is_a_value():
    spec = RequestSpec("emulated0", "{}", targets=["emu-1", "emu-2"])
    assert spec.targets == ("emu-1", "emu-2")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.timeout = 1  # type: ignore[misc]
    longer = spec.replace(timeout=30.0)
    assert (spec.timeout, longer.timeout, longer.targets) == (10.0, 30.0, spec.targets)


def test_requests_to_known_nodes_carry_their_agent_without_changing_the_callers_filter():
    filt = a_filter()
    before = filt.to_dict()
    spec = RequestSpec("emulated0", "{}", filter=filt, targets=["emu-1"])
    assert spec.wire_filter().agent == ["rpcutil", "emulated0"]
    assert spec.replace(targets=None, directed=False).wire_filter() is filt  # a broadcast without targets: as given
    assert RequestSpec.discovery(filt, timeout=1).wire_filter().agent == ["rpcutil"]  # discovery never adds its agent
    assert filt.to_dict() == before


async def test_discover_ping_and_rpc_leave_the_filter_alone(small_network, client):
    filt = Filter(identity=["/^emu-[0-4]$/"])
    before = filt.to_dict()
    assert sorted(await discover(client, filt, agent="emulated1", timeout=1)) == [f"emu-{i}" for i in range(5)]
    assert (await ping(client, filt, timeout=5, expect=5)).count == 5
    result = await rpc(client, "emulated0", "generate", {"size": 2}, filter=filt, timeout=5, discovery_timeout=1)
    assert result.stats.ok == 5
    result = await rpc(client, "emulated1", "generate", {"size": 2}, filter=filt, directed=False, timeout=5)
    assert result.stats.ok == 5
    assert filt.to_dict() == before


@pytest.mark.parametrize(
    "changes",
    [{"timeout": float("nan")}, {"timeout": float("inf")}, {"timeout": -1.0}, {"batch_sleep": float("nan")}],
    ids=str,
)
def test_a_spec_refuses_timeouts_that_would_wait_forever(changes):
    with pytest.raises(ValueError, match="must be a finite number of seconds"):
        RequestSpec("discovery", "cGluZw==", **changes)


async def test_collector_processes_share_the_replies(small_network, client_config):
    """collectors=3: the broker deals the replies among three inboxes (a queue group), every one is counted once."""
    config = dataclasses.replace(client_config, collectors=3)
    async with ChoriaClient(config) as c:
        shared = 0
        for _ in range(3):
            result = await ping(c, timeout=10, expect=10)
            assert sorted(result.times) == sorted(f"emu-{i}" for i in range(10))
        replies = await rpc(c, "emulated0", "generate", {"size": 5}, directed=False, timeout=10)
        assert replies.stats.ok == 10 and replies.stats.noresponses == 0
        assert {r["data"]["message"] for r in replies.replies} == {"01234"}
        outcome = await c.request(
            RequestSpec(
                "emulated1",
                RPCRequest("emulated1", "generate", {}).encode(),
                timeout=10,
                targets=[f"emu-{i}" for i in range(10)],
            )
        )
        shared += outcome.by_collectors
        assert not outcome.missing and len(outcome.senders) == 10
        processes = [p for p, _ in c.collectors.processes]
        assert len(processes) == 2 and all(p.is_alive() for p in processes)
    assert shared > 0  # some replies went to the helper processes
    assert not any(p.is_alive() for p in processes)  # closing the client stops them


def kernel_socket_buffering() -> int:
    """The most bytes Linux may buffer on one loopback TCP connection: receive plus send buffer maxima."""
    total = 0
    for name in ("tcp_rmem", "tcp_wmem"):
        total += int(Path(f"/proc/sys/net/ipv4/{name}").read_text().split()[2])
    return total


async def test_a_client_dropped_as_a_slow_consumer_says_so_and_what_to_change(fresh_nats, tmp_path):
    """Issue 16: never silently slow-consumed. A broker with a small max_pending, replies flooding in, a client
    that reads slowly: the request fails at once with the reason and the remedy instead of waiting out its timeout."""
    conf = tmp_path / "small-pending.conf"
    conf.write_text("max_pending: 262144\nmax_payload: 65536\n")
    server = fresh_nats("-c", str(conf))
    reply = encode_reply(Reply("cGluZw==", "x" * 32, "flood", "discovery"), "flood", None)
    flooder = await nats.connect(server.url)

    # More replies than the kernel can hold for the stalled client (its receive buffer grows up to tcp_rmem's
    # maximum, 32 MiB here, plus the broker's send buffer): only then does the broker's pending pass max_pending.
    # 30,000 replies (16 MB) were not always enough: the request then simply succeeded.
    count = max(30000, (kernel_socket_buffering() + 4 * 262144) * 3 // 2 // len(reply))

    async def flood(msg: Any) -> None:
        reply_to = Transport.decode(msg.data).reply_to
        for i in range(count):
            await flooder.publish(reply_to, reply.replace(b"flood", b"f%06d" % i))
        await flooder.flush()

    await flooder.subscribe("mcollective.broadcast.agent.discovery", cb=flood)
    await flooder.flush()
    config = ClientConfig.load(servers=[server.url], search_default_files=False, identity="slow")
    stalled: list[bool] = []

    def stall() -> None:
        if not stalled:
            stalled.append(True)
            time.sleep(3)

    try:
        async with ChoriaClient(config) as client:
            started = time.monotonic()
            with pytest.raises(ClientError) as failure:
                await ping(client, timeout=60, on_reply=lambda record: stall())  # a reader that stops for 3 s
            assert time.monotonic() - started < 30
        message = str(failure.value)
        assert message.startswith("request to discovery failed after ")
        assert "the broker closed the reply connection" in message and "slow consumer" in message
        assert "--collectors N" in message and "max_pending" in message
        closed = http_json(f"{server.monitor}/connz?state=closed")["connections"]
        assert any(c.get("reason") == "Slow Consumer (Pending Bytes)" for c in closed)
    finally:
        await flooder.close()
