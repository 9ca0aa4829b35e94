"""Tasks and flow (playbooks.md §2.1, §3.2-3.3, §7 items 20-28), with local shell tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
from pbhelpers import complete

from choria_emulator.playbook.runner import TASK_DEFAULTS


def step(trail: Path, name: str, ok: bool = True, **extra) -> dict:
    """A shell task that records ``name`` in ``trail`` and passes or fails."""
    return {"shell": {"description": name, "command": f"echo {name} >> {trail}; {'true' if ok else 'false'}", **extra}}


def ran(trail: Path) -> list[str]:
    return trail.read_text().split() if trail.exists() else []


@pytest.fixture
def trail(tmp_path) -> Path:
    return tmp_path / "trail"


def test_task_defaults_and_default_description(make_book):
    assert TASK_DEFAULTS == {"tries": 1, "try_sleep": 10, "fail_ok": False}
    book = make_book(complete({"tasks": [{"shell": {"command": "true"}}]}))
    report = book.run({})
    assert report["tasks"][0]["description"] == "shell task"
    entry = book.tasks.sets["tasks"][0]
    assert (
        entry.properties["tries"] == 1 and entry.properties["try_sleep"] == 10 and entry.properties["fail_ok"] is False
    )


def test_two_failed_tries_sleep_try_sleep_once_and_fail(make_book, sleeps, trail):
    report = make_book(complete({"tasks": [step(trail, "t", ok=False, tries=2, try_sleep=20)]})).run({})
    assert sleeps.calls == [20]
    assert ran(trail) == ["t", "t"]
    assert report["report"]["success"] is False


def test_first_try_success_does_not_sleep(make_book, sleeps, trail):
    report = make_book(complete({"tasks": [step(trail, "t", tries=3, try_sleep=20)]})).run({})
    assert sleeps.calls == []
    assert report["report"]["success"] is True


def test_fail_ok_with_one_try_turns_a_failure_into_a_pass(make_book, trail):
    report = make_book(complete({"tasks": [step(trail, "t", ok=False, fail_ok=True), step(trail, "next")]})).run({})
    assert report["report"]["success"] is True
    assert ran(trail) == ["t", "next"]


def test_fail_ok_ignored_when_tries_above_one(make_book, sleeps, trail):
    report = make_book(complete({"tasks": [step(trail, "t", ok=False, fail_ok=True, tries=2, try_sleep=1)]})).run({})
    assert report["report"]["success"] is False
    assert ran(trail) == ["t", "t"] and sleeps.calls == [1]


def test_pre_sleep_sleeps_once_before_the_first_try(make_book, sleeps, trail):
    make_book(complete({"tasks": [step(trail, "t", ok=False, pre_sleep=5, tries=3, try_sleep=2)]})).run({})
    assert sleeps.calls == [5, 2, 2]


def test_failing_pre_task_fails_the_task_without_running_it(make_book, trail):
    data = complete(
        {
            "tasks": [step(trail, "main")],
            "hooks": {"pre_task": [step(trail, "pre", ok=False)], "post_task": [step(trail, "post")]},
        }
    )
    report = make_book(data).run({})
    assert report["report"]["success"] is False
    assert ran(trail) == ["pre"]


def test_failing_post_task_fails_a_task_that_passed(make_book, trail):
    data = complete(
        {"tasks": [step(trail, "main"), step(trail, "second")], "hooks": {"post_task": [step(trail, "post", ok=False)]}}
    )
    report = make_book(data).run({})
    assert report["report"]["success"] is False
    assert ran(trail) == ["main", "post"]


def test_post_task_runs_after_a_failed_task_too(make_book, trail):
    data = complete(
        {
            "tasks": [step(trail, "main", ok=False)],
            "hooks": {"pre_task": [step(trail, "pre")], "post_task": [step(trail, "post")]},
        }
    )
    make_book(data).run({})
    assert ran(trail) == ["pre", "main", "post"]


def test_pre_and_post_task_wrap_every_main_task_but_not_hook_tasks(make_book, trail):
    data = complete(
        {
            "tasks": [step(trail, "a"), step(trail, "b")],
            "hooks": {
                "pre_task": [step(trail, "pre")],
                "post_task": [step(trail, "post")],
                "on_success": [step(trail, "ok")],
                "post_book": [step(trail, "end")],
            },
        }
    )
    make_book(data).run({})
    assert ran(trail) == ["pre", "a", "post", "pre", "b", "post", "ok", "end"]


def test_run_set_stops_at_the_first_failure(make_book, trail):
    report = make_book(complete({"tasks": [step(trail, "a"), step(trail, "b", ok=False), step(trail, "c")]})).run({})
    assert ran(trail) == ["a", "b"]
    assert report["report"]["success"] is False


def test_empty_task_list_is_a_success(make_book):
    report = make_book(complete({"tasks": []})).run({})
    assert report["report"]["success"] is True and report["tasks"] == []


def test_pre_book_failure_runs_neither_on_fail_nor_post_book(make_book, trail):
    data = complete(
        {
            "tasks": [step(trail, "main")],
            "hooks": {
                "pre_book": [step(trail, "pre_book", ok=False)],
                "on_fail": [step(trail, "on_fail")],
                "post_book": [step(trail, "post_book")],
            },
        }
    )
    report = make_book(data).run({})
    assert ran(trail) == ["pre_book"]
    assert report["report"]["success"] is False and report["report"]["playbook_error"] is None


def test_main_failure_runs_on_fail_then_post_book_and_fails(make_book, trail):
    hooks = {
        "on_success": [step(trail, "on_success")],
        "on_fail": [step(trail, "on_fail")],
        "post_book": [step(trail, "post_book")],
    }
    report = make_book(complete({"tasks": [step(trail, "main", ok=False)], "hooks": hooks})).run({})
    assert ran(trail) == ["main", "on_fail", "post_book"]
    assert report["report"]["success"] is False


def test_on_fail_outcome_is_ignored(make_book, trail):
    hooks = {
        "on_fail": [step(trail, "on_fail", ok=False), step(trail, "skipped")],
        "post_book": [step(trail, "post_book")],
    }
    report = make_book(complete({"tasks": [step(trail, "main", ok=False)], "hooks": hooks})).run({})
    assert ran(trail) == ["main", "on_fail", "post_book"]
    assert report["report"]["success"] is False


def test_main_success_runs_on_success_then_post_book(make_book, trail):
    hooks = {
        "on_success": [step(trail, "on_success")],
        "on_fail": [step(trail, "on_fail")],
        "post_book": [step(trail, "post_book")],
    }
    report = make_book(complete({"tasks": [step(trail, "main")], "hooks": hooks})).run({})
    assert ran(trail) == ["main", "on_success", "post_book"]
    assert report["report"]["success"] is True


def test_on_success_failure_fails_the_playbook_and_post_book_still_runs(make_book, trail):
    hooks = {"on_success": [step(trail, "on_success", ok=False)], "post_book": [step(trail, "post_book")]}
    report = make_book(complete({"tasks": [step(trail, "main")], "hooks": hooks})).run({})
    assert ran(trail) == ["main", "on_success", "post_book"]
    assert report["report"]["success"] is False


def test_post_book_failure_fails_the_playbook(make_book, trail):
    report = make_book(
        complete({"tasks": [step(trail, "main")], "hooks": {"post_book": [step(trail, "post_book", ok=False)]}})
    ).run({})
    assert report["report"]["success"] is False


def test_task_validation_error_aborts_the_run_without_on_fail_and_keeps_locks(make_book, trail):
    data = complete(
        {
            "data_stores": {"mem": {"type": "memory"}},
            "locks": ["mem"],
            "tasks": [
                step(trail, "first"),
                {"mcollective": {"action": "rpcutil.ping", "nodes": []}},
                step(trail, "never"),
            ],
            "hooks": {"on_fail": [step(trail, "on_fail")], "post_book": [step(trail, "post_book")]},
        }
    )
    book = make_book(data)
    report = book.run({})
    assert ran(trail) == ["first"]
    assert report["report"]["success"] is False
    assert (
        report["report"]["playbook_error"] == "Playbook test_playbook failed: RuntimeError: "
        "Nodes need to be supplied, refusing to run against empty node list"
    )
    store = book.data_stores["mem"]
    assert store._locks["choria/locks/playbook/test_playbook"].locked()  # type: ignore[attr-defined]
    assert not any("Releasing playbook lock" in e["msg"] for e in report["logs"])


def test_templates_are_evaluated_again_on_every_try(make_book, sleeps, tmp_path):
    out = tmp_path / "seen"
    data = complete(
        {
            "data_stores": {"mem": {"type": "memory"}},
            "inputs": {"dyn": {"description": "d", "type": "String", "data": "mem/dyn", "default": "first"}},
            "tasks": [
                {
                    "shell": {
                        "command": f"echo {{{{{{ inputs.dyn }}}}}} {{{{{{ uuid }}}}}} >> {out}; false",
                        "tries": 2,
                        "try_sleep": 1,
                    }
                },
            ],
        }
    )
    book = make_book(data)

    def change_store(seconds):
        sleeps.calls.append(seconds)
        book.data_stores.write("mem/dyn", "second")

    book.services.options.sleep = change_store
    book.run({})
    lines = [line.split() for line in out.read_text().splitlines()]
    assert [line[0] for line in lines] == ["first", "second"]
    assert lines[0][1] != lines[1][1]


def test_tries_zero_never_runs_and_fails(make_book, trail):
    report = make_book(complete({"tasks": [step(trail, "t", tries=0)]})).run({})
    assert ran(trail) == [] and report["report"]["success"] is False


def test_report_repeats_a_result_for_every_try_with_its_final_state(make_book, trail):
    report = make_book(complete({"tasks": [step(trail, "t", ok=False, tries=3, try_sleep=0)]})).run({})
    assert len(report["tasks"]) == 3
    assert all(t["success"] is False and t["ran"] for t in report["tasks"])
    assert report["metrics"]["task_types"]["shell"] == {
        "count": 3,
        "total_time": pytest.approx(sum(t["run_time"] for t in report["tasks"])),
        "pass": 0,
        "fail": 3,
    }
