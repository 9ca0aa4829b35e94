"""The ``playbook`` task (our extension) in a converted play: the nested playbook, converted too, as
an ``include_tasks`` of its own tasks file, inside a block that turns its outcome into this task's
result (docs/playbooks.md "The playbook task").

The nested playbook's variables are the include's ``vars`` (its inputs get their values from
``choria_supplied``, so the outer play's ``input_*`` extra variables do not reach it). Facts are
shared by every task of a host, so the block keeps this run's facts (node sets, memory store, run
id, clock, abort and failure state) before the nested run and puts them back after it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..errors import PlaybookError
from ..playbook import read_playbook_file
from .jinja import ConvertError, literal
from .model import Conversion

KEPT = {
    "nodes": ("choria_nodes", "{{ choria_nodes }}"),
    "memory": ("choria_memory", "{{ choria_memory }}"),
    "run_id": ("choria_run_id", "{{ choria_run_id }}"),
    "start_time": ("choria_start_time", "{{ choria_start_time }}"),
    "aborted": ("choria_aborted", "{{ choria_aborted | default(false) }}"),
    "failure": ("choria_failure", "{{ choria_failure | default('') }}"),
    "previous_task": ("choria_previous_task", "{{ choria_previous_task | default({}) }}"),
}
AS_FACTS = ("choria_nodes", "choria_memory", "choria_environment")  # facts of the host, not include vars
STATIC_INPUTS = "{{ lookup('chorialab.choria.playbook_input', static=true) }}"
Converter = Callable[..., Conversion]
Tasks = list[dict[str, Any]]


class NestedPlaybooks:
    """Converts the playbooks ``playbook`` tasks run; :attr:`converted` maps tasks files to conversions."""

    def __init__(self, base_dir: Path | None, chain: tuple[str, ...], convert: Converter):
        self.base_dir = base_dir
        self.chain = chain
        self.convert = convert
        self.converted: dict[str, Conversion] = {}

    def load(self, path: str) -> tuple[Path, Conversion]:
        target = ((self.base_dir or Path.cwd()) / Path(path).expanduser()).resolve()
        if str(target) in self.chain:
            raise ConvertError(f"Playbook {target} is already running ({' -> '.join((*self.chain, str(target)))})")
        try:
            data = read_playbook_file(target)
        except PlaybookError as exc:
            raise ConvertError(f"playbook task: {exc}") from None
        try:
            child = self.convert(data, target.name, target.parent, (*self.chain, str(target)))
        except ConvertError as exc:
            raise ConvertError(f"playbook task {path}: {exc}") from None
        return target, child

    def __call__(self, path: str, given: dict[str, Any] | None, task_id: str) -> tuple[Tasks, Tasks, Tasks]:
        """``(block, rescue, always)`` that run ``path`` with ``given`` inputs (None: this run's)."""
        target, child = self.load(path)
        tasks_file = f"{target.stem}.tasks.yml"
        self.converted[tasks_file] = child
        self.converted.update(child.nested)
        playbook = child.variables["choria_playbook"]
        title = f"{playbook['name']} {playbook['version']}"
        kept = f"choria_parent_{task_id}"
        facts: dict[str, Any] = {kept: {key: value for key, (_fact, value) in KEPT.items()}}
        facts[kept]["given"] = given if given is not None else STATIC_INPUTS
        facts.update({name: child.variables[name] for name in ("choria_nodes", "choria_memory")})
        include_vars = {k: v for k, v in child.variables.items() if k not in AS_FACTS}
        include_vars["choria_supplied"] = "{{ " + kept + ".given }}"
        outcome = {"playbook": playbook["name"], "version": playbook["version"]}
        return (
            [
                {"name": f"Keep this run's state while {title} runs", "ansible.builtin.set_fact": facts},
                {
                    "name": f"Playbook {title}",
                    "ansible.builtin.include_tasks": {"file": tasks_file},
                    "vars": include_vars,
                },
                {
                    "name": f"Playbook {title} succeeded",
                    "ansible.builtin.set_fact": {
                        "choria_previous": {
                            "choria_outcome": {
                                "success": True,
                                "msg": f"Playbook {title} succeeded",
                                "data": [{**outcome, "success": True}],
                            }
                        }
                    },
                },
            ],
            [
                {
                    "name": f"Playbook {title} failed",
                    "ansible.builtin.set_fact": {
                        "choria_previous": {
                            "choria_outcome": {
                                "success": False,
                                "msg": f"Playbook {title} failed: "
                                + "{{ ansible_failed_result.msg | default('failed') }}",
                                "data": [{**outcome, "success": False}],
                            }
                        }
                    },
                },
                {
                    "name": "Fail as the nested playbook did",
                    "ansible.builtin.fail": {"msg": "{{ choria_previous.choria_outcome.msg }}"},
                },
            ],
            [
                {
                    "name": "Put this run's state back",
                    "ansible.builtin.set_fact": {
                        fact: "{{ " + kept + "." + key + " }}" for key, (fact, _value) in KEPT.items()
                    },
                }
            ],
        )


__all__ = ["NestedPlaybooks", "literal"]
