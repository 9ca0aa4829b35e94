"""The action plugins from real ansible-playbook runs: chorialab.choria.rpc, discover, choria_playbook,
playbook_data and the playbook_data lookup, against the emulated network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pbansible import ansible_playbook
from pbhelpers import FIXTURES, complete


def play(tmp_path: Path, tasks: list[dict[str, Any]], **extra: Any) -> Path:
    """A localhost play whose tasks save what they registered to result files."""
    site = tmp_path / "site.yml"
    site.write_text(
        yaml.safe_dump(
            [{"hosts": "localhost", "connection": "local", "gather_facts": False, **extra, "tasks": tasks}],
            sort_keys=False,
        )
    )
    return site


def save(var: str, path: Path) -> dict[str, Any]:
    return {"ansible.builtin.copy": {"content": "{{ " + var + " | to_json }}", "dest": str(path)}}


def run(collections, tmp_path, tasks, network, check=False, **extra):
    result = ansible_playbook(collections, play(tmp_path, tasks, **extra), {"url": network.url}, check=check)
    return result


def test_rpc_to_nodes_with_arguments_and_summary(collections, network, tmp_path):
    mark = len(network.audit_lines())
    out = tmp_path / "r.json"
    tasks = [
        {
            "chorialab.choria.rpc": {
                "servers": ["{{ url }}"],
                "agent": "rpcutil",
                "action": "get_fact",
                "arguments": {":fact": "country"},
                "nodes": ["emu-0", "emu-1"],
                "summarize": True,
                "description": "census",
            },
            "register": "r",
        },
        save("r", out),
    ]
    result = run(collections, tmp_path, tasks, network)
    assert result.ok, result.stdout
    r = json.loads(out.read_text())
    assert r["success"] is True and r["changed"] is False  # rpcutil is read-only
    assert r["msg"] == 'Summary for census: {"de":1,"uk":1}'
    assert r["aggregate"] == {"de": 1, "uk": 1}
    assert sorted(r["results"]) == ["emu-0", "emu-1"] and r["summary"]["ok"] == 2
    assert {x["sender"]: x["data"]["value"] for x in r["replies"]} == {"emu-0": "uk", "emu-1": "de"}
    calls = network.calls_since(mark)
    assert sorted(c["identity"] for c in calls) == ["emu-0", "emu-1"] and all(
        c["data"] == {"fact": "country"} for c in calls
    )


def test_rpc_discovers_with_filters_adding_the_agent(collections, network, tmp_path):
    out = tmp_path / "r.json"
    tasks = [
        {
            "chorialab.choria.rpc": {
                "servers": ["{{ url }}"],
                "agent": "emulated1",
                "action": "generate",
                "facts": ["country=de"],
                "discovery_timeout": 0.5,
            },
            "register": "r",
        },
        save("r", out),
    ]
    assert run(collections, tmp_path, tasks, network).ok
    r = json.loads(out.read_text())
    assert sorted(r["nodes"]) == ["emu-1", "emu-3", "emu-5", "emu-7"]
    assert r["changed"] is True


def test_rpc_check_mode_discovers_only(collections, network, tmp_path):
    mark = len(network.audit_lines())
    out = tmp_path / "r.json"
    tasks = [
        {
            "chorialab.choria.rpc": {
                "servers": ["{{ url }}"],
                "agent": "emulated0",
                "action": "generate",
                "node_set": {"type": "yaml", "source": str(FIXTURES / "nodes.yaml"), "group": "db_servers"},
            },
            "register": "r",
        },
        {**save("r", out), "check_mode": False},
    ]
    assert run(collections, tmp_path, tasks, network, check=True).ok
    r = json.loads(out.read_text())
    assert (
        r["nodes"] == ["emu-2", "emu-3"]
        and r["changed"] is False
        and "Would call emulated0#generate on 2 node(s)" == r["msg"]
    )
    assert network.calls_since(mark) == []


def test_rpc_tries_resend_and_a_failed_assert_fails_the_task(collections, network, tmp_path):
    mark = len(network.audit_lines())
    tasks = [
        {
            "chorialab.choria.rpc": {
                "servers": ["{{ url }}"],
                "agent": "rpcutil",
                "action": "get_fact",
                "arguments": {"fact": "country"},
                "nodes": ["emu-0", "emu-1"],
                "assert": "value=uk",
                "tries": 3,
                "try_sleep": 0,
            }
        }
    ]
    result = run(collections, tmp_path, tasks, network)
    assert not result.ok
    assert "assertion failed on 1 node(s)" in result.stdout
    assert len(network.calls_since(mark)) == 6


def test_rpc_settings_from_module_defaults_of_the_action_group(collections, network, tmp_path):
    out = tmp_path / "r.json"
    tasks = [
        {"chorialab.choria.rpc": {"agent": "rpcutil", "action": "ping", "nodes": ["emu-2"]}, "register": "r"},
        save("r", out),
    ]
    result = run(
        collections,
        tmp_path,
        tasks,
        network,
        module_defaults={"group/chorialab.choria.choria": {"servers": ["{{ url }}"]}},
    )
    assert result.ok, result.stdout
    assert json.loads(out.read_text())["success"] is True


@pytest.mark.parametrize(
    "args, message",
    [
        ({"action": "ping"}, "missing required arguments: agent"),
        (
            {"agent": "rpcutil", "action": "ping", "nodes": ["a"], "node_set": {"type": "yaml"}},
            "parameters are mutually exclusive: nodes|node_set",
        ),
        ({"agent": "rpcutil", "action": "ping", "nodes": ["a"], "tries": "many"}, "tries"),
        (
            {"agent": "rpcutil", "action": "ping", "nodes": ["emu-0"], "assert": "and"},
            "Could not parse the assertion and",
        ),
        (
            {"agent": "rpcutil", "action": "ping", "node_set": {"type": "ldap"}},
            "Cannot find a handler for Node Set type ldap",
        ),
    ],
)
def test_rpc_bad_arguments_are_one_clear_error(collections, network, tmp_path, args, message):
    result = run(collections, tmp_path, [{"chorialab.choria.rpc": {"servers": ["{{ url }}"], **args}}], network)
    assert not result.ok and message in result.stdout, result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_discover_filters_and_node_sets_with_uses(collections, network, tmp_path):
    first, second = tmp_path / "d1.json", tmp_path / "d2.json"
    tasks = [
        {
            "chorialab.choria.discover": {"servers": ["{{ url }}"], "classes": ["apache"], "discovery_timeout": 0.5},
            "register": "d1",
        },
        save("d1", first),
        {
            "chorialab.choria.discover": {
                "servers": ["{{ url }}"],
                "uses": {"rpcutil": ">= 0.1"},
                "node_sets": {
                    "web": {
                        "type": "yaml",
                        "source": str(FIXTURES / "nodes.yaml"),
                        "group": "web_servers",
                        "test": True,
                        "uses": ["rpcutil"],
                    },
                    "tf": {
                        "type": "terraform",
                        "statefile": str(FIXTURES / "terraform.tfstate"),
                        "output": "webservers",
                    },
                },
            },
            "register": "d2",
        },
        save("d2", second),
    ]
    result = run(collections, tmp_path, tasks, network)
    assert result.ok, result.stdout
    assert sorted(json.loads(first.read_text())["nodes"]) == ["emu-0", "emu-2", "emu-4", "emu-6"]
    assert json.loads(second.read_text())["node_sets"] == {"web": ["emu-0", "emu-1"], "tf": ["emu-6", "emu-7"]}


def test_discover_uses_mismatch_fails_with_the_spec_message(collections, network, tmp_path):
    tasks = [
        {
            "chorialab.choria.discover": {
                "servers": ["{{ url }}"],
                "uses": {"rpcutil": "~1.0.0"},
                "node_sets": {"web": {"type": "yaml", "source": str(FIXTURES / "nodes.yaml"), "group": "web_servers"}},
            }
        }
    ]
    result = run(collections, tmp_path, tasks, network)
    assert not result.ok and "DDLs for agent(s) rpcutil did not match desired versions" in result.stdout


def choria_book(tmp_path: Path, tasks: list[dict[str, Any]], **extra: Any) -> Path:
    path = tmp_path / "choria.yaml"
    path.write_text(yaml.safe_dump(complete({"tasks": tasks, **extra}), sort_keys=False))
    return path


def test_choria_playbook_runs_natively_and_returns_the_report(collections, network, tmp_path):
    book = choria_book(
        tmp_path,
        [ping_task := {"mcollective": {"action": "rpcutil.ping", "nodes": "{{{ nodes.uk }}}"}}],
        nodes={"uk": {"type": "mcollective", "facts": ["country={{{ inputs.country }}}"]}},
        inputs={"country": {"description": "c", "type": "String"}},
    )
    assert ping_task
    out = tmp_path / "p.json"
    tasks = [
        {
            "chorialab.choria.choria_playbook": {
                "servers": ["{{ url }}"],
                "playbook": str(book),
                "inputs": {"country": "uk"},
                "discovery_timeout": 0.5,
            },
            "register": "p",
        },
        save("p", out),
    ]
    result = run(collections, tmp_path, tasks, network)
    assert result.ok, result.stdout
    p = json.loads(out.read_text())
    assert p["success"] is True and p["changed"] is True
    assert sorted(p["report"]["nodes"]["uk"]) == ["emu-0", "emu-2", "emu-4", "emu-6"]
    assert p["report"]["inputs"]["static"] == {"country": "uk"} and p["report"]["tasks"][0]["success"] is True


def test_choria_playbook_failure_fails_the_task_with_the_playbook_error(collections, network, tmp_path):
    book = choria_book(tmp_path, [{"shell": {"command": "echo {{{ inputs.missing }}}"}}])
    result = run(
        collections,
        tmp_path,
        [{"chorialab.choria.choria_playbook": {"servers": ["{{ url }}"], "playbook": str(book)}}],
        network,
    )
    assert not result.ok and "Playbook test_playbook failed: RuntimeError: Unknown input missing" in result.stdout


def test_choria_playbook_check_mode_validates_only(collections, network, tmp_path):
    marker = tmp_path / "ran"
    book = choria_book(tmp_path, [{"shell": {"command": f"touch {marker}"}}])
    assert run(
        collections, tmp_path, [{"chorialab.choria.choria_playbook": {"playbook": str(book)}}], network, check=True
    ).ok
    assert not marker.exists()
    bad = choria_book(tmp_path, [{"rpc": {}}])
    result = run(
        collections, tmp_path, [{"chorialab.choria.choria_playbook": {"playbook": str(bad)}}], network, check=True
    )
    assert not result.ok and "Cannot find a handler for Task type rpc" in result.stdout


def test_playbook_data_and_lookup_on_a_file_store(collections, network, tmp_path):
    data_file = tmp_path / "data.json"
    data_file.write_text("{}")
    stores = {"fs": {"type": "file", "file": str(data_file), "format": "json"}}
    out = tmp_path / "v.json"
    tasks = [
        {"chorialab.choria.playbook_data": {"op": "write", "path": "fs/cluster", "value": "bravo", "stores": stores}},
        {
            "ansible.builtin.set_fact": {
                "seen": [
                    "{{ lookup('chorialab.choria.playbook_data', 'fs/cluster', stores=stores) }}",
                    "{{ lookup('chorialab.choria.playbook_data', 'fs/missing', stores=stores, default='alpha') }}",
                    "{{ lookup('chorialab.choria.playbook_data', 'fs/cluster', stores=stores, validation=':integer', "
                    "default=0) }}",
                ]
            }
        },
        save("seen", out),
        {"chorialab.choria.playbook_data": {"op": "delete", "path": "fs/cluster", "stores": stores}},
        {
            "ansible.builtin.debug": {
                "msg": "{{ lookup('chorialab.choria.playbook_data', 'fs/cluster', stores=stores) }}"
            },
            "ignore_errors": True,
            "register": "gone",
        },
        {
            "ansible.builtin.assert": {
                "that": [
                    "gone is failed",
                    "'Could not resolve fs/cluster for input fs/cluster: RuntimeError: Could not read key fs/cluster: "
                    "RuntimeError: No such key cluster' in gone.msg",
                ]
            }
        },
    ]
    result = run(collections, tmp_path, tasks, network, vars={"stores": stores})
    assert result.ok, result.stdout
    assert json.loads(out.read_text()) == ["bravo", "alpha", 0]
    assert json.loads(data_file.read_text()) == {}
