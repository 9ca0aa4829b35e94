"""A Choria YAML playbook as one Ansible play, step by step (docs/playbooks.md "Converting a playbook").

:func:`convert_playbook` checks the playbook as the engine does, plans the inputs, stores and node
sets, writes the play's variables, the preparation tasks (:mod:`.setup`) and the run block
(:mod:`.flow`), and converts the playbooks that ``playbook`` tasks run (:mod:`.nested`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..playbook import Playbook
from ..runtime import RunOptions
from ..yamlload import plain
from .flow import Flow, task_sets
from .inputs import InputPlan, supplied_var
from .jinja import ConvertError, Scope, translate
from .model import Conversion
from .nested import NestedPlaybooks
from .setup import check_store_types, discovery_tasks, lock_tasks, save_tasks, start_task
from .tasks import TaskMapper

LIBRARY_STORES = ("file", "shell", "etcd", "nats_kv")
FACT_STORES = ("memory", "environment")


def load_checked(data: dict[str, Any]) -> Playbook:
    """The playbook, refused with the engine's messages when it is not valid (§1.1)."""
    book = Playbook.load(data, RunOptions(quiet=True))
    problems = book.problems()
    if problems:
        raise ConvertError("Playbook is not in a valid format: " + "; ".join(problems))
    return book


def play_variables(
    meta: dict[str, Any], inputs: InputPlan, stores: dict[str, Any], nodes: dict[str, Any], scope: Scope
) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "choria_playbook": meta,
        "choria_inputs": inputs.declarations(),
        "inputs": inputs.variables(),
        "choria_nodes": {name: [] for name in nodes},
        "choria_caller_id": "choria={{ lookup('ansible.builtin.env', 'USER', default='') "
        "or lookup('ansible.builtin.pipe', 'id -un') }}.mcollective",
        "choria_slack_api": "{{ lookup('ansible.builtin.env', 'CHORIA_SLACK_API', default='') "
        "or 'https://slack.com/api' }}",
    }
    if stores:
        variables["choria_data_stores"] = translate(plain(stores), scope)
    variables["choria_memory"] = {n: {} for n, p in stores.items() if p.get("type") == "memory"}
    variables["choria_environment"] = {}
    return variables


def header_lines(source: str, meta: dict[str, Any], inputs: InputPlan) -> list[str]:
    flags = " ".join(f"-e {supplied_var(n)}=..." for n in inputs.required())
    run = f"Run: ansible-playbook <this file> {flags} [-e choria_servers=nats://broker:4222]".replace("  ", " ")
    return [
        f"Converted from {source} ({meta['name']} {meta['version']}) by choria-emulator playbook convert.",
        run,
        "Inputs are given as input_<name> (-e, or an AWX survey with --survey); tasks read them as inputs.<name>.",
        "Needs the chorialab.choria collection and the choria-emulator package on the controller.",
        "Choria semantics and where Ansible differs: docs/playbooks.md (Choria playbooks as Ansible plays).",
    ]


def convert_playbook(
    data: dict[str, Any], source: str = "playbook.yaml", base_dir: Path | None = None, chain: tuple[str, ...] = ()
) -> Conversion:
    """Convert a loaded Choria playbook; ``base_dir`` is where its ``playbook`` tasks find their files."""
    book = load_checked(data)
    meta = plain(book.metadata)
    stores = {str(k): dict(v or {}) for k, v in (data.get("data_stores") or {}).items()}
    check_store_types(stores, LIBRARY_STORES + FACT_STORES)
    inputs = InputPlan(data.get("inputs") or {})
    nodes = {str(k): v for k, v in (data.get("nodes") or {}).items()}
    scope = Scope(input_kinds=inputs.kinds, node_sets=set(nodes))
    nested = NestedPlaybooks(base_dir, chain, convert_playbook)
    mapper = TaskMapper(scope, stores, str(meta["name"]), nested if base_dir is not None else None)

    variables = play_variables(meta, inputs, stores, nodes, scope)
    tasks = [start_task()]
    check = inputs.check_task()
    if check:
        tasks.append(check)
    if any(p.get("type") in LIBRARY_STORES for p in stores.values()):
        tasks.append(
            {
                "name": "Prepare the data stores",
                "chorialab.choria.playbook_data": {
                    "op": "prepare",
                    "stores": "{{ choria_data_stores }}",
                    "playbook": meta["name"],
                },
            }
        )
    tasks += save_tasks(inputs, stores, str(meta["name"]))
    take, release = lock_tasks(list(data.get("locks") or []), stores, str(meta["name"]))
    tasks += take
    uses = {str(k): str(v) for k, v in (data.get("uses") or {}).items()}
    tasks += discovery_tasks(nodes, uses, translate(plain(nodes), scope) if nodes else None)

    flow = Flow(task_sets(data), mapper, str(meta["name"]), release)
    tasks.append(flow.build())
    task_meta = flow.task_meta()
    if task_meta:
        variables["choria_tasks"] = task_meta
    survey = inputs.survey(f"{meta['name']} {meta['version']}", str(meta.get("description") or ""))
    return Conversion(
        name=f"Choria playbook {meta['name']} {meta['version']}: {meta['description']}",
        variables=variables,
        tasks=tasks,
        survey=survey,
        header=header_lines(source, meta, inputs),
        nested=nested.converted,
    )


def convert(
    data: dict[str, Any], source: str = "playbook.yaml", hosts: str = "localhost", base_dir: Path | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any], list[str]]:
    """``(ansible playbook, AWX survey spec, header comment lines)`` for a loaded Choria playbook."""
    conversion = convert_playbook(data, source, base_dir)
    return [conversion.play(hosts)], conversion.survey, conversion.header
