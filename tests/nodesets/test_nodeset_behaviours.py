"""Node-set behaviours of the Choria playbook specification (playbooks.md §7, items 15-19), one test each.

Sources here are real: shell scripts, YAML files, an emulated Choria network on a real nats-server.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from nodeset_support import FIXTURES

from choria_emulator.nodesets import NodeSetContext, NodeSetError, resolve_node_set, resolve_node_sets
from choria_emulator.nodesets.resolve import agents_by_set_uses
from choria_emulator.nodesets.sources.shell import DEFAULT_TIMEOUT, ShellSource


def script(tmp_path: Path, *lines: str, name: str | None = None) -> str:
    path = tmp_path / (name or f"nodes-{len(list(tmp_path.glob('nodes-*.sh')))}.sh")
    path.write_text("#!/bin/sh\n" + "\n".join(lines) + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def echo(tmp_path: Path, *nodes: str) -> dict:
    return {"type": "shell", "script": script(tmp_path, *(f"echo {n}" for n in nodes))}


# 15 ------------------------------------------------------------------------------------------


def test_15_discovery_removes_duplicates_keeping_order(tmp_path: Path) -> None:
    resolved = resolve_node_set("servers", echo(tmp_path, "r1", "r2", "r1"), NodeSetContext())
    assert resolved.nodes == ["r1", "r2"]


def test_15_duplicates_removed_before_limit_and_at_least(tmp_path: Path) -> None:
    spec = {**echo(tmp_path, "r1", "r1", "r1", "r2"), "at_least": 2, "limit": 2}
    assert resolve_node_set("servers", spec, NodeSetContext()).nodes == ["r1", "r2"]


# 16 ------------------------------------------------------------------------------------------


def test_16_limit_one_keeps_the_first_node(tmp_path: Path) -> None:
    spec = {**echo(tmp_path, "r3", "r1", "r2"), "limit": 1}
    assert resolve_node_set("servers", spec, NodeSetContext()).nodes == ["r3"]


def test_16_limit_zero_keeps_every_node(tmp_path: Path) -> None:
    spec = {**echo(tmp_path, "r1", "r2", "r3"), "limit": 0}
    assert resolve_node_set("servers", spec, NodeSetContext()).nodes == ["r1", "r2", "r3"]


# 17 ------------------------------------------------------------------------------------------


def test_17_when_empty_default_message() -> None:
    spec = {
        "type": "terraform",
        "statefile": str(FIXTURES / "terraform-v3.tfstate"),
        "output": "none",
        "terraform": False,
    }
    with pytest.raises(NodeSetError, match=r"^Did not discover any nodes for nodeset web_servers$"):
        resolve_node_set("web_servers", spec, NodeSetContext())


def test_17_when_empty_custom_message(tmp_path: Path) -> None:
    spec = {
        "type": "shell",
        "script": script(tmp_path, "true"),
        "when_empty": "No load balancers found with class haproxy",
    }
    with pytest.raises(NodeSetError, match=r"^No load balancers found with class haproxy$"):
        resolve_node_set("load_balancers", spec, NodeSetContext())


@pytest.mark.parametrize("count", [0, 1])
def test_17_at_least_message(tmp_path: Path, count: int) -> None:
    spec = {
        **echo(tmp_path, *[f"web{i}" for i in range(count)]),
        "at_least": 2,
        "empty_ok": False,
        "when_empty": "unused",
    }
    if count == 0:
        with pytest.raises(NodeSetError, match="^unused$"):
            resolve_node_set("web_servers", spec, NodeSetContext())
        return
    with pytest.raises(NodeSetError, match=r"^Node set web_servers needs at least 2 nodes, got 1$"):
        resolve_node_set("web_servers", spec, NodeSetContext())


def test_17_at_least_applies_after_limit(tmp_path: Path) -> None:
    spec = {**echo(tmp_path, "r1", "r2", "r3"), "limit": 1, "at_least": 2}
    with pytest.raises(NodeSetError, match=r"^Node set servers needs at least 2 nodes, got 1$"):
        resolve_node_set("servers", spec, NodeSetContext())


def test_17_empty_ok_disables_when_empty_and_at_least(tmp_path: Path) -> None:
    spec = {
        "type": "shell",
        "script": script(tmp_path, "true"),
        "empty_ok": True,
        "at_least": 5,
        "when_empty": "never shown",
    }
    assert resolve_node_set("servers", spec, NodeSetContext()).nodes == []
    spec = {**echo(tmp_path, "r1"), "empty_ok": True, "at_least": 5}
    assert resolve_node_set("servers", spec, NodeSetContext()).nodes == ["r1"]


def test_17_empty_yaml_group_uses_when_empty_when_given(tmp_path: Path) -> None:
    spec = {"type": "yaml", "source": str(FIXTURES / "nodes.yaml"), "group": "empty_array"}
    with pytest.raises(NodeSetError, match="Data group empty_array is empty"):
        resolve_node_set("s", spec, NodeSetContext())
    with pytest.raises(NodeSetError, match="^nothing in empty_array$"):
        resolve_node_set("s", {**spec, "when_empty": "nothing in empty_array"}, NodeSetContext())
    assert resolve_node_set("s", {**spec, "empty_ok": True}, NodeSetContext()).nodes == []


# 18 ------------------------------------------------------------------------------------------


def _audit(emulator, action: str) -> list[dict]:
    lines = emulator.audit.read_text().splitlines() if emulator.audit.exists() else []
    return [e for e in map(json.loads, lines) if e["agent"] == "rpcutil" and e["action"] == action]


def test_18_only_test_sets_are_pinged_in_one_request(tmp_path: Path, network, net_ctx: NodeSetContext) -> None:
    _, emulator = network
    before = {e["request_id"] for e in _audit(emulator, "ping")}
    specs = {
        "first": {**echo(tmp_path, "emu-0", "emu-1"), "test": True},
        "untested": {"type": "yaml", "source": str(_yaml(tmp_path, {"g": ["emu-2", "not-running-1"]})), "group": "g"},
        "second": {"type": "mcollective", "identities": ["/^emu-[67]$/"], "test": True},
    }
    resolved = resolve_node_sets(specs, net_ctx)
    assert resolved["untested"].nodes == ["emu-2", "not-running-1"]  # never pinged, so no failure
    pings = [e for e in _audit(emulator, "ping") if e["request_id"] not in before]
    assert sorted(e["identity"] for e in pings) == ["emu-0", "emu-1", "emu-6", "emu-7"]
    assert len({e["request_id"] for e in pings}) == 1


def test_18_connectivity_test_names_missing_nodes(tmp_path: Path, network, net_ctx: NodeSetContext) -> None:
    spec = {
        "type": "yaml",
        "source": str(_yaml(tmp_path, {"g": ["emu-3", "ghost-1", "ghost-2"]})),
        "group": "g",
        "test": True,
    }
    with pytest.raises(
        NodeSetError,
        match=r"^Connectivity test failed for some nodes: 2 of 3 node\(s\) did not respond: ghost-1, ghost-2$",
    ) as err:
        resolve_node_sets({"servers": spec}, net_ctx)
    assert err.value.problems == ["ghost-1", "ghost-2"]


def test_18_uses_aggregates_agent_nodes_across_sets(tmp_path: Path) -> None:
    ctx = NodeSetContext()
    a = resolve_node_set("a", echo(tmp_path, "n1", "n2"), ctx)
    b = resolve_node_set("b", echo(tmp_path, "n3"), ctx)
    assert agents_by_set_uses({"a": a, "b": b}, {"a": ["rpcutil", "puppet"], "b": ["rpcutil"]}) == {
        "rpcutil": ["n1", "n2", "n3"],
        "puppet": ["n1", "n2"],
    }


def test_18_uses_passes_when_versions_match(network, net_ctx: NodeSetContext) -> None:
    net_ctx.uses = {"rpcutil": "~0.29", "emulated1": ">= 0.0.1 < 1"}
    specs = {
        "a": {"type": "mcollective", "identities": ["emu-1", "emu-2"], "uses": ["rpcutil"]},
        "b": {"type": "mcollective", "agents": ["emulated1"], "limit": 2, "uses": ["rpcutil", "emulated1"]},
    }
    resolved = resolve_node_sets(specs, net_ctx)
    assert sorted(resolved["a"].nodes) == ["emu-1", "emu-2"]  # in the order they answered
    assert len(resolved["b"].nodes) == 2


def test_18_uses_reports_every_failure(
    tmp_path: Path, network, net_ctx: NodeSetContext, caplog: pytest.LogCaptureFixture
) -> None:
    net_ctx.uses = {"rpcutil": "~1.0.0", "emulated5": "*"}
    spec = {
        "type": "yaml",
        "source": str(_yaml(tmp_path, {"g": ["emu-4", "ghost-9"]})),
        "group": "g",
        "uses": ["rpcutil", "emulated5", "puppet"],
    }
    with pytest.raises(NodeSetError) as err:
        resolve_node_sets({"servers": spec}, net_ctx)
    assert err.value.reason == "Network agents did not match specified SemVer specifications in the playbook"
    assert err.value.problems == [
        "Agent rpcutil on emu-4 version 0.29.4 does not match desired version ~1.0.0",
        "Did not receive an inventory for node ghost-9",
        "Node emu-4 does not have the agent emulated5",
        "Agent puppet is mentioned in node sets but not declared in the uses list",
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "Agent puppet is mentioned in node sets but not declared in the uses list" in warnings


def _yaml(tmp_path: Path, groups: dict) -> Path:
    import yaml

    path = tmp_path / f"groups-{len(list(tmp_path.glob('groups-*')))}.yaml"
    path.write_text(yaml.safe_dump(groups))
    return path


# 19 ------------------------------------------------------------------------------------------


def test_19_shell_nonzero_exit_is_an_error_quoting_stderr(tmp_path: Path) -> None:
    spec = {"type": "shell", "script": script(tmp_path, "echo node1", "echo 'database is down' >&2", "exit 3")}
    with pytest.raises(
        NodeSetError,
        match=r"^Node set s: Could not discover nodes via shell method, command exited with code 3: database is down$",
    ):
        resolve_node_set("s", spec, NodeSetContext())


def test_19_shell_rejects_invalid_hostnames(tmp_path: Path) -> None:
    with pytest.raises(NodeSetError) as err:
        resolve_node_set("s", {"type": "shell", "script": str(FIXTURES / "bad_script_nodes.sh")}, NodeSetContext())
    assert err.value.reason == "node1 example.net is not a valid hostname"


def test_19_shell_fixture_script_lists_nodes() -> None:
    spec = {"type": "shell", "script": str(FIXTURES / "script_nodes.sh")}
    assert resolve_node_set("s", spec, NodeSetContext()).nodes == ["node1.example.net", "node2.example.net"]


def test_19_shell_script_with_arguments_runs(tmp_path: Path) -> None:
    path = script(tmp_path, 'for n in "$@"; do echo "$n"; done')
    assert resolve_node_set(
        "s", {"type": "shell", "script": f"{path} a.example b.example"}, NodeSetContext()
    ).nodes == ["a.example", "b.example"]


def test_19_shell_times_out_after_ten_seconds_by_default(tmp_path: Path) -> None:
    source = ShellSource("s", {"type": "shell", "script": "true"}, NodeSetContext())
    assert source.timeout == DEFAULT_TIMEOUT == 10.0
    pid_file = tmp_path / "sleep.pid"
    spec = {"type": "shell", "script": script(tmp_path, "sleep 30 &", f"echo $! > {pid_file}", "wait"), "timeout": 0.5}
    with pytest.raises(NodeSetError, match=r"^Node set s: Node source script did not finish within 0.5 seconds$"):
        resolve_node_set("s", spec, NodeSetContext())
    assert not running(int(pid_file.read_text()))  # the script's children were killed with it


def running(pid: int) -> bool:
    """Alive and not a zombie waiting for its (killed) parent's reaper."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.parametrize(
    "spec, reason",
    [
        ({"type": "shell"}, "No node source script specified"),
        ({"type": "shell", "script": str(FIXTURES / "nodes.yaml")}, "Node source script is not executable"),
        (
            {"type": "shell", "script": "no-such-command-here --all"},
            "Node source script no-such-command-here was not found on PATH",
        ),
        ({"type": "shell", "script": "true"}, "Node source script produced no results"),
    ],
)
def test_19_shell_validation_errors(spec: dict, reason: str) -> None:
    with pytest.raises(NodeSetError) as err:
        resolve_node_set("s", spec, NodeSetContext())
    assert err.value.reason == reason
    assert str(err.value) == f"Node set s: {reason}"


@pytest.mark.parametrize(
    "group, reason",
    [
        ("fr", f"No data group fr defined in the data file {FIXTURES / 'nodes.yaml'}"),
        ("non_array", "Data group non_array is not an array"),
        ("empty_array", "Data group empty_array is empty"),
    ],
)
def test_19_yaml_error_strings(group: str, reason: str) -> None:
    with pytest.raises(NodeSetError) as err:
        resolve_node_set(
            "s", {"type": "yaml", "source": str(FIXTURES / "nodes.yaml"), "group": group}, NodeSetContext()
        )
    assert err.value.reason == reason


def test_19_yaml_group_uk() -> None:
    spec = {"type": "yaml", "source": str(FIXTURES / "nodes.yaml"), "group": "uk"}
    assert resolve_node_set("s", spec, NodeSetContext()).nodes == [
        "node1.example.net",
        "node2.example.net",
        "node3.example.net",
    ]


@pytest.mark.parametrize(
    "spec, reason",
    [
        ({"type": "yaml", "group": "uk"}, "No node group YAML source file specified"),
        (
            {"type": "yaml", "source": "/nonexistent/nodes.yaml", "group": "uk"},
            "Node group YAML source file /nonexistent/nodes.yaml is not readable",
        ),
        ({"type": "yaml", "source": str(FIXTURES / "nodes.yaml")}, "No node group name specified"),
    ],
)
def test_19_yaml_validation_errors(spec: dict, reason: str) -> None:
    with pytest.raises(NodeSetError) as err:
        resolve_node_set("s", spec, NodeSetContext())
    assert err.value.reason == reason


@pytest.mark.parametrize(
    "spec, reason",
    [
        ({"type": "terraform", "output": "x"}, "A terraform state file is needed"),
        (
            {"type": "terraform", "statefile": "/nonexistent.tfstate", "output": "x"},
            "The terraform statefile /nonexistent.tfstate is not readable",
        ),
        ({"type": "terraform", "statefile": str(FIXTURES / "terraform-v3.tfstate")}, "An output name is needed"),
        (
            {
                "type": "terraform",
                "statefile": str(FIXTURES / "terraform-v3.tfstate"),
                "output": "x",
                "terraform": str(FIXTURES / "nodes.yaml"),
            },
            f"The supplied terraform path {FIXTURES / 'nodes.yaml'} is not executable",
        ),
        (
            {
                "type": "terraform",
                "statefile": str(FIXTURES / "terraform-v3.tfstate"),
                "output": "lb",
                "terraform": False,
            },
            "Only terraform outputs of type list is supported",
        ),
    ],
)
def test_19_terraform_error_strings(spec: dict, reason: str) -> None:
    with pytest.raises(NodeSetError) as err:
        resolve_node_set("s", spec, NodeSetContext())
    assert err.value.reason == reason
