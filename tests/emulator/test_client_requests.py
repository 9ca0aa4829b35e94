"""``ChoriaClient.request`` takes one RequestSpec, and no client call changes the Filter it was given."""

from __future__ import annotations

import dataclasses

import pytest

from choria_emulator.client import ChoriaClient, RequestSpec, discover, ping, rpc
from choria_emulator.protocol import FactFilter, Filter, RPCRequest


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
