"""``TaskResult``: the outcome of one task definition (§3.4).

As upstream, one result object per task definition is re-used and appended to the run's
results on every try and every hook run, so a task tried three times appears three times in
the report, each entry showing its final state (the 0.6.0 quirk, kept).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .errors import describe

if TYPE_CHECKING:
    from .tasks.base import Task


@dataclass
class TaskResult:
    task_type: str
    description: str
    definition: dict[str, Any]
    properties: dict[str, Any]
    runner: Task
    success: bool | None = None
    msg: str | None = None
    data: list[Any] | None = None
    ran: bool = False
    set: str | None = None
    start_time: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    end_time: datetime | None = None
    _monotonic: float = 0.0
    _elapsed: float = 0.0

    @property
    def run_time(self) -> float:
        return self._elapsed

    def timed_run(self, set_name: str, log: Any) -> TaskResult:
        self.start_time = datetime.now(timezone.utc)
        started = time.monotonic()
        self.set = set_name
        try:
            self.success, self.msg, self.data = self.runner.run()
            if not self.success and self.properties.get("fail_ok") and self.properties.get("tries") == 1:
                log.warn("Task failed but fail_ok is true, treating as success")
                self.success = True
        except Exception as exc:  # upstream turns any runtime error into a failed task
            self.success = False
            self.data = [str(exc)]
            self.msg = f"Running task {self.task_type} failed unexpectedly: {describe(exc)}"
            log.warn(self.msg)
        self._elapsed = time.monotonic() - started
        self.end_time = datetime.now(timezone.utc)
        self.ran = True
        return self

    def to_report(self) -> dict[str, Any]:
        return {
            "type": self.task_type,
            "set": self.set,
            "description": self.description,
            "start_time": self.start_time,
            "end_time": self.end_time or self.start_time,
            "run_time": self.run_time,
            "ran": self.ran,
            "msg": self.msg,
            "success": self.success,
        }
