"""go-choria JSON DDLs: loading checks that agree with the schema, and go-choria's input validation.

The validation cases and messages are go-choria's own (``providers/agent/mcorpc/ddl/agent/
action_test.go`` and ``ddl/common/input_item.go``); the schema checks are compared with the real
schema (``schemas/ddl-agent.json``) through jsonschema on the same broken documents.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from scenario_support import LIBRARY_DDL, SCHEMAS

from choria_emulator.ddl.agent import AgentDDL, DDLError, coerce, load_paths, string_validation

SCHEMA = json.loads((SCHEMAS / "ddl-agent.json").read_text())
SHIPPED = sorted(LIBRARY_DDL.glob("*.json"))


def test_every_shipped_ddl_is_valid_by_the_schema_and_loads():
    assert [p.stem for p in SHIPPED] == ["appmgr", "haproxy", "nrpe", "package", "puppet", "service"]
    for path in SHIPPED:
        data = json.loads(path.read_text())
        jsonschema.validate(data, SCHEMA)
        agent = AgentDDL.load(path)
        assert agent.name == path.stem
        assert list(agent.actions) == [a["action"] for a in data["actions"]]


def test_the_real_ddls_keep_their_versions_and_timeouts():
    agents = {a.name: a for a in load_paths([str(LIBRARY_DDL)])}
    assert {n: (a.version, a.timeout) for n, a in agents.items()} == {
        "appmgr": ("1.0.0", 120),
        "haproxy": ("1.0.0", 20),
        "nrpe": ("4.3.0", 30),
        "package": ("5.5.1", 180),
        "puppet": ("2.5.0", 20),
        "service": ("4.1.0", 60),
    }
    assert list(agents["puppet"].metadata) == ["name", "description", "author", "license", "version", "url", "timeout"]


def _puppet() -> dict:
    return json.loads((LIBRARY_DDL / "puppet.json").read_text())


def _break(path: str, value: object) -> dict:
    """puppet.json with one field replaced (``DELETE`` removes it)."""
    data = _puppet()
    keys = path.split(".")
    target = data
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value == "DELETE":
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return data


BROKEN = [
    ("metadata.name", "Puppet", "metadata.name: 'Puppet' may only hold a-z, 0-9 and _"),
    ("metadata.version", "two", "metadata.version: 'two' is not a version like 1.2.3"),
    ("metadata.timeout", 1, "metadata.timeout: must be an integer of at least 2, not 1"),
    ("metadata.timeout", "20", "metadata.timeout: must be an integer of at least 2, not '20'"),
    ("metadata.author", "DELETE", "metadata.author: is required"),
    ("metadata.url", "", "metadata.url: must not be empty"),
    ("actions.0.action", "Disable", "actions[0].action: 'Disable' may only hold a-z, 0-9 and _"),
    ("actions.0.output", "DELETE", "actions[0].output: is required"),
    ("actions.0.input.message.optional", "DELETE", "actions[0] (disable).input.message.optional: is required"),
    ("actions.0.input.message.type", "text", "actions[0] (disable).input.message.type: must be one of"),
    ("actions.0.input.message.maxlength", "DELETE", "input.message.maxlength: is required for a string input"),
    ("actions.0.input.message.validation", "DELETE", "input.message.validation: is required for a string input"),
    ("actions.0.input.message.prompt", "", "input.message.prompt: must not be empty"),
    ("actions.0.output.status.display_as", "DELETE", "output.status.display_as: is required"),
    ("actions.0.output.status.type", "str", "output.status.type: must be one of"),
    ("actions.0.display", "never", "actions[0] (disable).display: must be one of ok, failed, always"),
]


@pytest.mark.parametrize(("path", "value", "message"), BROKEN, ids=[f"{p}={v!r}" for p, v, _ in BROKEN])
def test_a_broken_ddl_is_refused_with_its_field_named_as_the_schema_refuses_it(path, value, message):
    data = _break(path, value)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)
    with pytest.raises(DDLError, match=None) as err:
        AgentDDL(data, "puppet.json")
    assert str(err.value).startswith("puppet.json: ")
    assert message in str(err.value)


def test_load_paths_reads_directories_and_files_and_refuses_clashes(tmp_path: Path):
    assert [a.name for a in load_paths([str(LIBRARY_DDL / "nrpe.json"), str(LIBRARY_DDL / "puppet.json")])] == [
        "nrpe",
        "puppet",
    ]
    with pytest.raises(DDLError, match="agent puppet is already loaded from"):
        load_paths([str(LIBRARY_DDL), str(LIBRARY_DDL / "puppet.json")])
    with pytest.raises(DDLError, match="--ddl .*missing: no such file or directory"):
        load_paths([str(tmp_path / "missing")])
    with pytest.raises(DDLError, match="no \\*.json DDL files"):
        load_paths([str(tmp_path)])
    clash = _puppet()
    clash["metadata"]["name"] = "rpcutil"
    (tmp_path / "rpcutil.json").write_text(json.dumps(clash))
    with pytest.raises(DDLError, match="agent rpcutil is built into the emulator"):
        load_paths([str(tmp_path)])
    (tmp_path / "rpcutil.json").write_text("{not json")
    with pytest.raises(DDLError, match="rpcutil.json: not JSON"):
        load_paths([str(tmp_path)])


# ---- input validation: go-choria's action_test.go --------------------------------------------


def _action(inputs: dict) -> AgentDDL:
    base = {
        "metadata": {
            "name": "test",
            "description": "d",
            "author": "a",
            "license": "Apache-2.0",
            "version": "1.0.0",
            "url": "u",
            "timeout": 2,
        },
        "actions": [{"action": "act", "description": "d", "input": inputs, "output": {}}],
    }
    return AgentDDL(base).actions["act"]


def _input(kind: str, **extra) -> dict:
    spec = {"prompt": "p", "description": "d", "type": kind, "optional": True, **extra}
    if kind == "string":
        spec.setdefault("validation", ".")
        spec.setdefault("maxlength", 20)
    return spec


GO_ACTION = {
    "int": _input("integer", default=1),
    "float": _input("float"),
    "number": _input("number"),
    "string": {**_input("string"), "optional": False},
    "boolean": _input("boolean"),
    "list": _input("list", list=["one", "two"]),
    "hash": _input("Hash"),
    "array": _input("Array"),
}

VALUES = [
    ("int", 10, None),
    ("int", 10.0, None),  # JSON numbers are float64 in Go: a whole one is an integer
    ("int", 10.5, "is not an integer"),
    ("int", "a", "is not an integer"),
    ("int", True, "is not an integer"),
    ("number", 10, None),
    ("number", 10.2, None),
    ("number", "a", "is not a number"),
    ("float", 10.2, None),
    ("float", 10, None),
    ("float", "a", "is not a float"),
    ("string", "hello world", None),
    ("string", "123456789012345678901234567890", "is longer than 20 characters"),
    ("string", "ééééééééééé", "is longer than 20 characters"),  # Go counts bytes
    ("string", 5, "is not a string"),
    ("boolean", True, None),
    ("boolean", False, None),
    ("boolean", "foo", "is not a boolean"),
    ("list", "one", None),
    ("list", "two", None),
    ("list", "three", "should be one of one, two"),
    ("list", False, "should be a string"),
    ("hash", "hello world", "is not a hash map"),
    ("hash", {"hello": "world"}, None),
    ("array", "hello world", "is not an array"),
    ("array", ["hello", "world"], None),
]


@pytest.mark.parametrize(("name", "value", "problem"), VALUES, ids=[f"{n}={v!r}" for n, v, _ in VALUES])
def test_input_values_are_checked_with_go_chorias_rules_and_words(name, value, problem):
    action = _action(GO_ACTION)
    assert action.inputs[name].validate(value) == problem
    data = {"string": "ok", name: value}
    expected = None if problem is None else f"validation failed for input '{name}': {problem}"
    assert action.validate_request(data) == expected


def test_string_validation_named_validators_regexes_and_the_maxlength_quirk():
    assert string_validation("^bob", "hello world") == "input does not match '^bob'"
    assert string_validation("bob", "hello world") is None  # an unknown named validator only warns in Go
    assert string_validation("shellsafe", "a && b") == "may not contain '&&'"
    assert string_validation("shellsafe", "ls; rm") == "may not contain ';'"
    assert string_validation("shellsafe", "plain words") is None
    assert string_validation("ipv4address", "10.0.0.1") is None
    assert string_validation("ipv4address", "::1") == "::1 is not an IPv4 address"
    assert string_validation("ipv6address", "::1") is None
    assert string_validation("ipv6address", "10.0.0.1") == "10.0.0.1 is not an IPv6 address"
    assert string_validation("ipv6address", "::ffff:10.0.0.1") == "::ffff:10.0.0.1 is not an IPv6 address"
    assert string_validation("ipaddress", "host") == "host is not an IP address"
    assert string_validation("([a-z", "x") == "invalid regex '([a-z'"
    assert string_validation(r"\A[a-zA-Z0-9_-]+\z", "check_load") is None  # nrpe's command validation (RE2)
    assert string_validation(r"\A[a-zA-Z0-9_-]+\z", "check load") == r"input does not match '\A[a-zA-Z0-9_-]+\z'"
    # go-choria skips the validation of a string input with no maxlength
    action = _action({"s": {**_input("string"), "validation": "^x$", "maxlength": 0}})
    assert action.validate_request({"s": "not x"}) is None


def test_request_level_rules_of_validate_request_data():
    package = {a.name: a for a in load_paths([str(LIBRARY_DDL)])}["package"]
    assert package.actions["apt_checkupdates"].validate_request({}) is None
    assert package.actions["apt_checkupdates"].validate_request({"process_results": True}) is None
    assert (
        package.actions["apt_checkupdates"].validate_request({"test": "test"})
        == "request contains inputs while none are declared in the DDL"
    )
    install = package.actions["install"]
    assert install.validate_request({}) == "input 'package' is required"
    assert install.validate_request({"package": "zsh", "process_results": True}) is None
    assert install.validate_request({"package": "zsh", "other": "test"}) == (
        "request contains an input 'other' that is not declared in the DDL. Valid inputs are: package, version"
    )
    # inputs are checked in name order, so the first failure is the same on every node
    action = _action({"b": _input("boolean"), "a": _input("integer")})
    assert action.validate_request({"b": "x", "a": "y"}) == "validation failed for input 'a': is not an integer"


def test_every_output_of_every_action_comes_with_its_declared_type():
    python_types = {
        "string": str,
        "boolean": bool,
        "integer": int,
        "float": float,
        "number": (int, float),
        "hash": dict,
        "array": list,
        "list": str,
    }
    for agent in load_paths([str(LIBRARY_DDL)]):
        for action in agent.actions.values():
            outputs = action.typed_outputs()
            assert list(outputs) == list(action.outputs)
            for name, item in action.outputs.items():
                if item.type:
                    assert isinstance(outputs[name], python_types[item.type.lower()]), (agent.name, action.name, name)
                    if item.type.lower() == "integer":
                        assert not isinstance(outputs[name], bool)
    puppet = {a.name: a for a in load_paths([str(LIBRARY_DDL)])}["puppet"]
    status = puppet.actions["status"]
    # a default of the wrong type (since_lastrun: "Unknown", an integer) becomes the type's zero value
    assert status.typed_outputs()["since_lastrun"] == 0
    assert status.typed_outputs({"since_lastrun": "12", "enabled": "true"})["since_lastrun"] == 12
    assert status.typed_outputs({"enabled": "true"})["enabled"] is True
    assert status.typed_outputs({"enabled": "maybe"})["enabled"] is False


def test_coerce_keeps_json_valid_and_types_exact():
    assert coerce("float", float("nan")) == (False, 0.0)
    assert coerce("float", "inf") == (False, 0.0)
    assert coerce("integer", 3.0) == (True, 3)
    assert coerce("integer", True) == (False, 0)
    assert coerce("string", None) == (False, "")
    assert coerce("string", False) == (True, "false")
    assert coerce("", {"any": 1}) == (True, {"any": 1})
    assert coerce("number", "2") == (True, 2)
    assert coerce("number", "2.5") == (True, 2.5)


def test_with_defaults_fills_what_the_request_left_out():
    action = _action({"size": _input("integer", default=20), "name": _input("string", default="x")})
    assert action.with_defaults({"size": 5, "process_results": True}) == {"size": 5, "name": "x"}
    assert copy.deepcopy(action.with_defaults({})) == {"size": 20, "name": "x"}
