# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""nats_server and nats_server_info run in-process against a real nats-server on free ports."""

from __future__ import annotations

import os

import pytest
from ansible_collections.chorialab.choria.plugins.module_utils.processes import is_running
from ansible_collections.chorialab.choria.plugins.modules import nats_server, nats_server_info


@pytest.fixture
def server(tmp_path, nats_server_binary, run_module):
    """Arguments for one broker in tmp_path; whatever a test started is stopped afterwards."""
    args = dict(
        binary=nats_server_binary, config_dir=str(tmp_path), port=-1, monitor_port=-1, bind="127.0.0.1", name="unit"
    )
    yield args
    run_module(nats_server.main, **dict(args, state="stopped"))


def test_start_is_idempotent_and_a_changed_config_restarts(server, run_module):
    first = run_module(nats_server.main, **server)
    assert not first.failed, first.result["msg"] if first.failed else ""
    assert first.result["changed"] and first.result["running"] and not first.result["restarted"]
    assert first.result["url"].startswith("nats://127.0.0.1:") and first.result["port"] > 0
    assert first.result["version"] and first.result["connections"] == 0
    assert open(first.result["pid_file"]).read().strip() == str(first.result["pid"])

    again = run_module(nats_server.main, **server)
    assert not again.result["changed"] and again.result["pid"] == first.result["pid"]

    changed = run_module(nats_server.main, **dict(server, max_connections=500, _ansible_diff=True))
    assert changed.result["changed"] and changed.result["restarted"] and changed.result["stopped"] == "exited"
    assert changed.result["pid"] != first.result["pid"] and not is_running(first.result["pid"])
    assert "+max_connections: 500\n" not in changed.result["diff"]["before"]
    assert "max_connections: 500\n" in changed.result["diff"]["after"]
    assert changed.result["varz"]["max_connections"] == 500

    info = run_module(
        nats_server_info.main, config_dir=server["config_dir"], name="unit", port=-1, monitor_port=-1, bind="127.0.0.1"
    )
    assert (
        info.result["running"]
        and info.result["pid"] == changed.result["pid"]
        and info.result["url"] == changed.result["url"]
    )

    stopped = run_module(nats_server.main, **dict(server, state="stopped"))
    assert stopped.result["changed"] and not is_running(changed.result["pid"])
    assert not os.path.exists(stopped.result["pid_file"])
    assert not run_module(nats_server.main, **dict(server, state="stopped")).result["changed"]
    assert not run_module(nats_server_info.main, config_dir=server["config_dir"], name="unit").result["running"]


def test_check_mode_changes_nothing(server, run_module):
    predicted = run_module(nats_server.main, **dict(server, _ansible_check_mode=True))
    assert predicted.result["changed"] and not predicted.result["running"]
    assert not os.path.exists(predicted.result["config_file"]) and not os.path.exists(predicted.result["pid_file"])
    started = run_module(nats_server.main, **server)
    predicted = run_module(nats_server.main, **dict(server, max_payload=2048, _ansible_check_mode=True))
    assert predicted.result["changed"] and predicted.result["pid"] == started.result["pid"]
    assert is_running(started.result["pid"])
    assert "max_payload" not in open(started.result["config_file"]).read()
    predicted = run_module(nats_server.main, **dict(server, state="stopped", _ansible_check_mode=True))
    assert predicted.result["changed"] and is_running(started.result["pid"])


def test_restarted_always_restarts(server, run_module):
    first = run_module(nats_server.main, **server)
    second = run_module(nats_server.main, **dict(server, state="restarted"))
    assert second.result["changed"] and second.result["restarted"] and second.result["pid"] != first.result["pid"]


@pytest.mark.parametrize(
    "override, message",
    [
        (dict(port=70000), "port must be between 1 and 65535, or -1 for a free port; got 70000"),
        (dict(max_connections=0), "max_connections must be a positive number"),
        (dict(cluster=dict(port=6222, routes=["nowhere"])), "cluster.routes: 'nowhere' is not host:port"),
        (dict(tls=dict(cert="/no/cert.pem", key="/no/key.pem")), "tls.cert: file not found: /no/cert.pem"),
        (dict(binary="/no/nats-server"), "nats-server binary /no/nats-server does not exist"),
        (
            dict(leafnodes=dict(remotes=["hub:7422"], credentials="/no/ngs.creds")),
            "leafnodes.credentials: file not found: /no/ngs.creds",
        ),
        (dict(extra_config={"max_connections": "lots"}), "nats-server rejected the configuration"),
    ],
)
def test_bad_arguments_fail_with_the_option_named(server, run_module, override, message):
    outcome = run_module(nats_server.main, **dict(server, **override))
    assert outcome.failed and message in outcome.result["msg"]
    assert not outcome.result["running"]


def test_missing_binary_says_how_to_install_it(tmp_path, run_module, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    outcome = run_module(nats_server.main, config_dir=str(tmp_path), venv=str(tmp_path / "venv"), port=-1)
    assert outcome.failed
    assert outcome.result["msg"].startswith(
        "nats-server binary not found: %s/venv/bin/nats-server does not exist" % tmp_path
    )
    assert "chorialab.choria.setup_prereqs" in outcome.result["msg"]


def test_port_in_use_is_named_with_its_owner(server, run_module):
    first = run_module(nats_server.main, **server)
    clash = run_module(nats_server.main, **dict(server, name="other", port=first.result["port"]))
    assert clash.failed
    assert clash.result["msg"] == "client port %d on 127.0.0.1 is already in use by nats-server (pid %d)" % (
        first.result["port"],
        first.result["pid"],
    )
