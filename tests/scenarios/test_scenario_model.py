"""The scenario file: every mistake is found at load time with the file and the field named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from scenario_support import LIBRARY, LIBRARY_DDL

from choria_emulator.ddl.agent import load_paths
from choria_emulator.scenario import Scenario, ScenarioError
from choria_emulator.scenario.expr import Names, Template

DDLS = load_paths([str(LIBRARY_DDL)])
SHIPPED = ["puppet", "service", "package", "nrpe", "haproxy", "appmgr", "blue-green", "blue-green-never-green"]


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_loads_against_the_shipped_ddls(name):
    scenario = Scenario.load(LIBRARY / f"{name}.yaml", DDLS)
    assert scenario.actions
    assert scenario.description


def _load(text: str) -> Scenario:
    return Scenario(yaml.safe_load(text), DDLS, "test.yaml")


BAD = [
    ("agents: {}", "test.yaml: scenario: must be 1 (the format version), not None"),
    ("scenario: 2", "scenario: must be 1 (the format version), not 2"),
    ("scenario: 1\nagnets: {}", "test.yaml: agnets: unknown field (fields: scenario, description, seed"),
    ("scenario: 1\nseed: x", "seed: must be an integer, not the text 'x'"),
    ("scenario: 1\nagents: {acme: {}}", "agents.acme: no DDL of agent acme is loaded (--ddl; loaded: appmgr,"),
    (
        "scenario: 1\nagents: {puppet: {actions: {stop: {}}}}",
        "agents.puppet.actions.stop: agent puppet has no action stop (actions: disable, enable",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {reply: {idlng: true}}}}}",
        "agents.puppet.actions.status.reply.idlng: puppet#status has no output idlng (outputs: applying, idling,",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {reply: {idling: maybe}}}}}",
        "agents.puppet.actions.status.reply.idling: the text 'maybe' is not a boolean (the DDL's type)",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: [{reply: {}}, {latncy: 1}]}}}",
        "agents.puppet.actions.status[1].latncy: unknown field (fields: groups, if, latency, no_reply, fail, set,",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {latency: -1}}}}",
        "agents.puppet.actions.status.latency: must not be negative, not -1",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {latency: {distribution: gamma}}}}}",
        "agents.puppet.actions.status.latency.distribution: must be one of fixed, uniform, normal, lognormal, "
        "not 'gamma'",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {latency: {distribution: uniform, min: 2, max: 1}}}}}",
        "agents.puppet.actions.status.latency.max: must not be below min (2.0)",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {latency: {distribution: lognormal, median: 1}}}}}",
        "agents.puppet.actions.status.latency.sigma: is required for a lognormal distribution",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {no_reply: 2}}}}",
        "agents.puppet.actions.status.no_reply: must be a rate between 0 and 1 (or a percentage like '1%'), not 2",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {fail: {statuscode: 9}}}}}",
        "agents.puppet.actions.status.fail[0].statuscode: must be an integer from 1 to 5, not 9",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {fail: [{rate: 0.6}, {rate: 0.6}]}}}}",
        "agents.puppet.actions.status.fail: the rates add up to more than 1",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {groups: [canary]}}}}",
        "agents.puppet.actions.status.groups: unknown group 'canary' (groups: none)",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {set: {enabled: false}}}}}",
        "agents.puppet.actions.status.set.enabled: enabled is not a declared state variable (declared: none)",
    ),
    (
        "scenario: 1\nstate: {enabled: {type: boolean}}\n"
        "agents: {puppet: {actions: {status: {reply: {enabled: '{{ state.enabeld }}'}}}}}",
        "agents.puppet.actions.status.reply.enabled: state.enabeld is not a declared state variable "
        "(declared: enabled) in {{ state.enabeld }}",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {disable: {reply: {status: '{{ inputs.mesage }}'}}}}}",
        "agents.puppet.actions.disable.reply.status: inputs.mesage is not an input of puppet#disable "
        "(inputs: message) in {{ inputs.mesage }}",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {reply: {status: '{{ identty }}'}}}}}",
        "agents.puppet.actions.status.reply.status: unknown name 'identty' (names: identity, index,",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {reply: {status: '{{ identity.__class__ }}'}}}}}",
        "",  # allowed syntax, but a lookup: renders null, never Python's attribute
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {reply: {status: '{{ open(\"/etc/passwd\") }}'}}}}}",
        "agents.puppet.actions.status.reply.status: only the functions items, has_item",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {reply: {status: '{{ [x for x in facts] }}'}}}}}",
        "agents.puppet.actions.status.reply.status: ListComp is not allowed in {{ [x for x in facts] }}",
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {reply: {status: '{{ 1 + }}'}}}}}",
        "agents.puppet.actions.status.reply.status: cannot parse {{ 1 + }}: ",  # the reason is the Python version's
    ),
    (
        "scenario: 1\nagents: {puppet: {actions: {status: {if: 'lower(x'}}}}",
        "agents.puppet.actions.status.if: cannot parse {{ lower(x }}",
    ),
    (
        "scenario: 1\ngroups: {canary: {}}",
        "groups.canary: a group needs at least one of percent, identity, fact, class",
    ),
    ("scenario: 1\ngroups: {canary: {percent: 120}}", "groups.canary.percent: must be a number from 0 to 100, not 120"),
    ("scenario: 1\ngroups: {canary: {fact: 'no operator'}}", "groups.canary.fact[0]:"),
    ("scenario: 1\ngroups: {canary: {idenity: x}}", "groups.canary.idenity: unknown field (fields: percent, identity"),
    (
        "scenario: 1\nstate: {x: {type: text}}",
        "state.x.type: must be one of boolean, integer, float, string, not 'text'",
    ),
    ("scenario: 1\nstate: {x: {type: integer, default: many}}", "state.x.default: the text 'many' is not a integer"),
    (
        "scenario: 1\nstate: {x: {type: integer, default: '{{ state.x }}'}}",
        "state.x.default: state.x is not a declared state variable (declared: none)",
    ),
    ("scenario: 1\nstart: {set: {}}", "start: must be a list of rules"),
    ("scenario: 1\nstart: [{after: [{delay: 1}]}]", "start[0].after[0]: an 'after' entry needs delay and set"),
    ("scenario: 1\nchurn: {late: {percent: 5}}", "churn.late.delay: is required (how long late nodes wait"),
    ("scenario: 1\nchurn: {late: {delay: 5}}", "churn.late: say which nodes with percent and/or groups"),
    ("scenario: 1\nchurn: {flap: {}}", "churn.flap: unknown field (fields: late, disconnect)"),
    (
        "scenario: 1\nchurn: {disconnect: {percent: 5, every: 0, down: 1}}",
        "churn.disconnect.every: must be above 0",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m or t for t, m in BAD])
def test_a_mistake_names_the_file_and_the_field(text, message):
    if not message:
        _load(text)
        return
    with pytest.raises(ScenarioError) as err:
        _load(text)
    assert message in str(err.value)
    assert str(err.value).startswith("test.yaml: ")


def test_yaml_syntax_errors_say_where(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenario: 1\nagents:\n  puppet: [\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml: not valid YAML at line 4 column 1"):
        Scenario.load(bad, DDLS)
    with pytest.raises(ScenarioError, match=r"missing.yaml: cannot read: No such file or directory"):
        Scenario.load(tmp_path / "missing.yaml", DDLS)


def test_extends_merges_mappings_and_replaces_lists_and_refuses_loops(tmp_path: Path):
    base = tmp_path / "base.yaml"
    base.write_text(
        "scenario: 1\ngroups: {slow: {percent: 10}, eu: {fact: 'country=de'}}\n"
        "agents: {puppet: {latency: 1, actions: {status: [{reply: {status: a}}, {reply: {status: b}}]}}}\n"
    )
    child = tmp_path / "child.yaml"
    child.write_text(
        "extends: base.yaml\ngroups: {slow: {percent: 50}}\n"
        "agents: {puppet: {actions: {status: [{reply: {status: c}}]}}}\n"
    )
    scenario = Scenario.load(child, DDLS)
    assert scenario.groups["slow"].share == 0.5
    assert scenario.groups["eu"].facts
    assert len(scenario.actions[("puppet", "status")].behaviours) == 1
    assert scenario.actions[("puppet", "status")].latency is not None
    base.write_text("scenario: 1\nextends: child.yaml\n")
    with pytest.raises(ScenarioError, match="extends: child.yaml extends this file again"):
        Scenario.load(child, DDLS)
    child.write_text("extends: 5\n")
    with pytest.raises(ScenarioError, match="extends: must be the path of another scenario file"):
        Scenario.load(child, DDLS)


def test_extends_names_a_shipped_scenario_when_no_such_file_is_there(tmp_path: Path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("scenario: 1\nextends: [puppet, nrpe.yaml]\ngroups: {mid_run: {percent: 50}}\n")
    scenario = Scenario.load(mine, DDLS)
    assert ("puppet", "status") in scenario.actions and ("nrpe", "runcommand") in scenario.actions
    assert scenario.groups["mid_run"].share == 0.5


def test_the_never_green_variant_only_changes_the_share_of_never_green_nodes():
    normal = Scenario.load(LIBRARY / "blue-green.yaml", DDLS)
    never = Scenario.load(LIBRARY / "blue-green-never-green.yaml", DDLS)
    assert normal.groups["never_green"].share == 0.0
    assert never.groups["never_green"].share == 0.01
    assert normal.summary()["actions"] == never.summary()["actions"]
    assert normal.state_types == never.state_types


def test_templates_keep_types_and_know_what_they_read():
    names = Names(frozenset({"enabled", "lastrun"}), frozenset({"message"}))
    whole = Template("{{ state.enabled }}", names, "t")
    assert whole.kind == "expr" and whole.node_refs == {"state.enabled"}
    text = Template("Disabled: {{ inputs.message }} at {{ now }}", names, "t")
    assert text.kind == "text" and text.node_refs == frozenset()
    context = {"inputs": {"message": "deploy"}, "now": 7, "state": {"enabled": False, "lastrun": 5}}
    assert whole.render(context) is False
    assert text.render(context) == "Disabled: deploy at 7"
    assert Template("{{ now - state.lastrun }}", names, "t").render(context) == 2
    assert Template("{{ null + 1 }}", names, "t").render(context) is None  # a runtime failure is null
    assert Template("{{ facts.os.family }}", names, "t").render({"facts": {"os": {"family": "RedHat"}}}) == "RedHat"
    assert Template("{{ facts['missing'].deeper }}", names, "t").render({"facts": {}}) is None
    assert Template({"a": ["{{ 1 + 1 }}", 3]}, names, "t").render({}) == {"a": [2, 3]}
    assert Template("{{ add_item('a,b', 'c') }}", names, "t").render({}) == "a,b,c"
    assert Template("{{ remove_item('a,b,c', 'b') }}", names, "t").render({}) == "a,c"
    assert Template("{{ get_item(set_item('x=1', 'y', 2), 'y') }}", names, "t").render({}) == "2"
    assert Template("{{ true and not false }}", names, "t").render({}) is True
