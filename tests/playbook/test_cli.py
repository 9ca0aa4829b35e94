"""``choria-emulator playbook run|validate|show`` as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml
from pbhelpers import complete, sample

CLI = [sys.executable, "-m", "choria_emulator", "playbook"]


def cli(*args, cwd=None):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def write(tmp_path, data, name="book.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_run_with_flags_array_input_file_and_report(tmp_path):
    out = tmp_path / "out"
    data = complete(
        {
            "inputs": {
                "cluster": {"description": "c", "type": "String"},
                "hosts": {"description": "h", "type": "Array"},
                "force": {"description": "f", "type": "Boolean", "required": False},
                "count": {"description": "n", "type": "Integer", "required": False, "default": 1},
                "from_file": {"description": "ff", "type": "String"},
            },
            "tasks": [
                {
                    "shell": {
                        "command": "echo {{{ inputs.cluster }}} {{{ inputs.hosts }}} {{{ inputs.force }}} "
                        "{{{ inputs.count }}} {{{ inputs.from_file }}} > " + str(out)
                    }
                }
            ],
        }
    )
    book = write(tmp_path, data)
    (tmp_path / "inputs.yaml").write_text("from_file: yes-file\ncount: 3\n")
    report = tmp_path / "report.json"
    done = cli(
        "run",
        str(book),
        "--cluster",
        "alpha",
        "--hosts",
        "a",
        "--hosts",
        "b",
        "--force",
        "--input-file",
        str(tmp_path / "inputs.yaml"),
        "--report",
        str(report),
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text().strip() == "alpha a, b true 3 yes-file"
    assert "Overall outcome: success" in done.stdout
    saved = json.loads(report.read_text())
    assert saved["report"]["success"] is True and saved["inputs"]["static"]["hosts"] == ["a", "b"]
    again = cli(
        "run", str(book), "--cluster", "a", "--hosts", "x", "--input", '{"from_file": "j"}', "--report", str(report)
    )
    assert (
        again.returncode == 1 and "Could not write report the file" in again.stderr and "already exists" in again.stderr
    )


def test_run_failure_exits_1_with_the_summary(tmp_path):
    book = write(tmp_path, complete({"tasks": [{"shell": {"command": "false"}}]}))
    done = cli("run", str(book))
    assert done.returncode == 1
    assert "Overall outcome: failed" in done.stdout
    assert "E " in done.stderr and "Command failed with code 1" in done.stderr


def test_run_json_report(tmp_path):
    book = write(tmp_path, complete({"tasks": [{"shell": {"command": "true"}}]}))
    done = cli("run", str(book), "--json", "--loglevel", "error")
    assert json.loads(done.stdout)["report"]["success"] is True
    assert done.stderr == ""


def test_run_help_lists_the_playbook_inputs():
    done = cli("run", str(sample("mcollective-choria__spec_fixtures_playbooks__playbook.yaml")), "--help")
    assert done.returncode == 0
    assert "--cluster CLUSTER" in done.stdout and "Cluster to deploy (String) default: alpha" in done.stdout
    assert "--forced_dynamic" not in done.stdout


def test_run_invalid_playbook_lists_the_problems():
    done = cli("run", str(sample("mcollective-choria__spec_fixtures_playbooks__illegal.yaml")))
    assert done.returncode == 1
    assert "Playbook is not in a valid format" in done.stderr and "Invalid callerid rspec" in done.stderr
    assert "Traceback" not in done.stderr


def test_validate_accepts_the_spec_fixture_and_rejects_illegal():
    ok = cli("validate", str(sample("mcollective-choria__spec_fixtures_playbooks@0.6.0__playbook.yaml")))
    assert (
        ok.returncode == 0 and "valid playbook test_playbook 1.1.2: 5 input(s), 2 node set(s), 3 task(s)" in ok.stdout
    )
    head = cli("validate", str(sample("mcollective-choria__spec_fixtures_playbooks__playbook.yaml")))
    assert head.returncode == 1  # HEAD moved the store to `environment`, which cannot lock
    assert "Lock mem_store is on data store mem_store of type environment, which cannot lock" in head.stderr
    bad = cli("validate", str(sample("mcollective-choria__spec_fixtures_playbooks__illegal.yaml")))
    assert bad.returncode == 1 and "error: tasks should be a array" in bad.stderr


def test_validate_finds_unknown_types_and_references(tmp_path):
    data = complete(
        {
            "tasks": [{"rpc": {}}, {"shell": {"command": "echo {{{ inputs.nope }}} {{{ nodes.none }}}"}}],
            "nodes": {"x": {"type": "ldap"}},
        }
    )
    done = cli("validate", str(write(tmp_path, data)))
    assert done.returncode == 1
    for message in (
        "Cannot find a handler for Task type rpc",
        "Template refers to unknown input nope",
        "Template refers to unknown node set none",
        "Cannot find a handler for Node Set type ldap",
    ):
        assert message in done.stderr


def test_show_prints_inputs_node_sets_and_tasks():
    done = cli("show", str(sample("website__docs_playbooks_basics@794b372__app_upgrade_mcollective_assert.yaml")))
    assert done.returncode == 0
    assert "--cluster" in done.stdout and "--target_version" in done.stdout
    assert "servers" in done.stdout and "mcollective_assert" in done.stdout
    as_json = json.loads(
        cli("show", str(sample("mcollective-choria__spec_fixtures_playbooks@0.6.0__playbook.yaml")), "--json").stdout
    )
    assert list(as_json["tasks"]) == ["tasks", "on_success", "pre_task"]
    assert as_json["locks"] == ["mem_store/playbook", "mem_store/choria/locks/playbook/test_playbook"]


def test_show_refuses_an_invalid_playbook_as_validate_does(tmp_path):
    """Issue 13 item 10: show printed 'None None by None' and exited 0 for a playbook without metadata."""
    path = write(tmp_path, {"inputs": {"cluster": {"description": "c"}}, "tasks": [{"shell": {"command": "true"}}]})
    shown, validated = cli("show", str(path)), cli("validate", str(path))
    assert shown.returncode == validated.returncode == 1
    assert shown.stderr == validated.stderr and shown.stdout == ""
    for message in ("A playbook name is needed", "Invalid input type  given for input cluster"):
        assert message in shown.stderr
    assert "None" not in shown.stderr and "Traceback" not in shown.stderr


def test_show_lists_every_input_by_name_with_its_flag_or_none(tmp_path):
    data = complete(
        {
            "data_stores": {"mem": {"type": "memory"}},
            "inputs": {
                "cluster": {"description": "the cluster", "type": "String"},
                "forced": {"description": "from the store", "type": "String", "data": "mem/f", "dynamic": True},
            },
            "tasks": [{"shell": {"command": "true"}}],
        }
    )
    done = cli("show", str(write(tmp_path, data)))
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines()]
    assert ["--cluster", "String", "required", "the", "cluster"] in lines
    assert ["forced", "(no", "flag)", "String", "dynamic", "from", "the", "store"] in lines
    assert "None" not in done.stdout
