"""Test helper: print every task result of a playbook run as one JSON document (stdout callback).

The shape of ansible.posix.json (plays → tasks → hosts), without needing that collection.
"""

from __future__ import annotations

import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: results_json
type: stdout
short_description: every task result as one JSON document (tests only)
description: Collects plays, tasks and per-host results and prints them as JSON at the end.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "results_json"

    def __init__(self) -> None:
        super().__init__()
        self.plays: list = []

    def v2_playbook_on_play_start(self, play) -> None:  # type: ignore[no-untyped-def]
        self.plays.append({"play": {"name": play.get_name()}, "tasks": []})

    def v2_playbook_on_task_start(self, task, is_conditional) -> None:  # type: ignore[no-untyped-def]
        self.plays[-1]["tasks"].append({"task": {"name": task.get_name()}, "hosts": {}})

    def _record(self, result, **flags) -> None:  # type: ignore[no-untyped-def]
        data = dict(result._result)
        data.update(flags)
        if self.plays and self.plays[-1]["tasks"]:
            self.plays[-1]["tasks"][-1]["hosts"][result._host.get_name()] = data

    def v2_runner_on_ok(self, result) -> None:  # type: ignore[no-untyped-def]
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False) -> None:  # type: ignore[no-untyped-def]
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result) -> None:  # type: ignore[no-untyped-def]
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result) -> None:  # type: ignore[no-untyped-def]
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats) -> None:  # type: ignore[no-untyped-def]
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        self._display.display(json.dumps({"plays": self.plays, "stats": summary}, default=str))
