"""Task types; ``<type>`` maps to a class as upstream's ``<Type>Task`` lookup does."""

from __future__ import annotations

from ..errors import PlaybookError
from .base import Host, Task, TaskOutcome
from .data import DataTask
from .graphite_event import Graphite_eventTask
from .mcollective import McollectiveTask
from .mcollective_assert import McollectiveAssertTask
from .playbook import PlaybookTask
from .shell import ShellTask
from .slack import SlackTask
from .webhook import WebhookTask

TASK_TYPES: dict[str, type[Task]] = {
    "mcollective": McollectiveTask,
    "shell": ShellTask,
    "webhook": WebhookTask,
    "slack": SlackTask,
    "graphite_event": Graphite_eventTask,
    "data": DataTask,
    "mcollective_assert": McollectiveAssertTask,
    "playbook": PlaybookTask,  # our extension of 0.6.0 (docs/playbooks.md)
}

__all__ = ["TASK_TYPES", "Host", "Task", "TaskOutcome", "runner_for"]


def runner_for(kind: str, playbook: Host) -> Task:
    handler = TASK_TYPES.get(str(kind))
    if handler is None:
        raise PlaybookError(f"Cannot find a handler for Task type {kind}")
    return handler(playbook)
