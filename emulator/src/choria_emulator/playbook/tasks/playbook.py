"""``playbook``: run another Choria playbook and report its outcome as this task's result.

Our extension of the 0.6.0 format (docs/playbooks.md "The playbook task"): the seed's failure
path "run a whole other playbook called deploy_failure_handler with the same parameters" never
existed in YAML (playbooks.md §2.8). ``playbook`` names the file (relative to the playbook that
runs it); ``inputs``, when given, are the inputs of the nested run, otherwise it gets this run's
input values. The nested playbook runs to its end with its own stores, locks, node sets and
hooks; a failed or aborted nested run fails this task, whose message says why.
"""

from __future__ import annotations

from typing import Any

from ..errors import describe
from .base import Task, TaskOutcome


class PlaybookTask(Task):
    type_name = "playbook"

    def from_hash(self, data: dict[str, Any]) -> PlaybookTask:
        self.path = data.get("playbook")
        self.inputs = data.get("inputs")
        self.has_inputs = "inputs" in data
        return self

    def validate_configuration(self) -> None:
        if not self.path or not isinstance(self.path, str):
            raise self.fail("A playbook to run is required")
        if self.has_inputs and not isinstance(self.inputs, dict):
            raise self.fail("The inputs of a playbook task should be a hash of input names to values")

    def run(self) -> TaskOutcome:
        run_nested = getattr(self.playbook, "run_nested", None)
        if run_nested is None:
            return False, f"Cannot run playbook {self.path} from here: playbook tasks run inside a playbook", []
        try:
            report = run_nested(str(self.path), dict(self.inputs) if self.has_inputs else None)
        except Exception as exc:  # an unreadable or invalid nested playbook fails this task
            msg = f"Could not run playbook {self.path}: {describe(exc)}"
            self.log.warn(msg)
            return False, msg, []
        outcome = nested_summary(report)
        name = f"{outcome['playbook']} {outcome['version']}"
        if outcome["success"]:
            return True, f"Playbook {name} succeeded", [outcome]
        if outcome["playbook_error"]:
            return False, str(outcome["playbook_error"]), [outcome]
        return False, f"Playbook {name} failed: {outcome['failure']}", [outcome]

    def to_execution_result(self, outcome: TaskOutcome) -> dict[str, Any]:
        result = super().to_execution_result(outcome)["localhost"]
        if "error" in result:
            result["error"]["details"] = {"playbook": self.path}
        return {"localhost": result}


def nested_summary(report: dict[str, Any]) -> dict[str, Any]:
    """What the parent sees of a nested run: name, version, outcome, error, task count, and the
    message of the last task that failed (what a ``previous_task.msg`` reader wants to know)."""
    failed = [t for t in report["tasks"] if not t["success"]]
    return {
        "playbook": report["playbook"]["name"],
        "version": report["playbook"]["version"],
        "success": bool(report["report"]["success"]),
        "playbook_error": report["report"]["playbook_error"],
        "task_count": report["metrics"]["task_count"],
        "failure": failed[-1]["msg"] if failed else None,
    }
