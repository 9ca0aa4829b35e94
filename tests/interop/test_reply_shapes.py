"""An emulated node's rpcutil/choria_util answers against a real mcollectived's, field by field.

One real daemon (``real-1``) joins the shared network with the facts and classes of ``emu-5``;
the real ``mco`` asks both the same question in one request (``-I real-1 -I emu-5 --json``)
and the test compares the ``data`` of the two replies: the same key names at every level,
the same JSON types (numbers are numbers, whether Ruby sent an int or a float), and the same
values where they do not depend on the implementation (facts, classes, collectives, fact
values). Where the emulator answers like go-choria rather than like the Ruby daemon, the
difference is listed in :data:`DELIBERATE` with its reason (docs/protocol.md, Interoperability).
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import emulated_classes, emulated_facts
from realchoria import concurrently, mco

REAL, EMULATED = "real-1", "emu-5"
ACTIONS = {
    "rpcutil ping": ("rpcutil", "ping"),
    "rpcutil inventory": ("rpcutil", "inventory"),
    "rpcutil agent_inventory": ("rpcutil", "agent_inventory"),
    "rpcutil daemon_stats": ("rpcutil", "daemon_stats"),
    "rpcutil get_fact": ("rpcutil", "get_fact", "fact=role"),
    "rpcutil get_fact missing": ("rpcutil", "get_fact", "fact=no_such_fact"),
    "rpcutil collective_info": ("rpcutil", "collective_info"),
    "choria_util info": ("choria_util", "info"),
}
# (action, dotted path) -> why an emulated node answers differently from the Ruby daemon
DELIBERATE: dict[tuple[str, str], str] = {
    ("rpcutil inventory", "upgradable"): "extra key: go-choria's inventory reply has it, the Ruby 2.12 agent does not",
    ("rpcutil inventory", "machines"): "Ruby leaves the DDL output unset (null); go-choria lists its autonomous "
    "agents, none on an emulated node ([])",
    ("rpcutil inventory", "facts.cpus"): "mcollective's YAML fact source turns top-level scalars into strings "
    "(cpus '4'); the emulator keeps the template's JSON types, as go-choria's fact sources do",
    ("rpcutil daemon_stats", "events"): "extra key: go-choria counts lifecycle events, the Ruby daemon does not",
    ("choria_util info", "client_options"): "the NATS client library's own options (nats-pure's vs the emulator's "
    "connection), different keys by nature; both are objects",
    ("choria_util info", "facter_domain"): "Ruby: null when unset; go-choria: empty string",
    ("choria_util info", "facter_command"): "Ruby: null when unset; go-choria: empty string",
    ("choria_util info", "srv_domain"): "Ruby: null when unset; go-choria: empty string",
}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def differences(action: str, real: Any, emulated: Any, path: str = "") -> list[str]:
    """Where the two answers differ in key names or JSON types (undocumented differences only)."""
    if (action, path) in DELIBERATE:
        return []
    if json_type(real) != json_type(emulated):
        return [f"{path or '.'}: real {json_type(real)}, emulated {json_type(emulated)}"]
    if isinstance(real, dict):
        found = []
        for key in sorted(set(real) | set(emulated)):
            sub = f"{path}.{key}" if path else key
            if (action, sub) in DELIBERATE:
                continue
            if key not in emulated:
                found.append(f"{sub}: missing in the emulated answer")
            elif key not in real:
                found.append(f"{sub}: only in the emulated answer")
            else:
                found += differences(action, real[key], emulated[key], sub)
        return found
    if isinstance(real, list) and real and emulated:
        # element shapes: every element of both against the first real one
        return [d for item in emulated + real[1:] for d in differences(action, real[0], item, f"{path}[]")]
    return []


@pytest.fixture(scope="module")
def answers(network, daemons):
    daemons.start(network.broker, REAL, facts=emulated_facts(5), classes=emulated_classes(5), insecure=True)
    url = network.broker.url
    calls = {
        key: (lambda args=args: mco(url, "rpc", *args, "-I", REAL, "-I", EMULATED, "--json", insecure=True))
        for key, args in ACTIONS.items()
    }
    calls["inventory real"] = lambda: mco(url, "inventory", REAL, insecure=True)
    calls["inventory emulated"] = lambda: mco(url, "inventory", EMULATED, insecure=True)
    results = concurrently(calls, workers=4)
    by_action: dict[str, dict[str, Any]] = {}
    for key in ACTIONS:
        result = results[key]
        assert result.rc == 0, result
        replies = {r["sender"]: r for r in result.json}
        assert sorted(replies) == sorted([REAL, EMULATED]), result
        for reply in replies.values():
            assert (reply["statuscode"], reply["statusmsg"]) == (0, "OK"), reply
        by_action[key] = {"real": replies[REAL]["data"], "emulated": replies[EMULATED]["data"]}
    by_action["inventory text"] = {"real": results["inventory real"], "emulated": results["inventory emulated"]}
    return by_action


@pytest.mark.parametrize("action", list(ACTIONS))
def test_same_keys_and_types_as_a_real_daemon(answers, action):
    real, emulated = answers[action]["real"], answers[action]["emulated"]
    assert differences(action, real, emulated) == [], {"real": real, "emulated": emulated}


def test_same_values_where_they_are_not_implementation_details(answers):
    facts = emulated_facts(5)
    for side in ("real", "emulated"):
        inventory = answers["rpcutil inventory"][side]
        if side == "real":  # the YAML fact source's strings (DELIBERATE)
            assert inventory["facts"] == {**facts, "cpus": str(facts["cpus"])}
        else:
            assert inventory["facts"] == facts
        assert inventory["classes"] == emulated_classes(5), side
        assert inventory["collectives"] == ["mcollective", "collective1"], side
        assert inventory["main_collective"] == "mcollective", side
        assert {"discovery", "rpcutil", "choria_util"} <= set(inventory["agents"]), side
        assert answers["rpcutil get_fact"][side] == {"fact": "role", "value": facts["role"]}, side
        assert answers["rpcutil get_fact missing"][side] == {"fact": "no_such_fact", "value": None}, side
        assert answers["rpcutil collective_info"][side] == {
            "main_collective": "mcollective",
            "collectives": ["mcollective", "collective1"],
        }, side


def test_deliberate_differences_are_still_differences(answers):
    """Each entry of DELIBERATE must describe something the two answers really do differently."""
    for action, path in DELIBERATE:
        real, emulated = answers[action]["real"], answers[action]["emulated"]
        for key in path.split("."):
            real = real.get(key, "<absent>") if isinstance(real, dict) else "<absent>"
            emulated = emulated.get(key, "<absent>") if isinstance(emulated, dict) else "<absent>"
        assert real != emulated or json_type(real) != json_type(emulated), (action, path)


def inventory_form(text: str, identity: str) -> tuple[list[str], list[str]]:
    """``mco inventory`` output as (labels in order, the lines under Classes and Facts)."""
    labels, kept, section = [], [], ""
    for line in text.replace(identity, "NODE").splitlines():
        if not line.strip():
            continue
        if ":" in line and "=>" not in line:
            labels.append(line.split(":", 1)[0].strip())
            section = labels[-1]
        elif section in ("Configuration Management Classes", "Facts"):
            kept.append(" ".join(line.split()))
    return labels, kept


def test_inventory_application_output_has_the_same_form(answers):
    """Same sections and statistics labels in the same order, the same classes and facts lines."""
    real = inventory_form(answers["inventory text"]["real"].stdout, REAL)
    emulated = inventory_form(answers["inventory text"]["emulated"].stdout, EMULATED)
    assert real == emulated, (real, emulated)
    assert "role => db" in emulated[1] and "base database" in emulated[1]
