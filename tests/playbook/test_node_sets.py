"""Node sets inside playbooks (playbooks.md §1.7, §6.2, §7 items 15-19) against the emulated network,
YAML, shell and Terraform fixtures. The node-set library has its own tests; these check the
playbook's use of it: templating, order, messages in the report and the nodes tasks see."""

from __future__ import annotations

import pytest
from pbhelpers import FIXTURES, complete, load_sample, sample


def nodes_of(make_book, nodes, network=None, values=None, **data):
    """Run a playbook with ``nodes`` (and other sections in ``data``) and return its report."""
    options = network.options() if network else {}
    book = make_book(complete({"nodes": nodes, **data}), **options)
    return book.run(values or {})


def yaml_set(group, **extra):
    return {"type": "yaml", "source": str(FIXTURES / "nodes.yaml"), "group": group, **extra}


def test_duplicates_are_removed_keeping_order(make_book):
    report = nodes_of(make_book, {"dup": yaml_set("duplicates")})
    assert report["nodes"]["dup"] == ["emu-1", "emu-0"]


def test_limit_keeps_the_first_nodes(make_book):
    report = nodes_of(make_book, {"web": yaml_set("web_servers", limit=1)})
    assert report["nodes"]["web"] == ["emu-0"]


def test_when_empty_default_and_custom_messages(make_book, network):
    empty = {"type": "mcollective", "agents": ["puppet"]}
    report = nodes_of(make_book, {"web_servers": empty}, network)
    assert (
        report["report"]["playbook_error"]
        == "Playbook test_playbook failed: RuntimeError: Did not discover any nodes for nodeset web_servers"
    )
    report = nodes_of(
        make_book,
        {"lb": {**empty, "when_empty": "No load balancers found with class {{{ inputs.cls }}}"}},
        network,
        {"cls": "haproxy"},
        inputs={"cls": {"description": "c", "type": "String"}},
    )
    assert (
        report["report"]["playbook_error"]
        == "Playbook test_playbook failed: RuntimeError: No load balancers found with class haproxy"
    )


def test_at_least_applies_after_limit(make_book):
    report = nodes_of(make_book, {"web_servers": yaml_set("web_servers", limit=1, at_least=2)})
    assert (
        report["report"]["playbook_error"]
        == "Playbook test_playbook failed: RuntimeError: Node set web_servers needs at least 2 nodes, got 1"
    )


def test_empty_ok_disables_when_empty_and_at_least(make_book, network):
    report = nodes_of(
        make_book, {"none": {"type": "mcollective", "agents": ["puppet"], "empty_ok": True, "at_least": 5}}, network
    )
    assert report["report"]["success"] and report["nodes"]["none"] == []


def test_node_sets_are_templated_with_inputs(make_book, network):
    inputs = {"country": {"description": "c", "type": "String"}}
    report = nodes_of(
        make_book,
        {"uk": {"type": "mcollective", "facts": ["country={{{ inputs.country }}}"]}},
        network,
        {"country": "uk"},
        inputs=inputs,
    )
    assert sorted(report["nodes"]["uk"]) == ["emu-0", "emu-2", "emu-4", "emu-6"]


def test_a_node_set_cannot_refer_to_another(make_book):
    report = nodes_of(
        make_book, {"a": yaml_set("web_servers"), "b": {"type": "shell", "script": "echo {{{ nodes.a }}}"}}
    )
    assert report["report"]["playbook_error"] == "Playbook test_playbook failed: RuntimeError: Unknown node set a"


def test_test_sets_are_pinged_once_together(make_book, network):
    mark = len(network.audit_lines())
    sets = {
        "web": yaml_set("web_servers", test=True),
        "db": yaml_set("db_servers", test=True),
        "other": {"type": "shell", "script": str(FIXTURES / "nodes.sh")},
    }
    report = nodes_of(make_book, sets, network)
    assert report["report"]["success"], report["report"]
    pings = [c for c in network.calls_since(mark) if c["agent"] == "rpcutil" and c["action"] == "ping"]
    assert sorted(c["identity"] for c in pings) == ["emu-0", "emu-1", "emu-2", "emu-3"]
    assert len({c["request_id"] for c in pings}) == 1


def test_connectivity_test_failure_names_the_missing_node(make_book, network, tmp_path):
    source = tmp_path / "ghost.yaml"
    source.write_text("g: [emu-0, ghost-node]\n")
    report = nodes_of(make_book, {"g": {"type": "yaml", "source": str(source), "group": "g", "test": True}}, network)
    assert report["report"]["playbook_error"].startswith(
        "Playbook test_playbook failed: RuntimeError: Connectivity test failed for some nodes"
    )
    assert "ghost-node" in report["report"]["playbook_error"]


def test_uses_aggregates_agents_across_sets_in_one_inventory_request(make_book, network):
    mark = len(network.audit_lines())
    sets = {
        "web": yaml_set("web_servers", uses=["rpcutil", "emulated1"]),
        "db": yaml_set("db_servers", uses=["rpcutil"]),
    }
    report = nodes_of(make_book, sets, network, uses={"rpcutil": ">= 0.1.0", "emulated1": ">= 0.0.1"})
    assert report["report"]["success"], report["report"]
    inventory = [c for c in network.calls_since(mark) if c["action"] == "agent_inventory"]
    assert sorted(c["identity"] for c in inventory) == ["emu-0", "emu-1", "emu-2", "emu-3"]


def test_uses_network_check_fails_for_agents_outside_the_range_or_missing(make_book, network, tmp_path):
    (tmp_path / "rpcutil.json").write_text(
        '{"metadata": {"name": "rpcutil", "version": "9.0"}}'
    )  # the local DDL passes
    sets = {"web": yaml_set("web_servers", uses=["rpcutil", "emulated5"])}
    book = make_book(
        complete({"nodes": sets, "uses": {"rpcutil": "~9.0.0", "emulated5": ">= 0.0.1"}}),
        extra={"ddl_path": [str(tmp_path)]},
        **network.options(),
    )
    report = book.run({})
    error = report["report"]["playbook_error"]
    assert "Network agents did not match specified SemVer specifications in the playbook" in error
    assert "Node emu-0 does not have the agent emulated5" in error
    warnings = [e["msg"] for e in report["logs"] if e["level"] == "warn"]
    assert any("Agent rpcutil on emu-0 version" in w and "does not match desired version" in w for w in warnings)


def test_uses_local_ddl_check_runs_before_discovery(make_book, network):
    mark = len(network.audit_lines())
    report = nodes_of(
        make_book, {"web": yaml_set("web_servers", test=True)}, network, uses={"rpcutil": "~1.0.0", "puppet": "~1.11.0"}
    )
    assert (
        report["report"]["playbook_error"] == "Playbook test_playbook failed: RuntimeError: "
        "DDLs for agent(s) rpcutil, puppet did not match desired versions"
    )
    assert network.calls_since(mark) == []


def test_uses_local_ddl_check_reads_ddl_directories(make_book, tmp_path):
    (tmp_path / "puppet.json").write_text('{"metadata": {"name": "puppet", "version": "1.11"}}')
    book = make_book(complete({"uses": {"puppet": "~1.11.0"}}), extra={"ddl_path": [str(tmp_path)]})
    assert book.run({})["report"]["success"]


def test_shell_node_source(make_book):
    assert nodes_of(make_book, {"s": {"type": "shell", "script": str(FIXTURES / "nodes.sh")}})["nodes"]["s"] == [
        "emu-4",
        "emu-5",
    ]
    bad = nodes_of(make_book, {"s": {"type": "shell", "script": str(FIXTURES / "bad_nodes.sh")}})
    assert "node1 example.net is not a valid hostname" in bad["report"]["playbook_error"]
    failing = nodes_of(make_book, {"s": {"type": "shell", "script": str(FIXTURES / "failing_nodes.sh")}})
    assert (
        "Could not discover nodes via shell method, command exited with code 3" in failing["report"]["playbook_error"]
    )


@pytest.mark.parametrize(
    "group, message",
    [
        ("fr", "No data group fr defined in the data file {path}"),
        ("non_array", "Data group non_array is not an array"),
        ("empty_array", "Data group empty_array is empty"),
    ],
)
def test_yaml_node_source_errors_from_the_spec_fixture(make_book, group, message):
    path = sample("mcollective-choria__spec_fixtures_playbooks__nodes.yaml")
    report = nodes_of(make_book, {"servers": {"type": "yaml", "source": str(path), "group": group}})
    assert message.format(path=path) in report["report"]["playbook_error"]


def test_yaml_node_source_groups_of_the_docs_sample(make_book):
    report = nodes_of(
        make_book,
        {
            "web": {
                "type": "yaml",
                "source": str(sample("website__docs_playbooks_node_sets__yaml_node_source_file.yaml")),
                "group": "db_servers",
            }
        },
    )
    assert report["nodes"]["web"] == ["db1.example.net", "db2.example.net"]


def test_terraform_node_source(make_book):
    report = nodes_of(
        make_book,
        {"dev": {"type": "terraform", "statefile": str(FIXTURES / "terraform.tfstate"), "output": "webservers"}},
    )
    assert report["nodes"]["dev"] == ["emu-6", "emu-7"], report["report"]
    string = nodes_of(
        make_book, {"dev": {"type": "terraform", "statefile": str(FIXTURES / "terraform.tfstate"), "output": "name"}}
    )
    assert "Only terraform outputs of type list is supported" in string["report"]["playbook_error"]
    missing = nodes_of(make_book, {"dev": {"type": "terraform", "statefile": "/nonexistent.tfstate", "output": "x"}})
    assert "The terraform statefile /nonexistent.tfstate is not readable" in missing["report"]["playbook_error"]


def test_spec_fixture_playbook_node_set_messages(make_book, network):
    """playbooks.md §6.2 with the spec fixture, its PuppetDB discovery switched to broadcast."""
    data = load_sample("mcollective-choria__spec_fixtures_playbooks@0.6.0__playbook.yaml")
    for spec in data["nodes"].values():
        spec["discovery_method"] = "mc"
    data["locks"] = []
    data["uses"] = {"rpcutil": ">= 0.1", "puppet": ">= 0"}
    book = make_book(data, extra={"ddl_path": []}, **network.options())
    report = book.run({"two": "x"})
    assert "DDLs for agent(s) puppet did not match desired versions" in report["report"]["playbook_error"]
    data["uses"] = {"rpcutil": ">= 0.1"}
    report = make_book(data, **network.options()).run({"two": "x"})
    assert (
        report["report"]["playbook_error"]
        == "Playbook test_playbook failed: RuntimeError: No load balancers found with class haproxy"
    )
    data["nodes"]["load_balancers"]["agents"] = ["rpcutil"]
    data["nodes"]["web_servers"]["agents"] = ["rpcutil"]
    data["nodes"]["web_servers"]["identities"] = ["emu-3"]
    report = make_book(data, **network.options()).run({"two": "x"})
    assert (
        report["report"]["playbook_error"]
        == "Playbook test_playbook failed: RuntimeError: Node set web_servers needs at least 2 nodes, got 1"
    )
