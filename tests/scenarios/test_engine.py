"""The behaviour engine in one worker: replies, rates, latency, state, determinism, sharing."""

from __future__ import annotations

import asyncio
import json
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from scenario_support import LIBRARY, LIBRARY_DDL

from choria_emulator.ddl.agent import load_paths
from choria_emulator.scenario import Scenario, rng
from choria_emulator.scenario.engine import Engine, RequestView

DDLS = load_paths([str(LIBRARY_DDL)])


@dataclass
class Node:
    slot: int
    index: int
    identity: str
    facts: dict[str, Any] = field(default_factory=dict)
    classes: tuple[str, ...] = ()


def nodes(count: int, start: int = 0, facts: dict[str, Any] | None = None) -> list[Node]:
    shared = facts or {}
    return [Node(slot, start + slot, f"emu-{start + slot}", shared) for slot in range(count)]


def scenario(text: str) -> Scenario:
    return Scenario(yaml.safe_load(text), DDLS, "test.yaml")


def body(reply) -> dict[str, Any]:
    return json.loads(reply.body)


def ask(engine: Engine, agent: str, action: str, data: dict | None = None, who=None):
    request = RequestView(agent, action, data or {}, caller="choria=test.mcollective")
    return [engine.respond(node, request) for node in (who if who is not None else engine.nodes)], request


def test_without_a_scenario_every_action_answers_its_typed_defaults():
    engine = Engine(DDLS, nodes(3))
    replies, request = ask(engine, "puppet", "status")
    assert len({id(r) for r in replies}) == 1  # one reply object shared by every node
    data = body(replies[0])
    assert data["statuscode"] == 0 and data["statusmsg"] == "OK"
    assert data["data"]["since_lastrun"] == 0 and data["data"]["enabled"] is False
    replies, _ = ask(engine, "puppet", "stop")
    assert body(replies[0]) == {"statuscode": 2, "statusmsg": "Unknown action stop for agent puppet", "data": {}}
    replies, _ = ask(engine, "puppet", "disable", {"message": "x" * 121})
    assert body(replies[0])["statuscode"] == 1
    assert body(replies[0])["statusmsg"] == (
        "Validation failed: validation failed for input 'message': is longer than 120 characters"
    )
    assert body(replies[0])["data"] == {"status": "", "enabled": False}


async def test_state_changes_replies_and_later_transitions():
    engine = Engine(DDLS, nodes(4), Scenario.load(LIBRARY / "puppet.yaml", DDLS), seed=3)
    engine.start(lambda *a: None)
    replies, _ = ask(engine, "puppet", "disable", {"message": "deploying"})
    first = body(replies[0])
    assert first["data"] == {"status": "Succesfully locked the Puppet agent: deploying", "enabled": False}
    assert all(r.delay > 0 for r in replies)  # lognormal latency
    again, _ = ask(engine, "puppet", "disable", {"message": "again"})
    assert body(again[0])["statuscode"] == 1
    assert body(again[0])["statusmsg"] == "Could not disable Puppet: Already disabled"
    status, _ = ask(engine, "puppet", "status")
    data = body(status[0])["data"]
    assert data["enabled"] is False and data["status"] == "disabled" and data["disable_message"] == "deploying"
    runonce, _ = ask(engine, "puppet", "runonce")
    assert body(runonce[0])["statusmsg"] == "Puppet is disabled: 'deploying'"
    ask(engine, "puppet", "enable")
    runonce, _ = ask(engine, "puppet", "runonce")
    assert body(runonce[0])["statuscode"] == 0
    assert engine.state.get(0, "applying") is True and engine.state.get(0, "idling") is False
    busy, _ = ask(engine, "puppet", "runonce")
    assert body(busy[0])["statusmsg"] == "Puppet is currently applying a catalog, cannot run now"
    assert len(engine.timers) == 4  # one "after" per node, on the worker's one heap


async def test_after_transitions_run_from_the_heap():
    text = """
scenario: 1
state: {healthy: {type: boolean, default: true}, revision: {type: string, default: "1.0"}}
agents:
  appmgr:
    actions:
      upgrade:
        set: {healthy: false, revision: "{{ inputs.revision }}"}
        after: [{delay: {distribution: uniform, min: 0.05, max: 0.15}, set: {healthy: true}}]
        reply: {revision: "{{ state.revision }}", changed: true}
"""
    engine = Engine(DDLS, nodes(50), scenario(text), seed=1)
    engine.start(lambda *a: None)
    replies, _ = ask(engine, "appmgr", "upgrade", {"revision": "2.0"})
    assert {body(r)["data"]["revision"] for r in replies} == {"2.0"}
    assert len({r.body for r in replies}) == 1  # the body reads only state that is equal everywhere: built once
    assert sum(engine.state.get(s, "healthy") for s in range(50)) == 0
    await asyncio.sleep(0.08)
    partly = sum(engine.state.get(s, "healthy") for s in range(50))
    await asyncio.sleep(0.15)
    assert 0 < partly < 50
    assert sum(engine.state.get(s, "healthy") for s in range(50)) == 50
    assert engine.transitions == 50 and len(engine.timers) == 0


RATES = """
scenario: 1
agents:
  nrpe:
    actions:
      runcommand:
        no_reply: 0.1
        fail: [{rate: 0.2, statuscode: 5, statusmsg: "broken on {{ identity }}"}]
        latency: {distribution: lognormal, median: 0.05, sigma: 0.5}
        reply: {exitcode: 0, output: OK}
"""


def _outcomes(seed: int, count: int = 2000, rounds: int = 2):
    engine = Engine(DDLS, nodes(count), scenario(RATES), seed=seed)
    result = []
    for _ in range(rounds):
        replies, _ = ask(engine, "nrpe", "runcommand", {"command": "check_load"})
        result.append([None if r is None else (body(r)["statuscode"], round(r.delay, 9)) for r in replies])
    return result


def test_rates_and_latency_follow_their_distributions():
    replies = _outcomes(7, 4000, 1)[0]
    silent = sum(r is None for r in replies) / len(replies)
    failed = sum(r is not None and r[0] == 5 for r in replies) / len(replies)
    assert 0.08 < silent < 0.12
    assert 0.16 < failed < 0.20  # 20 % of the 90 % that answer
    delays = [r[1] for r in replies if r is not None]
    assert 0.045 < statistics.median(delays) < 0.055
    assert statistics.stdev([math.log(d) for d in delays]) == pytest.approx(0.5, abs=0.03)


def test_the_same_seed_gives_the_same_run_and_another_seed_another():
    assert _outcomes(11, 300) == _outcomes(11, 300)
    assert _outcomes(11, 300) != _outcomes(12, 300)
    # a node's draws do not depend on which worker holds it: node 150 alone, or as slot 150 of 300
    alone = Engine(DDLS, [Node(0, 150, "emu-150")], scenario(RATES), seed=11)
    replies, _ = ask(alone, "nrpe", "runcommand", {"command": "x"})
    full = _outcomes(11, 300, 1)[0][150]
    assert (None if replies[0] is None else (body(replies[0])["statuscode"], round(replies[0].delay, 9))) == full


def test_latency_beyond_the_ddl_timeout_means_no_reply():
    text = "scenario: 1\nagents: {haproxy: {actions: {status: {latency: 25, reply: {status: UP}}}}}"
    engine = Engine(DDLS, nodes(2), scenario(text))
    replies, _ = ask(engine, "haproxy", "status", {"backend": "app"})
    assert replies == [None, None]  # haproxy's timeout is 20 s: go-choria stops the action and sends nothing


def test_groups_by_share_identity_and_fact_are_stable_and_exact():
    text = """
scenario: 1
groups:
  one_percent: {percent: 1}
  first_ten: {identity: "/^emu-\\\\d$/"}
  germans: {fact: "country=de"}
  german_tenth: {fact: "country=de", percent: 10}
"""
    facts = [{"country": "de"} if i % 2 else {"country": "mt"} for i in range(500)]
    fleet = [Node(i, i, f"emu-{i}", facts[i]) for i in range(500)]
    engine = Engine(DDLS, fleet, scenario(text), seed=42)
    assert engine.group_size("one_percent") in (4, 5, 6)
    assert engine.group_size("first_ten") == 10
    assert engine.group_size("germans") == 250
    assert 20 <= engine.group_size("german_tenth") <= 30
    again = Engine(DDLS, fleet, scenario(text), seed=42)
    assert again.members == engine.members
    other = Engine(DDLS, fleet, scenario(text), seed=43)
    assert other.members["one_percent"] != engine.members["one_percent"]
    # two hosts splitting the fleet by --start-index pick the same nodes as one host
    low = Engine(DDLS, fleet[:250], scenario(text), seed=42)
    high = Engine(DDLS, [Node(i - 250, i, f"emu-{i}", facts[i]) for i in range(250, 500)], scenario(text), seed=42)
    assert low.members["one_percent"] + high.members["one_percent"] == engine.members["one_percent"]


async def test_replies_are_shared_per_distinct_state_and_per_node_when_they_read_the_node():
    engine = Engine(DDLS, nodes(100), Scenario.load(LIBRARY / "haproxy.yaml", DDLS))
    replies, request = ask(engine, "haproxy", "status", {"backend": "app"})
    # status reads in_service and sessions (5 + index % 50): 50 distinct states, 50 bodies
    assert len({r.body for r in replies}) == 50
    assert len({id(r.body) for r in replies}) == 50  # the same text object, not 100 copies
    disable, _ = ask(engine, "haproxy", "disable", {"backend": "app"})
    assert len({r.body for r in disable}) == 100  # the default server name is the identity: one body per node


async def test_start_rules_make_a_share_of_nodes_busy_for_a_while():
    text = """
scenario: 1
groups: {mid_run: {percent: 20}}
state: {applying: {type: boolean}, idling: {type: boolean, default: true}}
start:
  - groups: [mid_run]
    set: {applying: true, idling: false}
    after: [{delay: {distribution: uniform, min: 0.05, max: 0.1}, set: {applying: false, idling: true}}]
"""
    engine = Engine(DDLS, nodes(100), scenario(text), seed=5)
    engine.start(lambda *a: None)
    busy = [s for s in range(100) if engine.state.get(s, "applying")]
    assert 19 <= len(busy) <= 21 and all(not engine.state.get(s, "idling") for s in busy)
    await asyncio.sleep(0.15)
    assert not any(engine.state.get(s, "applying") for s in range(100))


async def test_delayed_replies_go_through_the_publish_callback_in_delay_order():
    sent: list[tuple[str, float]] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
    engine = Engine(DDLS, nodes(20), scenario(RATES.replace("no_reply: 0.1", "no_reply: 0")), seed=2)
    engine.start(lambda node, token, reply: sent.append((node.identity, loop.time() - started)))
    replies, _ = ask(engine, "nrpe", "runcommand", {"command": "x"})
    started = loop.time()
    for node, reply in zip(engine.nodes, replies):
        engine.send_later(node, None, reply)
    await asyncio.sleep(0.5)
    assert len(sent) == 20
    assert [t for _, t in sent] == sorted(t for _, t in sent)
    expected = {n.identity: r.delay for n, r in zip(engine.nodes, replies)}
    assert all(abs(at - expected[name]) < 0.03 for name, at in sent)


def test_string_state_stays_bounded_whatever_requests_write(monkeypatch):
    from choria_emulator.scenario import state as state_module

    monkeypatch.setattr(state_module, "COMPACT_AT", 50)
    engine = Engine(DDLS, nodes(10), Scenario.load(LIBRARY / "service.yaml", DDLS), seed=1)
    engine.start(lambda *a: None)
    for round_number in range(60):  # every stop adds a new service name to every node's list
        ask(engine, "service", "stop", {"service": f"svc{round_number}"})
    table = engine.state
    assert len(table.strings) <= 50
    held = {table.get(slot, "stopped") for slot in range(10)}
    assert all(value in table.strings for value in held)
    assert table.get(0, "stopped").endswith("svc59")
    big = "x" * 10000
    table.set(0, "stopped", big)
    assert len(table.get(0, "stopped")) == state_module.MAX_STRING


def test_spread_picks_a_share_of_any_run_of_instance_numbers():
    for start in (0, 137, 10000):
        chosen = sum(rng.spread(9, 77, i) < 0.01 for i in range(start, start + 500))
        assert chosen in (4, 5, 6)
    assert rng.parse_rate("1%", "x") == 0.01
    assert rng.parse_seconds("250ms", "x") == 0.25
    assert rng.parse_seconds("2m", "x") == 120
