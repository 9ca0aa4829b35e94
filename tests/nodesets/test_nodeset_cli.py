"""``choria-emulator nodes FILE``: node sets for people outside Ansible."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from nodeset_support import FIXTURES, SAMPLES


def nodes(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "choria_emulator", "nodes", *args], capture_output=True, text=True, timeout=60
    )


def inventory(tmp_path: Path) -> Path:
    (tmp_path / "nodes.yaml").write_text((FIXTURES / "nodes.yaml").read_text())
    path = tmp_path / "site.choria_nodes.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "plugin": "chorialab.choria.nodeset",
                "node_sets": {
                    "uk": {"type": "yaml", "source": "nodes.yaml", "group": "uk"},
                    "scripted": {"type": "shell", "script": str(FIXTURES / "script_nodes.sh"), "limit": 1},
                },
            },
            sort_keys=False,
        )
    )
    return path


def test_table(tmp_path: Path) -> None:
    done = nodes(str(inventory(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "uk (yaml, 3 nodes)",
        "  node1.example.net",
        "  node2.example.net",
        "  node3.example.net",
        "scripted (shell, 1 node)",
        "  node1.example.net",
    ]
    assert "Discovered 3 node(s) in node set uk" in done.stderr


def test_json_and_one_set(tmp_path: Path) -> None:
    done = nodes(str(inventory(tmp_path)), "--json", "--set", "scripted")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "scripted": {"type": "shell", "nodes": ["node1.example.net"], "hostvars": {"node1.example.net": {}}}
    }


def test_unknown_set_is_one_line(tmp_path: Path) -> None:
    done = nodes(str(inventory(tmp_path)), "--set", "fr")
    assert done.returncode == 1
    assert (
        done.stderr.strip().splitlines()[-1]
        == f"choria-emulator nodes: no node set fr in {tmp_path / 'site.choria_nodes.yml'} (it has uk, scripted)"
    )


def test_playbook_nodes_section(tmp_path: Path) -> None:
    """The documented sample playbook, its source path pointed at a real file."""
    sample = yaml.safe_load((SAMPLES / "website__docs_playbooks_node_sets__yaml_node_sets.yaml").read_text())
    (tmp_path / "nodes.yaml").write_text(
        (SAMPLES / "website__docs_playbooks_node_sets__yaml_node_source_file.yaml").read_text()
    )
    for node_set in sample["nodes"].values():
        node_set["source"] = "nodes.yaml"
    playbook = tmp_path / "playbook.yaml"
    playbook.write_text(yaml.safe_dump(sample, sort_keys=False))
    done = nodes(str(playbook), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["web_servers"]["nodes"] == ["node1.example.net", "node2.example.net"]
    assert result["db_servers"]["nodes"] == ["db1.example.net", "db2.example.net"]


def test_errors_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.choria_nodes.yml"
    path.write_text("node_sets:\n  web:\n    type: yaml\n    source: nodes.yaml\n    group: web\n")
    done = nodes(str(path))
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        == f"choria-emulator nodes: Node set web: Node group YAML source file {tmp_path / 'nodes.yaml'} is not readable"
    )
    path.write_text("node_sets: [oops\n")
    done = nodes(str(path))
    assert (
        done.returncode == 1
        and "is not valid YAML at line" in done.stderr
        and len(done.stderr.strip().splitlines()) == 1
    )
