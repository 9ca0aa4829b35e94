# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Argument checks and check mode of the emulator module (starting real emulators is in the integration targets)."""

from __future__ import annotations

import os

import pytest
from ansible_collections.chorialab.choria.plugins.modules import emulator, emulator_info


@pytest.fixture
def venv(tmp_path):
    """A venv whose choria-emulator must never run: these tests stop before starting anything."""
    script = tmp_path / "venv" / "bin" / "choria-emulator"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\necho must not run >&2\nexit 99\n")
    script.chmod(0o755)
    return str(tmp_path / "venv")


@pytest.fixture
def args(tmp_path, venv):
    return dict(
        name="unit",
        instances=10,
        servers=["127.0.0.1:4222"],
        venv=venv,
        state_dir=str(tmp_path / "run"),
        monitor_port=0,
    )


@pytest.mark.parametrize(
    "override, message",
    [
        (dict(instances=None), "instances is required to start an emulator"),
        (dict(instances=0), "instances must be at least 1; got 0"),
        (dict(collectives=0), "collectives must be at least 1; got 0"),
        (dict(servers=["127.0.0.1:4222,broker:http"]), "servers: bad port 'http' in NATS server address 'broker:http'"),
        (dict(servers="ftp://broker"), "servers: unsupported scheme"),
        (dict(name="two words"), "name 'two words' may only contain letters, digits"),
        (dict(secure=True), "secure needs ca"),
        (dict(tls_cert="/etc/hostname"), "tls_cert and tls_key go together"),
        (dict(credentials="/no/such.creds"), "credentials: file not found: /no/such.creds"),
        (dict(monitor_port=70000), "monitor_port must be between 0"),
        (
            dict(venv="/no/venv"),
            "choria-emulator not found at /no/venv/bin/choria-emulator; run the chorialab.choria.setup_prereqs role",
        ),
    ],
)
def test_bad_arguments_fail_before_anything_starts(run_module, args, override, message):
    outcome = run_module(emulator.main, **dict(args, **override))
    assert outcome.failed and message in outcome.result["msg"]
    assert not outcome.result["running"]
    assert not os.path.exists(os.path.join(args["state_dir"], "emulator-unit.log"))


def test_wrong_types_are_refused_by_the_argument_spec(run_module, args):
    outcome = run_module(emulator.main, **dict(args, instances="many"))
    assert outcome.failed and "instances" in outcome.result["msg"] and "int" in outcome.result["msg"]


def test_check_mode_predicts_a_start_and_shows_the_command_line(run_module, args):
    outcome = run_module(emulator.main, **dict(args, agents=3, _ansible_check_mode=True, _ansible_diff=True))
    assert not outcome.failed and outcome.result["changed"] and not outcome.result["running"]
    assert outcome.result["diff"]["before"] == ""
    assert (
        " emulate --instances 10 --agents 3 --collectives 1 --name unit --server 127.0.0.1:4222 "
        in outcome.result["diff"]["after"]
    )
    assert not os.path.exists(args["state_dir"])


def test_stopping_what_does_not_run_changes_nothing(run_module, args):
    outcome = run_module(emulator.main, **dict(args, state="stopped", monitor_port=-1))
    assert not outcome.failed and not outcome.result["changed"] and outcome.result["pid"] is None


def test_unreachable_server_is_named_before_the_emulator_starts(run_module, args):
    outcome = run_module(emulator.main, **dict(args, servers=["no-such-host.invalid:4222"]))
    assert outcome.failed
    assert outcome.result["msg"].startswith(
        "cannot resolve host 'no-such-host.invalid' of NATS server no-such-host.invalid:4222"
    )


def test_info_on_nothing_running(run_module, tmp_path):
    outcome = run_module(emulator_info.main, name="nobody", state_dir=str(tmp_path), monitor_port=-1)
    assert not outcome.failed and outcome.result == dict(changed=False, running=False, pid=None, name="nobody")
