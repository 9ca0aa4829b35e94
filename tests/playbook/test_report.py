"""The report (playbooks.md §3.4, §7 item 42) and logging (§3.5)."""

from __future__ import annotations

import io
import re

from pbhelpers import complete

from choria_emulator.playbook import Playbook, RunOptions, summary


def test_report_structure(make_book, tmp_path):
    data = complete(
        {
            "data_stores": {"mem": {"type": "memory"}},
            "inputs": {
                "cluster": {"description": "c", "type": "String", "required": False, "default": "alpha"},
                "given": {"description": "g", "type": "String"},
                "dyn": {"description": "d", "type": "String", "data": "mem/dyn", "default": "x"},
            },
            "nodes": {"web": {"type": "shell", "script": f"{tmp_path}/nodes.sh"}},
            "tasks": [{"shell": {"command": "true"}}, {"shell": {"command": "false", "fail_ok": True}}],
        }
    )
    (tmp_path / "nodes.sh").write_text("#!/bin/sh\necho web1\necho web2\n")
    (tmp_path / "nodes.sh").chmod(0o755)
    book = make_book(data)
    report = book.run({"given": "value"})
    assert report["report"]["version"] == 1
    assert report["report"]["success"] is True and report["report"]["playbook_error"] is None
    assert report["playbook"] == {"name": "test_playbook", "version": "1.0.0"}
    assert report["inputs"] == {"static": {"cluster": "alpha", "given": "value"}, "dynamic": ["dyn"]}
    assert report["nodes"] == {"web": ["web1", "web2"]}
    assert [set(t) for t in report["tasks"]] == [
        {"type", "set", "description", "start_time", "end_time", "run_time", "ran", "msg", "success"}
    ] * 2
    assert [(t["type"], t["set"], t["success"]) for t in report["tasks"]] == [
        ("shell", "tasks", True),
        ("shell", "tasks", True),
    ]
    metrics = report["metrics"]
    assert (
        metrics["task_count"] == 2
        and metrics["task_types"]["shell"]["count"] == 2
        and metrics["task_types"]["shell"]["pass"] == 2
    )
    assert metrics["run_time"] >= 0 and metrics["end_time"] >= metrics["start_time"]
    assert all(set(entry) == {"time", "level", "from", "msg"} for entry in report["logs"])
    assert book.report.finalize(False, "again") is report  # finalising twice returns the same report


def test_report_keeps_a_static_input_without_value_out_instead_of_crashing(make_book):
    data = complete({"inputs": {"opt": {"description": "o", "type": "String", "required": False}}})
    report = make_book(data).run({})
    assert report["report"]["success"] and report["inputs"]["static"] == {}


def test_console_lines_have_level_time_name_and_padded_context():
    stream = io.StringIO()
    book = Playbook.load(complete({"tasks": [{"shell": {"command": "true"}}]}), RunOptions(stream=stream))
    book.run({})
    lines = stream.getvalue().splitlines()
    assert any(
        re.fullmatch(r"I \d\d:\d\d:\d\d: test_playbook#tasks\.shell {15}About to run task: shell task", line)
        for line in lines
    ), lines


def test_loglevel_filters_console_and_report():
    stream = io.StringIO()
    book = Playbook.load(
        complete({"loglevel": "warn", "tasks": [{"shell": {"command": "false"}}]}), RunOptions(stream=stream)
    )
    report = book.run({})
    assert {e["level"] for e in report["logs"]} <= {"warn", "error", "fatal"}
    assert all(line[0] in "WEF" for line in stream.getvalue().splitlines())


def test_summary_lines():
    book = Playbook.load(complete({"tasks": [{"shell": {"command": "true"}}]}), RunOptions(quiet=True))
    text = summary(book.run({}))
    assert re.search(r"^Summary for test_playbook 1\.0\.0 started at .+$", text, re.M)
    assert "Overall outcome: success" in text
    assert re.search(r"^      Tasks Ran: 1$", text, re.M)
    assert re.search(r"^       Run Time: \d+\.\d\d seconds$", text, re.M)
