"""Real parts for the node-set tests: PuppetDB 7 + PostgreSQL 15, Terraform, nats-server and emulators.

PuppetDB is started once per session by this directory's ``puppetdb-sandbox.sh`` (its own PostgreSQL
cluster, free ports; ``--stop`` stops both) and loaded with ``replace_facts``/``replace_catalog``
commands for the 50 nodes of :data:`FLEET`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from nodeset_support import (
    DEACTIVATED,
    DOMAIN,
    FIXTURES,
    FLEET,
    SANDBOX,
    FleetNode,
    null_provider,
    terraform_binary,
)

from choria_emulator.client import ClientConfig
from choria_emulator.nodesets import NodeSetContext, PuppetDBConfig
from choria_emulator.testing.localnet import Emulator, NatsServer


@dataclass
class PuppetDBSandbox:
    url: str
    workdir: Path

    def config(self, **overrides: Any) -> PuppetDBConfig:
        return PuppetDBConfig(server_urls=[self.url], **overrides)

    def command(self, command: str, version: int, payload: dict[str, Any]) -> None:
        query = f"command={command}&version={version}&certname={payload['certname']}"
        request = urllib.request.Request(
            f"{self.url}/pdb/cmd/v1?{query}",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200, response.read()

    def pql(self, query: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}/pdb/query/v4",
            data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def _catalog(node: FleetNode, stamp: str, number: int) -> dict[str, Any]:
    resources = [
        {"type": "Class", "title": c, "exported": False, "tags": ["class", c.lower()], "parameters": {}}
        for c in node.classes
    ]
    resources += [
        {
            "type": "Package",
            "title": p,
            "exported": False,
            "tags": ["package"],
            "file": "/etc/puppet/code/site.pp",
            "line": 3,
            "parameters": {"ensure": "present"},
        }
        for p in node.packages
    ]
    edges = [
        {
            "source": {"type": "Class", "title": node.classes[0]},
            "target": {"type": "Package", "title": p},
            "relationship": "contains",
        }
        for p in node.packages
    ]
    return {
        "certname": node.certname,
        "version": "1",
        "environment": "production",
        "transaction_uuid": f"3c0b1e1b-0000-4000-8000-{number:012d}",
        "catalog_uuid": f"3c0b1e1b-0001-4000-8000-{number:012d}",
        "code_id": None,
        "producer_timestamp": stamp,
        "producer": "choria-nodesets-tests",
        "resources": resources,
        "edges": edges,
    }


def _load_fleet(pdb: PuppetDBSandbox) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    for number, node in enumerate(FLEET, 1):
        pdb.command(
            "replace_facts",
            5,
            {
                "certname": node.certname,
                "environment": "production",
                "producer_timestamp": stamp,
                "producer": "tests",
                "values": node.facts,
            },
        )
        pdb.command("replace_catalog", 9, _catalog(node, stamp, number))
    pdb.command("deactivate_node", 3, {"certname": DEACTIVATED, "producer_timestamp": stamp})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # commands are asynchronous
        facts = pdb.pql(f'inventory[count()] {{ certname ~ "{DOMAIN}$" and node_state = "any" }}')[0]["count"]
        classes = pdb.pql(f'resources[count()] {{ type = "Class" and certname ~ "{DOMAIN}$" and node_state = "any" }}')[
            0
        ]["count"]
        active = {row["certname"] for row in pdb.pql("nodes[certname] {}")}
        if (
            facts == len(FLEET)
            and classes == sum(len(n.classes) for n in FLEET)
            and active == {n.certname for n in FLEET} - {DEACTIVATED}
        ):
            return
        time.sleep(0.25)
    raise RuntimeError(f"PuppetDB did not store the fleet within 60 s (facts {facts}, classes {classes})")


def _stop_sandbox(workdir: Path) -> None:
    subprocess.run(["bash", str(SANDBOX), "--stop", str(workdir)], capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def puppetdb() -> PuppetDBSandbox:
    """PuppetDB 7 + PostgreSQL 15 on random ports with the fleet loaded; stopped at the end of the session."""
    workdir = Path(tempfile.mkdtemp(prefix="choria-nodesets-pdb-", dir="/tmp"))
    workdir.chmod(0o755)  # the postgres user must reach it
    try:
        done = subprocess.run(["bash", str(SANDBOX), str(workdir)], capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(
                f"puppetdb-sandbox.sh failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}"
            )
        sandbox = PuppetDBSandbox(f"http://127.0.0.1:{(workdir / 'pdb.port').read_text().strip()}", workdir)
        _load_fleet(sandbox)
        yield sandbox
    finally:
        _stop_sandbox(workdir)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def pdb_ctx(puppetdb: PuppetDBSandbox) -> NodeSetContext:
    return NodeSetContext(puppetdb=puppetdb.config(), client=ClientConfig.load(search_default_files=False))


# --- Terraform -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def terraform_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``fixtures/terraform/main.tf`` applied offline by the real binary; returns the state file."""
    work = tmp_path_factory.mktemp("terraform")
    shutil.copy(FIXTURES / "terraform" / "main.tf", work / "main.tf")
    plugins = work / "plugins" / "registry.terraform.io" / "hashicorp" / "null" / "2.1.2" / "linux_amd64"
    plugins.mkdir(parents=True)
    shutil.copy(null_provider(), plugins / "terraform-provider-null_v2.1.2_x4")
    (plugins / "terraform-provider-null_v2.1.2_x4").chmod(0o755)
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    for args in (
        ["init", "-input=false", "-no-color", f"-plugin-dir={work / 'plugins'}"],
        ["apply", "-auto-approve", "-input=false", "-no-color"],
    ):
        done = subprocess.run(
            [terraform_binary(), *args], cwd=work, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"terraform {args[0]} failed: {done.stdout}{done.stderr}"
    state = work / "terraform.tfstate"
    assert json.loads(state.read_text())["version"] == 4
    return state


# --- Choria network --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory):
    """nats-server with 8 emulated instances emu-0..7 (2 agents, facts: country mt/de, classes apache/mysql)."""
    work = tmp_path_factory.mktemp("network")
    nats = NatsServer.start(workdir=work / "nats")
    emulator = None
    try:
        emulator = Emulator.start(
            nats.url,
            8,
            "--agents",
            "2",
            "--workers",
            "1",
            "--facts",
            str(FIXTURES / "facts.yaml"),
            "--audit",
            str(work / "audit.jsonl"),
            name="emu",
            workdir=work / "emu",
        )
        emulator.audit = work / "audit.jsonl"  # type: ignore[attr-defined]
        yield nats, emulator
    finally:
        if emulator is not None:
            emulator.stop()
        nats.stop()


@pytest.fixture
def client_config(network) -> ClientConfig:
    nats, _ = network
    return ClientConfig.load(servers=[nats.url], search_default_files=False, identity="nodesets-test")


@pytest.fixture
def net_ctx(client_config: ClientConfig) -> NodeSetContext:
    return NodeSetContext(client=client_config, rpc_timeout=3.0, discovery_timeout=1.0)
