"""Bad input gives the spec's one-line message and leaves data stores consistent."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from pbhelpers import complete

from choria_emulator.playbook import Playbook, PlaybookError, RunOptions


def file_store(tmp_path, content=None):
    path = tmp_path / "data.json"
    path.write_text(json.dumps(content if content is not None else {"cluster": "alpha", "keep": [1, 2]}))
    return path, {"fs": {"type": "file", "file": str(path), "format": "json"}}


def test_unknown_task_type_fails_before_any_task_and_touches_no_store(make_book, tmp_path):
    path, stores = file_store(tmp_path)
    before = path.read_text()
    data = complete(
        {
            "data_stores": stores,
            "tasks": [{"data": {"action": "write", "key": "fs/cluster", "value": "bravo"}}, {"rspec": {}}],
        }
    )
    report = make_book(data).run({})
    assert (
        report["report"]["playbook_error"]
        == "Playbook test_playbook failed: RuntimeError: Cannot find a handler for Task type rspec"
    )
    assert path.read_text() == before


def test_bad_template_aborts_between_writes_and_keeps_the_file_valid(make_book, tmp_path):
    path, stores = file_store(tmp_path)
    data = complete(
        {
            "data_stores": stores,
            "tasks": [
                {"data": {"action": "write", "key": "fs/cluster", "value": "bravo"}},
                {"data": {"action": "write", "key": "fs/other", "value": "{{{ inputs.nope }}}"}},
            ],
        }
    )
    report = make_book(data).run({})
    assert report["report"]["playbook_error"] == "Playbook test_playbook failed: RuntimeError: Unknown input nope"
    assert json.loads(path.read_text()) == {"cluster": "bravo", "keep": [1, 2]}


def test_missing_required_input_fails_before_saving_or_locking(make_book, tmp_path):
    path, stores = file_store(tmp_path)
    data = complete(
        {
            "data_stores": {**stores, "mem": {"type": "memory"}},
            "locks": ["mem"],
            "inputs": {
                "target": {"description": "t", "type": "String"},
                "saved": {"description": "s", "type": "String", "data": "fs/saved", "save": True},
            },
        }
    )
    book = make_book(data)
    report = book.run({"saved": "value"})
    assert (
        report["report"]["playbook_error"]
        == "Playbook test_playbook failed: RuntimeError: Values were required but not given for inputs: target"
    )
    assert "saved" not in json.loads(path.read_text())
    assert not any("Obtaining playbook lock" in e["msg"] for e in report["logs"])


def test_lock_timeout_fails_with_the_spec_message_and_runs_nothing(make_book, nats, tmp_path):
    path, stores = file_store(tmp_path)
    kv = {"kv": {"type": "nats_kv", "servers": nats.url, "bucket": "PB_BAD", "timeout": 1}}
    data = complete(
        {
            "data_stores": {**stores, **kv},
            "locks": ["kv"],
            "tasks": [{"data": {"action": "write", "key": "fs/cluster", "value": "bravo"}}],
        }
    )
    holder = make_book(data, owner="someone-else")
    holder.store_context.playbook = "test_playbook"
    holder.data_stores.from_hash(holder.data["data_stores"]).prepare()
    holder.data_stores.lock("kv/choria/locks/playbook/test_playbook")
    try:
        report = make_book(data).run({})
        assert (
            report["report"]["playbook_error"] == "Playbook test_playbook failed: RuntimeError: "
            "Failed to obtain lock choria/locks/playbook/test_playbook after 1 seconds"
        )
        assert report["tasks"] == []
        assert json.loads(path.read_text())["cluster"] == "alpha"
    finally:
        holder.data_stores.release("kv/choria/locks/playbook/test_playbook")
        holder.data_stores.close()
        holder.services.close()


def test_not_yaml_and_not_a_mapping_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(PlaybookError, match=r"^Playbook .*bad.yaml is not valid YAML: "):
        Playbook.load(bad, RunOptions(quiet=True))
    with pytest.raises(PlaybookError, match="^Cannot read playbook /nonexistent.yaml: No such file or directory$"):
        Playbook.load("/nonexistent.yaml", RunOptions(quiet=True))


def test_malformed_sections_are_named(make_book):
    cases = [
        ({"hooks": {"on_fail": None}}, "The on_fail task list should be a list of tasks, got nothing"),
        (
            {"hooks": {"after_party": []}},
            "Unknown hook after_party, valid hooks are pre_book, pre_task, post_task, on_success, on_fail, post_book",
        ),
        ({"tasks": ["shell"]}, "Task 1 in tasks should be a mapping of a task type to its properties, got str"),
        (
            {"tasks": [{"shell": {"command": "true", "tries": "many"}}]},
            "Task property tries should be an integer, got 'many'",
        ),
    ]
    for section, message in cases:
        report = make_book(complete(section)).run({})
        assert report["report"]["playbook_error"] == f"Playbook test_playbook failed: RuntimeError: {message}", section


def test_cli_errors_are_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(complete({"inputs": {"x": {"description": "x", "type": "Rspec"}}})))
    done = subprocess.run(
        [sys.executable, "-m", "choria_emulator", "playbook", "run", str(bad)], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "choria-emulator playbook: Invalid input type Rspec given for input x"
