"""The ``chorialab.choria.emulator`` role with DDLs and a scenario from the controller, by real ansible-playbook.

The role copies a controller directory of DDLs and a scenario file to the target (here the same
machine, under the play's state directory), mixes in a shipped DDL by name, starts the emulator
with ``--ddl``/``--scenario``/``--seed``/``--lifecycle`` through the ``emulator`` module, and stops it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from scenario_support import LIBRARY_DDL, REPO

from choria_emulator.client import ChoriaClient, ClientConfig, rpc
from choria_emulator.testing.localnet import NatsServer
from choria_emulator.testing.rehearsal import collections_path

BIN = Path(sys.executable).parent


def play(tmp: Path, state: str, variables: dict) -> subprocess.CompletedProcess:
    book = tmp / f"play-{state}.yml"
    book.write_text(
        yaml.safe_dump(
            [
                {
                    "name": f"emulator {state}",
                    "hosts": "localhost",
                    "connection": "local",
                    "gather_facts": False,
                    "roles": [{"role": "chorialab.choria.emulator", "vars": {**variables, "emulator_state": state}}],
                }
            ]
        )
    )
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(collections_path(REPO, tmp / "collections")),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    }
    return subprocess.run(
        [str(BIN / "ansible-playbook"), str(book)], capture_output=True, text=True, env=env, cwd=tmp, timeout=300
    )


def test_the_role_copies_ddls_and_the_scenario_and_starts_the_agents(tmp_path: Path):
    ddl_dir = tmp_path / "controller-ddl"
    ddl_dir.mkdir()
    for name in ("puppet", "nrpe"):
        shutil.copy(LIBRARY_DDL / f"{name}.json", ddl_dir)
    scenario = tmp_path / "fleet.yaml"
    scenario.write_text(
        "scenario: 1\n"
        "extends: [puppet]\n"  # a shipped scenario by name: the copy on the target still finds it
        "agents:\n"
        "  haproxy:\n"
        "    actions:\n"
        "      status: {reply: {status: DRAIN, enabled: false, backend: '{{ inputs.backend }}'}}\n"
    )
    nats = NatsServer.start(workdir=tmp_path / "nats")
    state_dir = tmp_path / "state"
    variables = {
        "emulator_name": "roled",
        "emulator_instances": 6,
        "emulator_servers": [nats.url],
        "emulator_monitor_port": 0,
        "emulator_venv": str(BIN.parent),
        "emulator_state_dir": str(state_dir),
        "emulator_ddl": [str(ddl_dir), "haproxy"],
        "emulator_scenario": str(scenario),
        "emulator_seed": 4,
        "emulator_lifecycle": True,
    }
    try:
        started = play(tmp_path, "started", variables)
        assert started.returncode == 0, started.stdout[-4000:] + started.stderr[-2000:]
        copied = state_dir / "scenario-roled"
        assert sorted(p.name for p in (copied / "ddl").iterdir()) == ["nrpe.json", "puppet.json"]
        assert (copied / "scenario.yaml").read_text() == scenario.read_text()
        cmdline = Path(f"/proc/{(state_dir / 'emulator-roled.pid').read_text().strip()}/cmdline").read_bytes()
        argv = cmdline.decode().split("\0")
        assert argv[argv.index("--scenario") + 1] == str(copied / "scenario.yaml")
        assert [argv[i + 1] for i, a in enumerate(argv) if a == "--ddl"] == [str(copied / "ddl"), "haproxy"]
        assert "--lifecycle" in argv and argv[argv.index("--seed") + 1] == "4"

        async def check() -> None:
            config = ClientConfig.load(servers=[nats.url], search_default_files=False, identity="role-test")
            async with ChoriaClient(config) as client:
                names = [f"roled-{i}" for i in range(6)]
                status = await rpc(client, "puppet", "status", {}, targets=names)
                assert status.stats.ok == 6 and status.replies[0]["data"]["daemon_present"] is True
                haproxy = await rpc(client, "haproxy", "status", {"backend": "web"}, targets=names[:1])
                assert haproxy.replies[0]["data"] == {
                    "backend": "web",
                    "status": "DRAIN",
                    "enabled": False,
                    "sessions": 0,
                }
                check = await rpc(client, "nrpe", "runcommand", {"command": "check_load"}, targets=names[:1])
                assert check.replies[0]["statuscode"] == 0

        asyncio.run(check())
    finally:
        stopped = play(tmp_path, "stopped", variables)
        nats.stop()
    assert stopped.returncode == 0, stopped.stdout[-4000:]
    assert not (state_dir / "emulator-roled.pid").exists()
    assert json.dumps(variables)  # the variables are plain data (what AWX would pass)
