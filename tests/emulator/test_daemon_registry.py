"""The agent registry: plug-in agents are subscribed, inventoried, discovered and dispatched like built-ins.

A worker runs in-process on the test's event loop against the real nats-server, with a
``puppet``-like plug-in agent that keeps per-node state in an array indexed by slot, replies
later, not at all, or after input validation; the real client calls it.
"""

from __future__ import annotations

import asyncio
from array import array
from typing import Any

import pytest

from choria_emulator.client import discover, rpc
from choria_emulator.daemon.agents import build_registry
from choria_emulator.daemon.config import EmulatorConfig
from choria_emulator.daemon.registry import Action, Agent, AgentRegistry, Later, fail, ok
from choria_emulator.daemon.worker import Worker
from choria_emulator.natsproto import parse_server
from choria_emulator.protocol import StatusCode


class PuppetLike:
    """A plug-in as the DDL-driven agents will be: state in per-worker arrays, replies now, later or never."""

    def __init__(self) -> None:
        self.enabled = array("b")
        self.calls: dict[str, int] = {}
        self.agent = Agent(
            "puppet",
            {
                "status": Action(self.status),
                "disable": Action(self.disable),
                "hang": Action(lambda ctx, request: None),
                "greet": Action(self.greet, validate=self.check_name),
                "version": Action(self.version, shared=True),
            },
            metadata={"version": "2.4.0", "description": "Puppet agent (test plug-in)", "timeout": 20},
            setup=self.setup,
        )

    def setup(self, services: Any) -> None:
        self.enabled = array("b", [1]) * services.size

    def count(self, action: str) -> None:
        self.calls[action] = self.calls.get(action, 0) + 1

    def status(self, ctx: Any, request: Any) -> str:
        self.count("status")
        return ok({"enabled": bool(self.enabled[ctx.slot]), "node": ctx.identity})

    def disable(self, ctx: Any, request: Any) -> Later:
        self.count("disable")

        def done() -> str:
            self.enabled[ctx.slot] = 0
            return ok({"status": "disabled: " + request.data.get("message", "")})

        return Later(0.2, done)

    def check_name(self, data: dict[str, Any]) -> str | None:
        self.count("validate")
        if not isinstance(data.get("name"), str):
            return fail(StatusCode.INVALID_DATA, "Validation failed: name should be a string")
        return None

    def greet(self, ctx: Any, request: Any) -> str:
        self.count("greet")
        return ok({"greeting": f"hello {request.data['name']} from {ctx.identity}"})

    def version(self, ctx: Any, request: Any) -> str:
        self.count("version")
        return ok({"version": "2.4.0"})


def test_the_registry_derives_subscriptions_actions_and_inventory():
    plugin = PuppetLike()
    registry = build_registry(2, [plugin.agent])
    assert registry.names() == ("discovery", "rpcutil", "choria_util", "emulated0", "emulated1", "puppet")
    assert registry.known_agents() == ("choria_util", "discovery", "emulated0", "emulated1", "puppet", "rpcutil")
    assert registry.actions()["puppet"] == {"status", "disable", "hang", "greet", "version"}
    assert registry.actions()["emulated1"] == {"generate"}
    assert "get_facts" in registry.actions()["rpcutil"] and registry.actions()["discovery"] == frozenset()
    assert registry.known_action("puppet", "disable") and not registry.known_action("puppet", "enable")
    assert not registry.known_action("nosuch", "status")
    inventory = {entry["agent"]: entry for entry in registry.inventory()}
    assert inventory["puppet"]["version"] == "2.4.0" and inventory["puppet"]["name"] == "puppet"
    assert list(inventory["puppet"]) == [
        "agent",
        "license",
        "author",
        "timeout",
        "name",
        "version",
        "url",
        "description",
    ]
    with pytest.raises(ValueError, match="registered twice"):
        AgentRegistry([plugin.agent, plugin.agent])


@pytest.mark.parametrize("name", ["rpcutil", "emulated0", "pup pet", "pup.pet", "*", ">", "", "x" * 200])
def test_a_plugin_name_that_is_taken_or_not_a_subject_token_is_refused(name):
    agent = Agent(name, {})
    with pytest.raises(ValueError, match="agent name"):
        EmulatorConfig(instances=1, name="unit", servers=[parse_server("127.0.0.1:4222")], plugins=(agent,))


@pytest.fixture
async def plugin_worker(nats_server):
    plugin = PuppetLike()
    config = EmulatorConfig(
        instances=5, name="plug", servers=[parse_server(nats_server.url)], workers=1, plugins=(plugin.agent,)
    )
    worker = Worker(config, range(5))
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(worker.run(stop))
    for _ in range(200):
        if worker.connected == 5:
            break
        await asyncio.sleep(0.05)
    assert worker.connected == 5
    yield worker, plugin
    stop.set()
    await task


async def test_a_plugin_agent_is_subscribed_discovered_and_inventoried(plugin_worker, client):
    worker, _ = plugin_worker
    nodes = [f"plug-{i}" for i in range(5)]
    assert worker.config.subscriptions_per_instance == 1 + 5
    assert sorted(await discover(client, agent="puppet", timeout=2)) == nodes
    result = await rpc(client, "rpcutil", "agent_inventory", targets=["plug-2"], timeout=10)
    agents = {entry["agent"]: entry for entry in result.replies[0]["data"]["agents"]}
    assert agents["puppet"]["version"] == "2.4.0" and agents["puppet"]["timeout"] == 20
    result = await rpc(client, "rpcutil", "inventory", targets=["plug-2"], timeout=10)
    assert "puppet" in result.replies[0]["data"]["agents"]


async def test_a_plugin_keeps_per_node_state_and_replies_later(plugin_worker, client):
    _, plugin = plugin_worker
    result = await rpc(client, "puppet", "status", targets=["plug-1", "plug-3"], timeout=10)
    assert {r["sender"]: r["data"]["enabled"] for r in result.replies} == {"plug-1": True, "plug-3": True}
    result = await rpc(client, "puppet", "disable", {"message": "deploy"}, targets=["plug-1"], timeout=10)
    assert [(r["sender"], r["data"]) for r in result.replies] == [("plug-1", {"status": "disabled: deploy"})]
    assert result.replies[0]["time_ms"] >= 150  # behaviour, not speed: a Later(0.2) reply is never early
    result = await rpc(client, "puppet", "status", targets=["plug-1", "plug-3"], timeout=10)
    assert {r["sender"]: r["data"]["enabled"] for r in result.replies} == {"plug-1": False, "plug-3": True}


async def test_a_plugin_action_may_never_reply(plugin_worker, client):
    result = await rpc(client, "puppet", "hang", targets=["plug-0", "plug-4"], timeout=1)
    assert result.replies == [] and sorted(result.missing) == ["plug-0", "plug-4"]


async def test_validation_and_shared_actions_run_once_per_request_per_worker(plugin_worker, client):
    _, plugin = plugin_worker
    nodes = [f"plug-{i}" for i in range(5)]
    result = await rpc(client, "puppet", "greet", {"name": 5}, filter=None, targets=nodes, directed=False, timeout=5)
    assert len(result.replies) == 5
    assert {(r["statuscode"], r["statusmsg"]) for r in result.replies} == {
        (4, "Validation failed: name should be a string")
    }
    assert plugin.calls.get("validate") == 1 and "greet" not in plugin.calls
    result = await rpc(client, "puppet", "version", targets=nodes, directed=False, timeout=5)
    assert sorted(r["sender"] for r in result.replies) == nodes and plugin.calls["version"] == 1
    result = await rpc(client, "puppet", "greet", {"name": "ops"}, targets=["plug-2"], timeout=5)
    assert result.replies[0]["data"] == {"greeting": "hello ops from plug-2"}
    result = await rpc(client, "puppet", "enable", targets=["plug-2"], timeout=5)
    assert (result.replies[0]["statuscode"], result.replies[0]["statusmsg"]) == (
        2,
        "Unknown action enable for agent puppet",
    )
