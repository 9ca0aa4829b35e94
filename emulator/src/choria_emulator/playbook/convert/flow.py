"""The task lists and hooks as nested ``block``/``rescue``/``always``, in the order of §3.2-3.3.

``pre_book`` (a failure ends the run: neither ``on_fail`` nor ``post_book``), the main tasks (each
wrapped by ``pre_task`` and, in an ``always``, ``post_task``), then ``on_success`` or, in the
``rescue``, ``on_fail`` (whose outcome is ignored), and ``post_book`` in an ``always``. A run-time
abort (a template that cannot be resolved, an invalid task configuration) skips the hooks as
0.6.0 did: the ``rescue`` sections ask the ``chorialab.choria.playbook_abort`` test.

``previous_task`` is resolved while the tasks are laid out in the order they run: mostly the
converter knows which task ran last; where it cannot (the first task of ``on_fail`` follows
whichever task failed, the first of ``post_book`` whichever ran last), the ``rescue`` and the end
of each path record it in the ``choria_previous_task`` fact, and only then do tasks carry their
id in ``vars.choria_task`` (Ansible results do not say which task they came from).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..runner import HOOKS
from ..templates import references
from .jinja import DYNAMIC, ConvertError, Previous, Scope, attr, literal
from .names import capitalized, task_name
from .tasks import TaskMapper

ChoriaTask = tuple[str, dict[str, Any]]
FAILED_TASK = "{{ choria_tasks[(ansible_failed_task.vars | default({})).choria_task | default('')] | default({}) }}"


def task_sets(data: dict[str, Any]) -> dict[str, list[ChoriaTask]]:
    """``{set name: [(type, properties)]}`` for the main list and the six hooks, checked as the engine loads them."""
    sets: dict[str, list[ChoriaTask]] = {name: [] for name in ("tasks",) + HOOKS}

    def load(items: Any, set_name: str) -> None:
        if set_name not in sets:
            raise ConvertError(f"Unknown hook {set_name}, valid hooks are {', '.join(HOOKS)}")
        if not isinstance(items, list):
            raise ConvertError(f"The {set_name} task list should be a list of tasks")
        for index, item in enumerate(items, 1):
            if not isinstance(item, dict):
                raise ConvertError(f"Task {index} in {set_name} should be a mapping of a task type to its properties")
            for kind, props in item.items():
                sets[set_name].append((str(kind), dict(props or {})))

    load(data.get("tasks") or [], "tasks")
    for name, items in (data.get("hooks") or {}).items():
        load(items, str(name))
    return sets


def reads_previous(task: ChoriaTask | None) -> bool:
    return task is not None and any(kind == "previous_task" for kind, _item in references(task[1]))


def can_abort(tasks: list[ChoriaTask]) -> bool:
    """Whether a task list can hit a 0.6.0 run-time abort: RPC task configuration, or a template reading inputs."""
    for kind, props in tasks:
        if kind in ("mcollective", "mcollective_assert"):
            return True
        if any(ref in ("input", "inputs") for ref, _item in references(props)):
            return True
    return False


@dataclass
class Flow:
    """Lays out the task sets; :meth:`build` returns the play's run block."""

    sets: dict[str, list[ChoriaTask]]
    mapper: TaskMapper
    playbook_name: str
    release: list[dict[str, Any]] = field(default_factory=list)
    previous: Previous = None

    def __post_init__(self) -> None:
        first = {name: (tasks[0] if tasks else None) for name, tasks in self.sets.items()}
        self.dynamic_post_book = reads_previous(first["post_book"])
        self.mark_main = reads_previous(first["on_fail"]) or self.dynamic_post_book
        self.mark_hooks = self.dynamic_post_book
        self.aborts = {name: can_abort(self._with_hooks(name)) for name in ("tasks", "on_success", "on_fail")}

    @property
    def scope(self) -> Scope:
        return self.mapper.scope

    def _with_hooks(self, name: str) -> list[ChoriaTask]:
        if name != "tasks" or not self.sets["tasks"]:
            return self.sets[name]
        return self.sets["pre_task"] + self.sets["tasks"] + self.sets["post_task"]

    # -- converting tasks in the order they run ---------------------------------------------
    def convert(self, kind: str, props: dict[str, Any], mark: bool) -> list[dict[str, Any]]:
        self.scope.previous = self.previous
        task_id, tasks = self.mapper.convert(kind, props, mark=mark)
        self.previous = task_id
        return tasks

    def convert_set(self, name: str, mark: bool = False) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for kind, props in self.sets[name]:
            out += self.convert(kind, props, mark)
        return out

    def main_tasks(self) -> list[dict[str, Any]]:
        """Each main task, wrapped in the ``pre_task`` and ``post_task`` hooks when there are any."""
        main: list[dict[str, Any]] = []
        for kind, props in self.sets["tasks"]:
            pre = self.convert_set("pre_task", self.mark_main)
            converted = self.convert(kind, props, self.mark_main)
            post = self.convert_set("post_task", self.mark_main)
            if not pre and not post:
                main += converted
                continue
            self.scope.previous = None  # block names never read previous_task
            inner: dict[str, Any] = {"name": task_name(kind, props, self.scope, ", then the post_task hook")}
            inner["block"] = converted
            if post:
                inner["always"] = post
            outer = task_name(kind, props, self.scope, ", with the pre_task and post_task hooks")
            main.append({"name": outer, "block": pre + [inner]})
        return main or [{"name": "The playbook has no tasks", "ansible.builtin.debug": {"msg": "no tasks"}}]

    # -- bookkeeping tasks ------------------------------------------------------------------
    def remember_last(self, task_id: Previous) -> dict[str, Any]:
        """At the end of a path: which task ran last, for ``post_book``'s ``previous_task``."""
        value = "{{ " + attr("choria_tasks", task_id) + " }}" if task_id not in (None, DYNAMIC) else {}
        if task_id not in (None, DYNAMIC):
            self.scope.referenced.add(str(task_id))
        return {
            "name": "Remember the last task that ran, for previous_task",
            "ansible.builtin.set_fact": {"choria_previous_task": value},
        }

    def abort_check(self) -> dict[str, Any]:
        return {
            "name": "Abort as Choria does when a template or a task's configuration fails (no more hooks)",
            "when": "ansible_failed_result is chorialab.choria.playbook_abort",
            "block": [
                {"name": "Skip post_book", "ansible.builtin.set_fact": {"choria_aborted": True}},
                {
                    "name": "Stop the playbook",
                    "ansible.builtin.fail": {
                        "msg": f"Playbook {self.playbook_name} failed: " + "{{ ansible_failed_result.msg }}"
                    },
                },
            ],
        }

    def failed_hook_rescue(self, set_name: str, record: bool) -> list[dict[str, Any]]:
        rescue: list[dict[str, Any]] = []
        if self.aborts[set_name]:
            rescue.append(self.abort_check())
        if record:
            rescue.append(
                {
                    "name": "Remember which task failed, for previous_task",
                    "ansible.builtin.set_fact": {"choria_previous_task": FAILED_TASK},
                }
            )
        return rescue

    # -- the sets ---------------------------------------------------------------------------
    def pre_book(self) -> dict[str, Any] | None:
        tasks = self.convert_set("pre_book")
        if not tasks:
            return None
        return {"name": "Hook pre_book (a failure ends the run: neither on_fail nor post_book runs)", "block": tasks}

    def main_block(self) -> dict[str, Any]:
        main = self.main_tasks()
        main_end = self.previous
        on_success = self.convert_set("on_success", self.mark_hooks)
        success_end = self.previous
        if self.dynamic_post_book and not on_success:
            main.append(self.remember_last(main_end))
        self.previous = DYNAMIC
        on_fail = self.convert_set("on_fail", self.mark_hooks)
        fail_end = self.previous
        remember = {
            "choria_failure": "{{ ansible_failed_task.name }}: {{ ansible_failed_result.msg | default('failed') }}"
        }
        if self.mark_main:
            remember["choria_previous_task"] = FAILED_TASK
        rescue: list[dict[str, Any]] = [self.abort_check()] if self.aborts["tasks"] else []
        rescue.append({"name": "Remember why the tasks failed", "ansible.builtin.set_fact": remember})
        if on_fail:
            if self.dynamic_post_book:
                on_fail.append(self.remember_last(fail_end))
            handled = self.failed_hook_rescue("on_fail", self.dynamic_post_book)
            handled.append(
                {
                    "name": "The on_fail hook failed (Choria ignores its outcome; the playbook has failed already)",
                    "ansible.builtin.debug": {
                        "msg": "{{ ansible_failed_result.msg | default('on_fail task failed') }}"
                    },
                }
            )
            rescue.append({"name": "Hook on_fail", "block": on_fail, "rescue": handled})
        rescue.append(
            {"name": "The tasks failed, so the playbook fails", "ansible.builtin.fail": {"msg": "{{ choria_failure }}"}}
        )
        body: list[dict[str, Any]] = [{"name": "Tasks", "block": main, "rescue": rescue}]
        if on_success:
            hook: dict[str, Any] = {"name": "Hook on_success", "block": on_success}
            if self.dynamic_post_book:
                on_success.append(self.remember_last(success_end))
            handled = self.failed_hook_rescue("on_success", self.dynamic_post_book)
            if handled:
                handled.append(
                    {
                        "name": "The on_success hook failed",
                        "ansible.builtin.fail": {"msg": "{{ ansible_failed_result.msg }}"},
                    }
                )
                hook["rescue"] = handled
            body.append(hook)
        return {"body": body}

    def build(self) -> dict[str, Any]:
        """The run block: pre_book, then the tasks with their hooks, then the lock releases."""
        run: list[dict[str, Any]] = []
        pre_book = self.pre_book()
        if pre_book:
            run.append(pre_book)
        body = self.main_block()["body"]
        self.previous = DYNAMIC
        post_book = self.convert_set("post_book", False)
        outcome: dict[str, Any] = {
            "name": "Tasks, then on_success or on_fail" + (", then post_book" if post_book else ""),
            "block": body,
        }
        if post_book:
            hook: dict[str, Any] = {"name": "Hook post_book"}
            if any(self.aborts.values()):
                hook["when"] = "not (choria_aborted | default(false))"
            hook["block"] = post_book
            outcome["always"] = [hook]
        run.append(outcome)
        top: dict[str, Any] = {"name": "Run the playbook's task lists and hooks", "block": run}
        if self.release:
            top["always"] = self.release
        return top

    def task_meta(self) -> dict[str, Any]:
        """``choria_tasks``: what ``previous_task`` needs to know about the tasks it may name."""
        wanted = set(self.scope.referenced)
        if self.mark_main:
            wanted |= set(self.mapper.meta)
        return {task_id: meta for task_id, meta in self.mapper.meta.items() if task_id in wanted}


__all__ = ["Flow", "capitalized", "literal", "task_sets"]
