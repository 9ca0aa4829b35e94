"""``emulate --ddl --scenario --seed --lifecycle`` end to end: a real nats-server, emulator processes,
and the project's client (the real Ruby mco is in tests/interop/test_scenario_agents.py)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import nats
import pytest
from scenario_support import LIBRARY_DDL, SCHEMAS

from choria_emulator.client import ChoriaClient, ClientConfig, discover, rpc
from choria_emulator.ddl.agent import load_paths
from choria_emulator.playbook import Playbook, RunOptions
from choria_emulator.protocol import Filter
from choria_emulator.testing.localnet import Emulator, NatsServer, http_json

SIZE = 30
NAMES = [f"emu-{i}" for i in range(SIZE)]
DDLS = {ddl.name: ddl for ddl in load_paths([str(LIBRARY_DDL)])}
PY_TYPES = {"string": str, "boolean": bool, "integer": int, "float": float, "hash": dict, "array": list}


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory):
    server = NatsServer.start(workdir=tmp_path_factory.mktemp("nats"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fleet(nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory):
    """30 nodes serving every shipped DDL agent with the blue-green scenario, two workers."""
    emulator = Emulator.start(
        nats_server.url,
        SIZE,
        "--ddl",
        "library",
        "--scenario",
        "blue-green",
        "--seed",
        "5",
        "--workers",
        "2",
        "--collectives",
        "2",
        workdir=tmp_path_factory.mktemp("fleet"),
    )
    yield emulator
    emulator.stop()


def run(coro):
    return asyncio.run(coro)


async def call(url: str, agent: str, action: str, data: dict | None = None, targets=None, **kwargs) -> Any:
    config = ClientConfig.load(servers=[url], search_default_files=False, identity="scenario-test")
    async with ChoriaClient(config) as client:
        return await rpc(client, agent, action, data or {}, targets=targets or NAMES, **kwargs)


def test_ddl_agents_are_subscribed_inventoried_and_discoverable(fleet: Emulator, nats_server: NatsServer):
    dv = fleet.debug_vars()
    assert dv["subscriptions_per_instance"] == 2 * (1 + 3 + 1 + 6)
    assert dv["scenario"]["agents"] == ["appmgr", "haproxy", "nrpe", "package", "puppet", "service"]
    subs = http_json(f"{nats_server.monitor}/subsz?subs=1&limit=100000")
    subjects = {s["subject"] for s in subs.get("subscriptions_list", [])}
    for agent in ("puppet", "nrpe", "appmgr", "haproxy", "service", "package"):
        assert f"mcollective.broadcast.agent.{agent}" in subjects
        assert f"collective1.broadcast.agent.{agent}" in subjects

    async def check() -> None:
        config = ClientConfig.load(servers=[nats_server.url], search_default_files=False, identity="t")
        async with ChoriaClient(config) as client:
            assert sorted(await discover(client, Filter(agent=["puppet"]), timeout=1.5)) == sorted(NAMES)
            assert sorted(await discover(client, Filter(agent=["/^app/", "nrpe"]), timeout=1.5)) == sorted(NAMES)
            assert await discover(client, Filter(agent=["acme"]), timeout=1.0) == []
            result = await rpc(client, "rpcutil", "agent_inventory", {}, targets=["emu-7"])
            inventory = {a["agent"]: a for a in result.replies[0]["data"]["agents"]}
            assert inventory["puppet"]["version"] == "2.5.0" and inventory["puppet"]["timeout"] == 20
            assert inventory["nrpe"]["version"] == "4.3.0" and inventory["appmgr"]["version"] == "1.0.0"
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
            result = await rpc(client, "rpcutil", "inventory", {}, targets=["emu-7"])
            assert {"puppet", "service", "package", "nrpe", "haproxy", "appmgr"} <= set(
                result.replies[0]["data"]["agents"]
            )

    run(check())


VALID_INPUTS = {
    ("puppet", "disable"): {"message": "maintenance"},
    ("puppet", "resource"): {"name": "ntp", "type": "service"},
    ("service", "start"): {"service": "httpd"},
    ("service", "stop"): {"service": "ntpd"},
    ("service", "restart"): {"service": "httpd"},
    ("service", "status"): {"service": "httpd"},
    ("package", "install"): {"package": "zsh"},
    ("package", "purge"): {"package": "zsh"},
    ("package", "search"): {"package": "zsh"},
    ("package", "status"): {"package": "zsh"},
    ("package", "uninstall"): {"package": "zsh"},
    ("package", "update"): {"package": "zsh"},
    ("nrpe", "runcommand"): {"command": "check_load"},
    ("haproxy", "disable"): {"backend": "app"},
    ("haproxy", "enable"): {"backend": "app"},
    ("haproxy", "status"): {"backend": "app"},
    ("appmgr", "upgrade"): {"revision": "1.0.0"},
}


@pytest.mark.parametrize("agent", ["puppet", "service", "package", "nrpe", "haproxy", "appmgr"])
def test_every_reply_carries_every_declared_output_with_its_type(fleet: Emulator, nats_server: NatsServer, agent):
    ddl = DDLS[agent]

    async def check() -> None:
        for name, action in ddl.actions.items():
            result = await call(nats_server.url, agent, name, VALID_INPUTS.get((agent, name), {}), targets=NAMES[:4])
            assert len(result.replies) + len(result.missing) == 4, (agent, name)
            for reply in result.replies:
                assert list(reply["data"]) == list(action.outputs), (agent, name, reply)
                for output, item in action.outputs.items():
                    kind = item.type.lower()
                    if kind in PY_TYPES:
                        value = reply["data"][output]
                        assert isinstance(value, PY_TYPES[kind]), (agent, name, output, value)
                        assert not (kind == "integer" and isinstance(value, bool))

    run(check())


def test_inputs_are_validated_with_go_chorias_codes_and_messages(fleet: Emulator, nats_server: NatsServer):
    cases = [
        (
            "puppet",
            "disable",
            {"message": "a;b"},
            1,
            "Validation failed: validation failed for input 'message': may not contain ';'",
        ),
        ("service", "stop", {}, 1, "Validation failed: input 'service' is required"),
        (
            "nrpe",
            "runcommand",
            {"command": "check load"},
            1,
            r"Validation failed: validation failed for input 'command': input does not match '\A[a-zA-Z0-9_-]+\z'",
        ),
        (
            "package",
            "yum_clean",
            {"mode": "everything"},
            1,
            "Validation failed: validation failed for input 'mode': should be one of all, headers, packages, "
            "metadata, dbcache, plugins, expire-cache",
        ),
        (
            "puppet",
            "runonce",
            {"noop": "yes"},
            1,
            "Validation failed: validation failed for input 'noop': is not a boolean",
        ),
        (
            "appmgr",
            "status",
            {"verbose": True},
            1,
            "Validation failed: request contains inputs while none are declared in the DDL",
        ),
        ("puppet", "reboot", {}, 2, "Unknown action reboot for agent puppet"),
    ]

    async def check() -> None:
        for agent, action, data, code, message in cases:
            result = await call(nats_server.url, agent, action, data, targets=NAMES[:3])
            assert [(r["statuscode"], r["statusmsg"]) for r in result.replies] == [(code, message)] * 3, (agent, action)
            if code == 1:
                assert list(result.replies[0]["data"]) == list(DDLS[agent].actions[action].outputs)

    run(check())


def test_state_is_per_node_and_shared_between_agents(fleet: Emulator, nats_server: NatsServer):
    async def check() -> None:
        url = nats_server.url
        targets = NAMES[10:20]
        upgrade = await call(url, "appmgr", "upgrade", {"revision": "3.1.4"}, targets=targets, timeout=40)
        assert {r["data"]["revision"] for r in upgrade.replies} == {"3.1.4"}
        assert {r["data"]["previous"] for r in upgrade.replies} == {"1.0.0"}
        deadline = time.monotonic() + 20
        while True:
            checks = await call(url, "nrpe", "runcommand", {"command": "check_app"}, targets=targets)
            codes = {r["sender"]: r["data"]["exitcode"] for r in checks.replies}
            if set(codes.values()) == {0} or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        assert set(codes.values()) == {0}, codes
        assert all("3.1.4" in r["data"]["output"] for r in checks.replies)
        untouched = await call(url, "appmgr", "status", {}, targets=NAMES[:10])
        assert {r["data"]["revision"] for r in untouched.replies} == {"1.0.0"}
        disabled = await call(url, "puppet", "disable", {"message": "deploy"}, targets=["emu-0"])
        assert disabled.replies[0]["data"] == {
            "status": "Succesfully locked the Puppet agent: deploy",
            "enabled": False,
        }
        status = await call(url, "puppet", "status", {}, targets=["emu-0", "emu-1"])
        by_node = {r["sender"]: r["data"] for r in status.replies}
        assert by_node["emu-0"]["enabled"] is False and by_node["emu-0"]["disable_message"] == "deploy"
        assert by_node["emu-1"]["enabled"] is True
        enabled = await call(url, "puppet", "enable", {}, targets=["emu-0"])
        assert enabled.replies[0]["statuscode"] == 0

    run(check())


def _first_answers(url: str, seed: str, workers: str, workdir: Path) -> dict[str, Any]:
    emulator = Emulator.start(
        url,
        40,
        *("--ddl", "puppet", "--scenario", "puppet", "--seed", seed, "--workers", workers),
        name="seeded",
        workdir=workdir,
    )
    try:
        result = asyncio.run(call(url, "puppet", "status", {}, targets=[f"seeded-{i}" for i in range(40)]))
        assert len(result.replies) == 40
        return {r["sender"]: r["data"]["applying"] for r in result.replies}
    finally:
        emulator.stop()


def test_the_same_seed_makes_the_same_fleet_whatever_the_worker_count(nats_server: NatsServer, tmp_path: Path):
    one = _first_answers(nats_server.url, "11", "1", tmp_path / "a")
    two = _first_answers(nats_server.url, "11", "2", tmp_path / "b")
    other = _first_answers(nats_server.url, "12", "1", tmp_path / "c")
    assert one == two
    assert one != other
    assert 1 <= sum(one.values()) <= 2 and 1 <= sum(other.values()) <= 2  # 3 % of 40 nodes


LIFECYCLE = {
    kind: json.loads((SCHEMAS / f"lifecycle-{kind}.json").read_text()) for kind in ("startup", "alive", "shutdown")
}


def test_lifecycle_events_startup_alive_and_shutdown(nats_server: NatsServer, tmp_path: Path):
    events: list[tuple[str, dict]] = []

    async def listen(ready: asyncio.Event, done: asyncio.Event) -> None:
        nc = await nats.connect(nats_server.url)

        async def got(msg) -> None:
            events.append((msg.subject, json.loads(msg.data)))

        await nc.subscribe("choria.lifecycle.event.>", cb=got)
        await nc.flush()
        ready.set()
        await done.wait()
        await nc.flush()
        await asyncio.sleep(0.3)
        await nc.close()

    async def scenario() -> None:
        ready, done = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(listen(ready, done))
        await ready.wait()
        emulator = await asyncio.to_thread(
            Emulator.start,
            nats_server.url,
            12,
            "--lifecycle",
            "--lifecycle-interval",
            "1",
            "--workers",
            "2",
            name="life",
            workdir=tmp_path,
        )
        await asyncio.sleep(2.5)
        counters = (await asyncio.to_thread(emulator.debug_vars))["counters"]
        await asyncio.to_thread(emulator.stop)
        done.set()
        await task
        assert counters["events"] >= 12

    asyncio.run(scenario())
    kinds: dict[str, list[dict]] = {"startup": [], "alive": [], "shutdown": []}
    for subject, event in events:
        assert event["specversion"] == "1.0" and event["source"] == "io.choria.lifecycle"
        kind = subject.split(".")[3]
        assert subject == f"choria.lifecycle.event.{kind}.server"
        jsonschema.validate(event["data"], LIFECYCLE[kind])
        assert event["subject"] == event["data"]["identity"]
        kinds[kind].append(event["data"])
    names = sorted(f"life-{i}" for i in range(12))
    assert sorted(e["identity"] for e in kinds["startup"]) == names
    assert sorted(e["identity"] for e in kinds["shutdown"]) == names
    assert {e["identity"] for e in kinds["alive"]} == set(names)  # every node within the first 1 s interval
    assert 12 <= len(kinds["alive"]) <= 40


def test_churn_disconnects_and_late_starters(nats_server: NatsServer, tmp_path: Path):
    scenario = tmp_path / "churn.yaml"
    scenario.write_text(
        "scenario: 1\n"
        "churn:\n"
        "  late: {percent: 25, delay: {distribution: uniform, min: 2, max: 3}}\n"
        "  disconnect: {percent: 25, every: {distribution: uniform, min: 0.3, max: 0.6}, down: 0.4}\n"
    )
    emulator = Emulator.start(
        nats_server.url, 20, "--ddl", "nrpe", "--scenario", str(scenario), workdir=tmp_path, wait_connected=False
    )
    try:
        time.sleep(1.2)
        early = emulator.debug_vars()
        assert early["connected"] <= 16  # the 5 late starters are not there yet (and churned ones may be down)
        emulator.wait_connected(20, timeout=15)  # everyone, late starters included, comes up
        time.sleep(2.0)
        later = emulator.debug_vars()
        assert later["reconnects"] >= 5  # the churning nodes dropped their connections and came back
    finally:
        emulator.stop()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--ddl", "nope"], "--ddl nope: no such file or directory"),
        (["--scenario", "puppet"], "agents.puppet: no DDL of agent puppet is loaded (--ddl; loaded: none)"),
        (["--ddl", "nrpe", "--seed", "1"], None),
        (["--seed", "1"], "--seed needs --scenario"),
        (["--ddl", "puppet", "--lifecycle-interval", "0"], "--lifecycle-interval must be a positive number"),
    ],
)
def test_bad_ddl_and_scenario_flags_stop_the_emulator_with_one_line(tmp_path: Path, flags, message):
    command = [sys.executable, "-m", "choria_emulator", "emulate", "-i", "1", "--http-port", "-1", *flags]
    if message is None:
        command += ["--server", "127.0.0.1:1", "--pid-file", str(tmp_path / "missing" / "pid")]
        message = "--pid-file: directory"  # got past the DDL checks
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("ranges", "error"),
    [
        ({"puppet": "~2.5", "nrpe": ">= 4.0.0"}, None),
        ({"puppet": "~1.0", "nrpe": ">= 4.0.0"}, "DDLs for agent(s) puppet did not match desired versions"),
    ],
)
def test_playbook_uses_ranges_see_the_ddl_versions(fleet: Emulator, nats_server: NatsServer, ranges, error):
    """The local check reads the DDL files; the node set's ``uses`` asks every node's agent_inventory."""
    book = {
        "name": "uses_check",
        "version": "1.0.0",
        "author": "test",
        "description": "uses ranges against emulated DDL agents",
        "run_as": "choria=test.mcollective",
        "uses": ranges,
        "nodes": {"fleet": {"type": "mcollective", "agents": ["puppet"], "uses": ["puppet", "nrpe"]}},
        "tasks": [{"mcollective": {"nodes": "{{{ nodes.fleet }}}", "action": "puppet.status", "silent": True}}],
    }
    config = ClientConfig.load(servers=[nats_server.url], search_default_files=False, identity="uses-test")
    options = RunOptions(client=config, quiet=True, discovery_timeout=1.5, extra={"ddl_path": [str(LIBRARY_DDL)]})
    report = Playbook.load(book, options).run({})
    if error is None:
        assert report["report"]["success"], report["report"]
        assert sorted(report["nodes"]["fleet"]) == sorted(NAMES)
    else:
        assert not report["report"]["success"]
        assert error in str(report["report"]["playbook_error"])


def test_the_network_check_of_uses_reads_each_nodes_inventory(fleet: Emulator, nats_server: NatsServer, tmp_path):
    """Local DDLs that match, a network whose DDL agents are older: the node-set check names them."""
    local = tmp_path / "ddl"
    local.mkdir()
    newer = json.loads((LIBRARY_DDL / "puppet.json").read_text())
    newer["metadata"]["version"] = "3.0.0"
    (local / "puppet.json").write_text(json.dumps(newer))
    book = {
        "name": "uses_network",
        "version": "1.0.0",
        "author": "test",
        "description": "network uses check",
        "run_as": "choria=test.mcollective",
        "uses": {"puppet": ">= 3.0.0"},
        "nodes": {"fleet": {"type": "mcollective", "agents": ["puppet"], "uses": ["puppet"]}},
        "tasks": [{"mcollective": {"nodes": "{{{ nodes.fleet }}}", "action": "puppet.status", "silent": True}}],
    }
    config = ClientConfig.load(servers=[nats_server.url], search_default_files=False, identity="uses-test")
    options = RunOptions(client=config, quiet=True, discovery_timeout=1.5, extra={"ddl_path": [str(local)]})
    report = Playbook.load(book, options).run({})
    assert not report["report"]["success"]
    warnings = [entry["msg"] for entry in report["logs"] if entry["level"] == "warn"]
    assert "Agent puppet on emu-3 version 2.5.0 does not match desired version >= 3.0.0" in warnings
