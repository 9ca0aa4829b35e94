"""The ``chorialab.choria.nodeset`` inventory plugin run by the real ``ansible-inventory`` and ``ansible-playbook``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from nodeset_support import DOMAIN, FIXTURES, REPO, fleet, terraform_binary

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def collections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ANSIBLE_COLLECTIONS_PATH where chorialab.choria is this checkout."""
    root = tmp_path_factory.mktemp("collections")
    (root / "ansible_collections" / "chorialab").mkdir(parents=True)
    (root / "ansible_collections" / "chorialab" / "choria").symlink_to(REPO)
    return root


def ansible(
    collections: Path, tool: str, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "PUPPETDB_"))},
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_INVENTORY_ENABLED": "chorialab.choria.nodeset",
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(collections / "tmp"),
        **(env or {}),
    }
    done = subprocess.run([str(BIN / tool), *args], env=environment, capture_output=True, text=True, timeout=180)
    if check:
        assert done.returncode == 0, (
            f"{tool} {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done


def write_inventory(
    directory: Path, node_sets: dict[str, Any], name: str = "test.choria_nodes.yml", **top: Any
) -> Path:
    path = directory / name
    path.write_text(
        yaml.safe_dump({"plugin": "chorialab.choria.nodeset", **top, "node_sets": node_sets}, sort_keys=False)
    )
    return path


def inventory_list(collections: Path, path: Path, **kwargs: Any) -> dict[str, Any]:
    return _plain(json.loads(ansible(collections, "ansible-inventory", "-i", str(path), "--list", **kwargs).stdout))


def _plain(value: Any) -> Any:
    """ansible-core 2.19 marks untrusted strings ``{"__ansible_unsafe": ...}`` in --list output."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def hosts(listing: dict[str, Any], group: str) -> list[str]:
    return sorted(listing.get(group, {}).get("hosts", []))


# every source type ----------------------------------------------------------------------------


def test_yaml_source(collections: Path, tmp_path: Path) -> None:
    (tmp_path / "nodes.yaml").write_text((FIXTURES / "nodes.yaml").read_text())
    path = write_inventory(tmp_path, {"uk": {"type": "yaml", "source": "nodes.yaml", "group": "uk", "limit": 2}})
    listing = inventory_list(collections, path)
    assert hosts(listing, "uk") == ["node1.example.net", "node2.example.net"]
    assert listing["_meta"]["hostvars"]["node1.example.net"] == {
        "choria_identity": "node1.example.net",
        "choria_node_sets": ["uk"],
    }


def test_shell_source_graph(collections: Path, tmp_path: Path) -> None:
    path = write_inventory(tmp_path, {"servers": {"type": "shell", "script": str(FIXTURES / "script_nodes.sh")}})
    graph = ansible(collections, "ansible-inventory", "-i", str(path), "--graph").stdout
    assert "@servers:" in graph and "node1.example.net" in graph and "node2.example.net" in graph


def test_terraform_source(collections: Path, tmp_path: Path, terraform_state: Path) -> None:
    path = write_inventory(
        tmp_path,
        {
            "web": {
                "type": "terraform",
                "statefile": str(terraform_state),
                "output": "webservers",
                "terraform": terraform_binary(),
            },
            "hosts": {"type": "terraform", "statefile": str(terraform_state), "output": "hosts", "terraform": False},
        },
        hostvar_prefix="tf_",
    )
    listing = inventory_list(collections, path)
    expected = ["web1.tf.example.net", "web2.tf.example.net", "web3.tf.example.net"]
    assert hosts(listing, "web") == expected and hosts(listing, "hosts") == expected
    assert listing["_meta"]["hostvars"]["web1.tf.example.net"]["tf_terraform"]["role"] == "web"
    assert listing["_meta"]["hostvars"]["web1.tf.example.net"]["tf_node_sets"] == ["web", "hosts"]


def test_pql_source_with_puppetdb_from_environment(collections: Path, tmp_path: Path, puppetdb) -> None:
    path = write_inventory(
        tmp_path,
        {"db": {"type": "pql", "query": 'inventory[certname, facts] { facts.role = "db" }'}},
        keyed_groups=[{"key": "choria_facts.country", "prefix": "country"}],
        compose={"role": "choria_facts.role"},
    )
    listing = inventory_list(
        collections, path, env={"PUPPETDB_SERVER_URLS": puppetdb.url}
    )  # as an AWX credential injects it
    assert hosts(listing, "db") == fleet(lambda n: n.facts["role"] == "db")
    assert hosts(listing, "country_mt") == fleet(lambda n: n.facts["role"] == "db" and n.facts["country"] == "mt")
    assert listing["_meta"]["hostvars"][f"db03.{DOMAIN}"]["role"] == "db"


def test_pql_and_choria_discovery_with_puppetdb_option(collections: Path, tmp_path: Path, puppetdb) -> None:
    path = write_inventory(
        tmp_path,
        {
            "lb": {"type": "pql", "query": 'resources[certname] { type = "Class" and title = "Haproxy" }'},
            "puppet": {
                "type": "mcollective",
                "discovery_method": "choria",
                "agents": ["puppet"],
                "classes": ["haproxy"],
            },
        },
        puppetdb={"server_urls": [puppetdb.url], "read_timeout": 30},
    )
    listing = inventory_list(collections, path)
    assert hosts(listing, "lb") == hosts(listing, "puppet") == fleet(lambda n: "Haproxy" in n.classes)


def test_mcollective_source_with_test_and_uses(collections: Path, tmp_path: Path, network) -> None:
    nats, _ = network
    path = write_inventory(
        tmp_path,
        {
            "apache": {"type": "mcollective", "classes": ["apache"], "test": True, "uses": ["rpcutil"]},
            "de": {"type": "mcollective", "facts": ["country=de"], "limit": 2},
        },
        choria={"servers": [nats.url], "discovery_timeout": 1},
        uses={"rpcutil": "~0.29"},
        groups={"first_two": "choria_identity in ['emu-0', 'emu-1']"},
    )
    listing = inventory_list(collections, path)
    assert hosts(listing, "apache") == ["emu-0", "emu-2", "emu-4", "emu-6"]
    assert len(hosts(listing, "de")) == 2 and all(int(h[-1]) % 2 for h in hosts(listing, "de"))
    assert "emu-0" in hosts(listing, "first_two")
    assert listing["_meta"]["hostvars"]["emu-2"]["choria_collective"] == "mcollective"


def test_cache_is_read_until_flushed(collections: Path, tmp_path: Path) -> None:
    source = tmp_path / "nodes.yaml"
    source.write_text("web: [a.example.net]\n")
    path = write_inventory(
        tmp_path,
        {"web": {"type": "yaml", "source": "nodes.yaml", "group": "web"}},
        cache=True,
        cache_plugin="ansible.builtin.jsonfile",
        cache_connection=str(tmp_path / "cache"),
        cache_timeout=3600,
    )
    assert hosts(inventory_list(collections, path), "web") == ["a.example.net"]
    source.write_text("web: [b.example.net]\n")
    assert hosts(inventory_list(collections, path), "web") == ["a.example.net"]  # from the cache
    flushed = ansible(collections, "ansible-inventory", "-i", str(path), "--list", "--flush-cache").stdout
    assert hosts(_plain(json.loads(flushed)), "web") == ["b.example.net"]
    assert hosts(inventory_list(collections, path), "web") == ["b.example.net"]  # the cache was updated


def test_other_files_are_not_claimed(collections: Path, tmp_path: Path) -> None:
    path = write_inventory(
        tmp_path, {"web": {"type": "shell", "script": str(FIXTURES / "script_nodes.sh")}}, name="inventory.yml"
    )
    done = ansible(collections, "ansible-inventory", "-i", str(path), "--list", check=False)
    assert done.returncode != 0 and "node1.example.net" not in done.stdout


# bad input: one clear error each ---------------------------------------------------------------


def bad(collections: Path, path: Path, **kwargs: Any) -> str:
    done = ansible(collections, "ansible-inventory", "-i", str(path), "--list", check=False, **kwargs)
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    return done.stderr


def test_unknown_type(collections: Path, tmp_path: Path) -> None:
    assert "Node set web: Cannot find a handler for Node Set type nosuch" in bad(
        collections, write_inventory(tmp_path, {"web": {"type": "nosuch"}})
    )


def test_missing_options(collections: Path, tmp_path: Path) -> None:
    assert "Node set web: No PQL query specified" in bad(
        collections, write_inventory(tmp_path, {"web": {"type": "pql"}})
    )
    assert "Node set web: option type is required" in bad(
        collections, write_inventory(tmp_path, {"web": {"query": "x"}})
    )


def test_unreachable_puppetdb(collections: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    path = write_inventory(
        tmp_path, {"web": {"type": "pql", "query": "nodes[certname] {}"}}, puppetdb={"server_urls": [url]}
    )
    assert f"Node set web: Failed to make request to PuppetDB: could not connect to {url}: Connection refused" in bad(
        collections, path
    )


def test_malformed_node_source_yaml(collections: Path, tmp_path: Path) -> None:
    (tmp_path / "nodes.yaml").write_text("web: [a, b\ndb: c\n")
    path = write_inventory(tmp_path, {"web": {"type": "yaml", "source": "nodes.yaml", "group": "web"}})
    assert f"Node set web: Node group YAML source file {tmp_path / 'nodes.yaml'} is not valid YAML at line" in bad(
        collections, path
    )


def test_malformed_inventory_file(collections: Path, tmp_path: Path) -> None:
    path = tmp_path / "broken.choria_nodes.yml"
    path.write_text("plugin: chorialab.choria.nodeset\nnode_sets: {web: [\n")
    stderr = bad(collections, path)
    assert "YAML parsing failed" in stderr and "broken.choria_nodes.yml" in stderr


def test_shell_command_not_found(collections: Path, tmp_path: Path) -> None:
    path = write_inventory(tmp_path, {"web": {"type": "shell", "script": "list-my-nodes --all"}})
    assert "Node set web: Node source script list-my-nodes was not found on PATH" in bad(collections, path)


# a play over a node-set group --------------------------------------------------------------------


def test_playbook_pings_a_node_set_through_the_emulator(collections: Path, tmp_path: Path, network) -> None:
    nats, _ = network
    inventory = write_inventory(
        tmp_path,
        {"web": {"type": "mcollective", "classes": ["apache"], "test": True}},
        choria={"servers": [nats.url], "discovery_timeout": 1},
    )
    playbook = tmp_path / "ping.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "rpcutil#ping the web node set through Choria",
                    "hosts": "web",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "ping every node of the set",
                            "ansible.builtin.command": {
                                "argv": [
                                    str(BIN / "choria-emulator"),
                                    "rpc",
                                    "rpcutil",
                                    "ping",
                                    "--json",
                                    "--server",
                                    nats.url,
                                    "--nodes",
                                    "{{ ansible_play_hosts | map('extract', hostvars, 'choria_identity') "
                                    "| join(',') }}",
                                ]
                            },
                            "delegate_to": "localhost",
                            "run_once": True,
                            "changed_when": False,
                            "register": "ping",
                        },
                        {
                            "name": "every node answered",
                            "ansible.builtin.assert": {
                                "that": [
                                    "(ping.stdout | from_json).stats.ok == ansible_play_hosts | length",
                                    "(ping.stdout | from_json).replies | map(attribute='sender') | sort "
                                    "== ansible_play_hosts | sort",
                                ]
                            },
                        },
                    ],
                }
            ]
        )
    )
    done = ansible(
        collections,
        "ansible-playbook",
        "-i",
        str(inventory),
        str(playbook),
        env={"ANSIBLE_PYTHON_INTERPRETER": sys.executable},
    )
    assert "ok=2" in done.stdout and "failed=0" in done.stdout
    assert all(f"emu-{i}" in done.stdout for i in (0, 2, 4, 6))
