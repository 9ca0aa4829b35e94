"""Issue 13 item 5: one resolution of the Choria client settings everywhere. With only a client
configuration in HOME (``~/.choriarc``) and no server given anywhere, the CLI, the native runner, the
rpc action, a converted play (its RPCs and a ``nats_kv`` store without servers), the data-bound input
lookup and the inventory plugin all reach the broker it names (not ``127.0.0.1:4222``)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from pbansible import BIN, ansible_env, convert_to, write_playbook
from pbhelpers import complete


@pytest.fixture
def home(tmp_path, network, monkeypatch):
    """A HOME whose ~/.choriarc names the test broker; no CHORIA_CONFIG."""
    directory = tmp_path / "home"
    directory.mkdir()
    (directory / ".choriarc").write_text(f"plugin.choria.middleware_hosts = {network.url}\n")
    monkeypatch.delenv("CHORIA_CONFIG", raising=False)
    return directory


def env_with(home: Path, collections: Path | None = None) -> dict[str, str]:
    base = ansible_env(collections) if collections else dict(os.environ)
    return {**base, "HOME": str(home)}


def pinged(network, mark: int) -> list[tuple[str, str]]:
    return sorted({(c["identity"], c["action"]) for c in network.calls_since(mark)})


def test_cli_and_native_runner_read_the_choriarc(home, network, tmp_path):
    mark = len(network.audit_lines())
    done = subprocess.run(
        [str(BIN / "choria-emulator"), "rpc", "rpcutil", "ping", "-I", "emu-2"],
        capture_output=True,
        text=True,
        env=env_with(home),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    book = write_playbook(tmp_path, complete([{"mcollective": {"action": "rpcutil.ping", "nodes": ["emu-3"]}}]))
    done = subprocess.run(
        [str(BIN / "choria-emulator"), "playbook", "run", str(book)],
        capture_output=True,
        text=True,
        env=env_with(home),
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert pinged(network, mark) == [("emu-2", "ping"), ("emu-3", "ping")]


def test_converted_play_actions_and_lookup_read_the_choriarc(home, network, nats, collections, tmp_path):
    """No choria_servers: the discover and rpc actions, the playbook_data action on a nats_kv store without
    servers and the input lookup that reads it all use the broker of ~/.choriarc."""
    data = complete(
        {
            "data_stores": {"kv": {"type": "nats_kv", "bucket": "PB_SETTINGS"}},
            "inputs": {"cluster": {"description": "c", "type": "String", "data": "kv/cluster", "default": "none"}},
            "nodes": {"one": {"type": "mcollective", "identities": ["emu-4"]}},
            "tasks": [
                {"data": {"action": "write", "key": "kv/cluster", "value": "green"}},
                {
                    "mcollective": {
                        "action": "rpcutil.get_fact",
                        "nodes": "{{{ nodes.one }}}",
                        "properties": {"fact": "{{{ inputs.cluster }}}"},
                    }
                },
            ],
        }
    )
    site = convert_to(write_playbook(tmp_path, data), tmp_path)
    mark = len(network.audit_lines())
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), str(site)],
        capture_output=True,
        text=True,
        env=env_with(home, collections),
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    calls = network.calls_since(mark)
    assert [(c["identity"], c["action"], c["data"]) for c in calls] == [("emu-4", "get_fact", {"fact": "green"})]
    assert stored(nats.url, "PB_SETTINGS", "cluster") == "green"  # the store was on the broker of ~/.choriarc


def stored(url: str, bucket: str, key: str) -> str:
    from choria_emulator.playbook.bridge import LoopThread
    from choria_emulator.playbook.stores import DataStores, StoreContext

    loop = LoopThread()
    try:
        stores = DataStores(StoreContext(loop=lambda: loop)).from_hash(
            {"kv": {"type": "nats_kv", "servers": url, "bucket": bucket, "create": False}}
        )
        stores.prepare()
        try:
            return stores.read(f"kv/{key}")
        finally:
            stores.close()
    finally:
        loop.close()


def test_rpc_action_and_inventory_plugin_read_the_choriarc(home, network, collections, tmp_path):
    mark = len(network.audit_lines())
    play = tmp_path / "site.yml"
    play.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "connection": "local",
                    "gather_facts": False,
                    "tasks": [{"chorialab.choria.rpc": {"agent": "rpcutil", "action": "ping", "nodes": ["emu-5"]}}],
                }
            ]
        )
    )
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), str(play)],
        capture_output=True,
        text=True,
        env=env_with(home, collections),
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    inventory = tmp_path / "fleet.choria_nodes.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "plugin": "chorialab.choria.nodeset",
                "node_sets": {"six": {"type": "mcollective", "identities": ["/^emu-6$/"]}},
            }
        )
    )
    done = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(inventory), "--list"],
        capture_output=True,
        text=True,
        env=env_with(home, collections),
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "emu-6" in json.dumps(json.loads(done.stdout)["six"])
    assert pinged(network, mark) == [("emu-5", "ping")]
