"""Task lists and hooks in the exact order of §3.2-3.3.

``pre_book`` (failure ends the run: no ``on_fail``, no ``post_book``), ``tasks`` (each wrapped
by ``pre_task``/``post_task``, stopping at the first failure), ``on_success`` or ``on_fail``
(whose outcome is ignored), then ``post_book``. Task properties are templated again before every
try, so dynamic inputs, ``previous_task`` and ``uuid`` are fresh on retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import PlaybookError
from .result import TaskResult
from .tasks import Host, Task, runner_for


class RunningBook(Host, Protocol):
    """What the task sets use of the playbook running them: a task's host, and its templates."""

    def template(self, data: Any) -> Any:
        """``data`` with every template resolved (§4)."""


HOOKS = ("pre_book", "pre_task", "post_task", "on_success", "on_fail", "post_book")
SETS = ("tasks",) + HOOKS
TASK_DEFAULTS = {"tries": 1, "try_sleep": 10, "fail_ok": False}


@dataclass
class TaskEntry:
    type: str
    description: str
    runner: Task
    properties: dict[str, Any]
    result: TaskResult


@dataclass
class TaskSets:
    playbook: RunningBook
    sets: dict[str, list[TaskEntry]] = field(default_factory=lambda: {name: [] for name in SETS})
    results: list[TaskResult] = field(default_factory=list)

    # -- loading --------------------------------------------------------------------------
    def load_tasks(self, data: Any, set_name: str) -> list[TaskEntry]:
        if set_name not in self.sets:
            raise PlaybookError(f"Unknown hook {set_name}, valid hooks are {', '.join(HOOKS)}")
        if not isinstance(data, list):
            raise PlaybookError(f"The {set_name} task list should be a list of tasks, got {_kind(data)}")
        for index, item in enumerate(data):
            if not isinstance(item, dict) or not item:
                raise PlaybookError(
                    f"Task {index + 1} in {set_name} should be a mapping of a task type to its properties, "
                    f"got {_kind(item)}"
                )
            for kind, props in item.items():
                props = props if props is not None else {}
                if not isinstance(props, dict):
                    raise PlaybookError(
                        f"The properties of {kind} task {index + 1} in {set_name} should be a mapping, "
                        f"got {_kind(props)}"
                    )
                self.playbook.log.debug(f"Loading task {index} of type {kind} into {set_name}")
                runner = runner_for(str(kind), self.playbook)
                runner.description = props.get("description", f"{kind} task")
                properties = {**TASK_DEFAULTS, **props}
                runner.fail_ok = properties["fail_ok"]
                entry = TaskEntry(
                    str(kind),
                    runner.description,
                    runner,
                    properties,
                    TaskResult(str(kind), runner.description, dict(item), properties, runner),
                )
                self.sets[set_name].append(entry)
        return self.sets[set_name]

    def from_hash(self, data: Any) -> TaskSets:
        if isinstance(data, list):
            self.load_tasks(data, "tasks")
        elif isinstance(data, dict):
            for set_name, tasks in data.items():
                self.load_tasks(tasks, str(set_name))
        return self

    # -- running --------------------------------------------------------------------------
    def run(self) -> bool:
        log = self.playbook.log
        with log.in_context("running"):
            if not self.run_set("pre_book"):
                log.warn("Playbook pre_book hook failed to run, failing entire playbook")
                return False
            success = self.run_set("tasks")
            log.info(f"Finished running main tasks in playbook: success: {_bool(success)}")
            if success:
                success = self.run_set("on_success")
            else:
                self.run_set("on_fail")
            if not self.run_set("post_book"):
                log.warn("Playbook post_book hook failed to run, failing entire playbookbook")
                return False
            return success

    def run_set(self, set_name: str) -> bool:
        tasks = self.sets[set_name]
        if not tasks:
            return True
        log = self.playbook.log
        with log.in_context(set_name):
            log.info(f"About to run task set {set_name} with {len(tasks)} task(s)")
            passed = 0
            for entry in tasks:
                with log.in_context(f"{set_name}.{entry.type}"):
                    ok = self.run_task(entry, set_name, hooks=set_name == "tasks")
                if not ok:
                    break
                passed += 1
            success = passed == len(tasks)
            log.info(f"Done running task set {set_name} with {len(tasks)} task(s): success: {_bool(success)}")
            return success

    def run_task(self, entry: TaskEntry, set_name: str, hooks: bool = True) -> bool:
        book, log, props, result = self.playbook, self.playbook.log, entry.properties, entry.result
        description = book.template(entry.description)
        log.info(f"About to run task: {description}")
        result.description = description
        if hooks and not self.run_set("pre_task"):
            log.warn("Failing task because a critical pre_task hook failed")
            return False
        if props.get("pre_sleep") is not None and props.get("pre_sleep") is not False:
            seconds = _integer(props["pre_sleep"], "pre_sleep")
            log.info(f"Sleeping {seconds} seconds before check")
            book.services.sleep(seconds)
        tries = _integer(props["tries"], "tries")
        for attempt in range(1, tries + 1):
            entry.runner.from_hash(book.template(props))
            entry.runner.validate_configuration()
            self.results.append(result.timed_run(set_name, log))
            if result.success:
                log.info(str(result.msg))
            else:
                log.error(str(result.msg))
            if attempt != tries and not result.success:
                pause = _integer(props["try_sleep"], "try_sleep")
                log.warn(f"Task failed on try {attempt}/{tries}, sleeping {pause}s: {result.msg}")
                book.services.sleep(pause)
            if result.success:
                break
        if hooks and not self.run_set("post_task"):
            log.warn("Failing task because a critical post_task hook failed")
            return False
        return bool(result.success)

    def count(self) -> int:
        return sum(len(tasks) for tasks in self.sets.values())


def _integer(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise PlaybookError(f"Task property {name} should be an integer, got {value!r}") from None


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
