"""The ``playbook`` task (our extension of 0.6.0, docs/playbooks.md): another Choria playbook run to
its end, with this run's inputs or the given ones, its outcome reported as the task's result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pbhelpers import HEADER

from choria_emulator.playbook import Playbook, RunOptions


def write(directory: Path, filename: str, body: dict[str, Any], **header: Any) -> Path:
    path = directory / filename
    path.write_text(yaml.safe_dump({**HEADER, **header, **body}, sort_keys=False))
    return path


def trail(path: Path, text: str) -> dict[str, Any]:
    return {"shell": {"command": f"echo '{text}' >> {path}"}}


def run(path: Path, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    return Playbook.load(path, RunOptions(quiet=True)).run(inputs or {})


def inputs(*names: str, **defaults: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {n: {"description": n, "type": "String"} for n in names}
    for name, value in defaults.items():
        spec[name] = {"description": name, "type": "String", "required": False, "default": value}
    return spec


def test_the_failure_path_runs_the_handler_with_the_same_inputs(tmp_path):
    log = tmp_path / "trail"
    write(
        tmp_path,
        "handler.yaml",
        {
            "inputs": inputs("cluster", "environment"),
            "tasks": [trail(log, "handler {{{ inputs.cluster }}} {{{ inputs.environment }}}")],
        },
        name="deploy_failure_handler",
    )
    parent = write(
        tmp_path,
        "deploy.yaml",
        {
            "inputs": inputs("cluster", environment="prod"),
            "tasks": [{"shell": {"command": "exit 2"}}],
            "hooks": {
                "on_fail": [
                    {"playbook": {"description": "Run the failure handler", "playbook": "handler.yaml"}},
                    trail(log, "after {{{ previous_task.success }}} {{{ previous_task.msg }}}"),
                ]
            },
        },
    )
    report = run(parent, {"cluster": "alpha"})
    assert report["report"]["success"] is False  # on_fail never rescues the playbook
    assert log.read_text().splitlines() == [
        "handler alpha prod",  # the same inputs: the supplied value and the default
        "after true Playbook deploy_failure_handler 1.0.0 succeeded",
    ]
    task = report["tasks"][1]
    assert (task["type"], task["set"], task["description"], task["success"]) == (
        "playbook",
        "on_fail",
        "Run the failure handler",
        True,
    )


def test_given_inputs_replace_the_runs_inputs_and_are_templated(tmp_path):
    log = tmp_path / "trail"
    write(
        tmp_path,
        "child.yaml",
        {
            "inputs": inputs("cluster", environment="dev"),
            "tasks": [trail(log, "{{{ inputs.cluster }}} {{{ inputs.environment }}}")],
        },
    )
    parent = write(
        tmp_path,
        "parent.yaml",
        {
            "inputs": inputs("cluster", environment="prod"),
            "tasks": [{"playbook": {"playbook": "child.yaml", "inputs": {"cluster": "not-{{{ inputs.cluster }}}"}}}],
        },
    )
    assert run(parent, {"cluster": "alpha"})["report"]["success"]
    assert log.read_text().splitlines() == ["not-alpha dev"]


def test_a_failed_nested_playbook_fails_the_task_with_its_error(tmp_path):
    write(tmp_path, "child.yaml", {"inputs": inputs("needed"), "tasks": [{"shell": {"command": "true"}}]}, name="child")
    write(tmp_path, "failing.yaml", {"tasks": [{"shell": {"command": "exit 5"}}]}, name="failing")
    parent = write(
        tmp_path,
        "parent.yaml",
        {
            "tasks": [
                {"playbook": {"playbook": "child.yaml", "fail_ok": True}},
                {"playbook": {"playbook": "failing.yaml", "fail_ok": True}},
                {"playbook": {"playbook": "missing.yaml"}},
            ]
        },
    )
    report = run(parent)
    messages = [t["msg"] for t in report["tasks"]]
    assert messages[0] == ("Playbook child failed: RuntimeError: Values were required but not given for inputs: needed")
    assert messages[1] == "Playbook failing 1.0.0 failed: Command failed with code 5"
    assert messages[2].startswith(
        f"Could not run playbook missing.yaml: RuntimeError: Cannot read playbook {tmp_path}/missing.yaml"
    )
    assert [t["success"] for t in report["tasks"]] == [True, True, False]  # fail_ok, as for any task


def test_a_playbook_cannot_run_itself(tmp_path):
    write(tmp_path, "b.yaml", {"tasks": [{"playbook": {"playbook": "a.yaml"}}]}, name="b")
    a = write(tmp_path, "a.yaml", {"tasks": [{"playbook": {"playbook": "b.yaml"}}]}, name="a")
    report = run(a)
    assert report["report"]["success"] is False
    assert report["tasks"][0]["msg"] == (
        f"Playbook b 1.0.0 failed: Could not run playbook a.yaml: RuntimeError: Playbook {a} is already running "
        f"({a} -> {tmp_path}/b.yaml -> {a})"
    )


def test_a_playbook_task_without_a_playbook_aborts_like_any_invalid_task(tmp_path):
    parent = write(
        tmp_path,
        "parent.yaml",
        {"tasks": [{"playbook": {"inputs": {}}}], "hooks": {"on_fail": [{"shell": {"command": "true"}}]}},
    )
    report = run(parent)
    assert (
        report["report"]["playbook_error"]
        == "Playbook test_playbook failed: RuntimeError: A playbook to run is required"
    )
    assert report["tasks"] == []  # aborted: on_fail does not run


def test_validate_checks_the_nested_playbook_exists(tmp_path):
    from choria_emulator.playbook.lint import lint

    write(tmp_path, "child.yaml", {"tasks": []})
    parent = write(
        tmp_path,
        "parent.yaml",
        {
            "tasks": [
                {"playbook": {"playbook": "child.yaml"}},
                {"playbook": {"playbook": "nope.yaml"}},
                {"playbook": {"playbook": "{{{ inputs.x }}}.yaml"}},
                {"playbook": {"playbook": "child.yaml", "inputs": ["a"]}},
            ]
        },
        inputs={"x": {"description": "x", "type": "String"}},
    )
    errors, _ = lint(Playbook.load(parent, RunOptions(quiet=True)))
    assert errors == [
        "playbook task 2 in tasks: playbook nope.yaml does not exist",
        "playbook task 4 in tasks: The inputs of a playbook task should be a hash of input names to values",
    ]
