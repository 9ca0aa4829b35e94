"""The federation module, role and start/stop-federation playbooks, run by real ansible-playbook."""

from __future__ import annotations

import subprocess
import sys

import pytest
from measure.ansible_run import inventory, playbook, task_results

VENV = str(__import__("pathlib").Path(sys.executable).parent.parent)  # this venv has choria-emulator


@pytest.fixture
def inv(tmp_path):
    return inventory(tmp_path / "inventory.yml")


def start(inv, fed_net, tmp_path, *args: str, **extra):
    variables = {
        "name": "NET",
        "federation": fed_net.federation.url,
        "collective": [fed_net.a.url, fed_net.b.url],
        "venv": VENV,
        "run_dir": str(tmp_path / "run"),
        **extra,
    }
    return playbook("start-federation.yml", inv, *args, extra=variables)


def stop(inv, tmp_path):
    return playbook("stop-federation.yml", inv, extra={"name": "NET", "run_dir": str(tmp_path / "run")})


def test_start_federation_is_idempotent_and_relays(fed_net, inv, tmp_path):
    try:
        code, doc, err = start(inv, fed_net, tmp_path)
        assert code == 0, err + str(doc)[-2000:]
        first = task_results(doc, "Make sure Federation Broker NET")[0]
        assert first["changed"] and first["running"] and first["connected"]
        assert first["federation_url"] == fed_net.federation.url and len(first["collective_urls"]) == 2
        code, doc, err = start(inv, fed_net, tmp_path)
        again = task_results(doc, "Make sure Federation Broker NET")[0]
        assert code == 0 and not again["changed"] and again["pid"] == first["pid"]
        ping = subprocess.run(
            [
                sys.executable,
                "-m",
                "choria_emulator",
                "ping",
                "--server",
                fed_net.federation.url,
                "--federation",
                "NET",
                "--expect",
                "50",
                "-q",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert ping.returncode == 0 and "50 replies" in ping.stdout
    finally:
        code, doc, err = stop(inv, tmp_path)
    stopped = task_results(doc, "Make sure Federation Broker NET")[0]
    assert code == 0 and stopped["changed"] and stopped["stopped"] == "exited"
    code, doc, _ = stop(inv, tmp_path)
    assert code == 0 and not task_results(doc, "Make sure Federation Broker NET")[0]["changed"]


def test_check_mode_starts_nothing(fed_net, inv, tmp_path):
    code, doc, err = start(inv, fed_net, tmp_path, "--check")
    result = task_results(doc, "Make sure Federation Broker NET")[0]
    assert code == 0, err
    assert result["changed"] and not result["running"] and result["pid"] is None
    assert not (tmp_path / "run" / "federation-NET.pid").exists()


def test_bad_input_fails_with_the_field_named(fed_net, inv, tmp_path):
    code, doc, _ = start(inv, fed_net, tmp_path, name="bad.name")
    assert code != 0
    assert (
        "name 'bad.name' may only contain letters, digits, '_' and '-'"
        in task_results(doc, "Make sure Federation Broker")[0]["msg"]
    )
    code, doc, _ = start(inv, fed_net, tmp_path, collective=["127.0.0.1:1"])
    assert code != 0
    assert "cannot connect to NATS server 127.0.0.1:1" in task_results(doc, "Make sure Federation Broker")[0]["msg"]
    code, doc, _ = playbook("start-federation.yml", inv, extra={"venv": VENV, "run_dir": str(tmp_path / "run")})
    assert code != 0
    assert "federation_name is required" in task_results(doc, "Check the federation network name")[0]["msg"]
