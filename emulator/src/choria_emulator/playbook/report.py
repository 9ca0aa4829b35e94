"""The run report (§3.4), as a mapping; :func:`summary` prints the CLI's closing lines (§3.1)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .inputs import Inputs
    from .logger import PlaybookLogger
    from .result import TaskResult


class ReportedBook(Protocol):
    """What the report reads of the playbook it reports on."""

    metadata: dict[str, Any]
    inputs: Inputs
    nodes: dict[str, list[str]]
    log: PlaybookLogger

    @property
    def name(self) -> str:
        """The playbook's name."""

    @property
    def task_results(self) -> list[TaskResult]:
        """Every task result, in the order they were appended."""


class Report:
    def __init__(self, playbook: ReportedBook):
        self.playbook = playbook
        self.timestamp = datetime.now(timezone.utc)
        self.start_time = self.timestamp
        self._started = time.monotonic()
        self._final: dict[str, Any] | None = None

    def start(self) -> datetime:
        self.start_time = datetime.now(timezone.utc)
        self._started = time.monotonic()
        return self.start_time

    def elapsed_time(self) -> float:
        return time.monotonic() - self._started

    def finalize(self, success: bool, fail_message: str | None = None) -> dict[str, Any]:
        """Build the report once; later calls return the same report (upstream's second call)."""
        if self._final is not None:
            return self._final
        book = self.playbook
        tasks = [result.to_report() for result in book.task_results]
        end = datetime.now(timezone.utc)
        metrics: dict[str, Any] = {
            "start_time": self.start_time,
            "end_time": end,
            "run_time": (end - self.start_time).total_seconds(),
            "task_count": len(tasks),
            "task_types": {},
        }
        for task in tasks:
            entry = metrics["task_types"].setdefault(task["type"], {"count": 0, "total_time": 0, "pass": 0, "fail": 0})
            entry["count"] += 1
            entry["total_time"] += task["run_time"]
            entry["pass" if task["success"] else "fail"] += 1
        self._final = {
            "report": {
                "version": 1,
                "timestamp": self.timestamp,
                "success": bool(success),
                "playbook_error": fail_message,
            },
            "playbook": {"name": book.name, "version": book.metadata.get("version")},
            "inputs": {"static": book.inputs.static_values(), "dynamic": book.inputs.dynamic_keys()},
            "nodes": {name: list(nodes) for name, nodes in book.nodes.items()},
            "tasks": tasks,
            "metrics": metrics,
            "logs": [entry.to_dict() for entry in book.log.entries],
        }
        return self._final


def summary(report: dict[str, Any]) -> str:
    """``Summary for <name> <version> started at <timestamp>`` and the outcome lines."""
    outcome = "success" if report["report"]["success"] else "failed"
    playbook, started = report["playbook"], report["metrics"]["start_time"]
    lines = [
        f"Summary for {playbook['name']} {playbook['version']} started at {started}",
        "",
        f"Overall outcome: {outcome}",
        f"      Tasks Ran: {report['metrics']['task_count']}",
        f"       Run Time: {report['metrics']['run_time']:.2f} seconds",
    ]
    if report["report"]["playbook_error"]:
        lines.append(f"          Error: {report['report']['playbook_error']}")
    return "\n".join(lines)


def to_jsonable(value: Any) -> Any:
    """Datetimes as ISO 8601 strings, everything else as is (for JSON and YAML report files)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value
