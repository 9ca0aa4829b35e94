"""``choria-emulator playbook convert``: a Choria YAML playbook as an Ansible playbook (docs/playbooks.md).

The converted play runs on the controller (``hosts: localhost``) and does what ``mco playbook
run`` did, with Ansible's own constructs wherever they express the semantic: inputs are
variables checked by ``assert`` (and an AWX survey with ``--survey``), node sets come from one
``chorialab.choria.discover`` task (then ``add_host`` groups), the task lists and hooks are
``block``/``rescue``/``always`` in the order of playbooks.md §3.2, ``mcollective`` tasks are
``chorialab.choria.rpc``, ``shell`` is ``command``/``shell``, ``webhook``/``slack``/
``graphite_event`` are ``uri``, templates are Jinja2. Where Ansible cannot say exactly what
Choria did, a comment in the output says so.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import PlaybookError
from ..playbook import Playbook
from ..runner import HOOKS
from ..runtime import RunOptions
from ..stores import lock_path, parse_path
from ..yamlload import Symbol, plain
from .inputs import InputPlan
from .jinja import ConvertError, Scope, literal, translate
from .tasks import TaskMapper

__all__ = ["ConvertError", "convert", "convert_file", "dump"]

LIBRARY_STORES = ("file", "shell", "etcd", "nats_kv")


def convert(
    data: dict[str, Any], source: str = "playbook.yaml", hosts: str = "localhost"
) -> tuple[list[dict[str, Any]], dict[str, Any], list[str]]:
    """``(ansible playbook, AWX survey spec, header comment lines)`` for a loaded Choria playbook."""
    book = Playbook.load(data, RunOptions(quiet=True))
    problems = book.problems()
    if problems:
        raise ConvertError("Playbook is not in a valid format: " + "; ".join(problems))
    meta = plain(book.metadata)
    stores = {str(k): dict(v or {}) for k, v in (data.get("data_stores") or {}).items()}
    for name, props in stores.items():
        if props.get("type") == "consul":
            raise ConvertError(
                f"Data store {name} uses type consul, which this implementation does not support; use type nats_kv (with locks) or etcd"
            )
        if props.get("type") not in LIBRARY_STORES + ("memory", "environment"):
            raise ConvertError(f"Cannot find a handler for Data Store type {props.get('type')}")
    inputs = InputPlan(data.get("inputs") or {}, stores)
    nodes = {str(k): v for k, v in (data.get("nodes") or {}).items()}
    scope = Scope(input_kinds=inputs.kinds, node_sets=set(nodes))
    mapper = TaskMapper(scope, stores, str(meta["name"]))

    variables: dict[str, Any] = {
        "choria_playbook": meta,
        "choria_inputs": inputs.variables(),
        "choria_nodes": {name: [] for name in nodes},
        "choria_caller_id": "choria={{ lookup('ansible.builtin.env', 'USER', default='') or lookup('ansible.builtin.pipe', 'id -un') }}.mcollective",
        "choria_slack_api": "{{ lookup('ansible.builtin.env', 'CHORIA_SLACK_API', default='') or 'https://slack.com/api' }}",
    }
    library_stores = {n: p for n, p in stores.items() if p.get("type") in LIBRARY_STORES}
    if library_stores:
        variables["choria_data_stores"] = translate(plain(library_stores), scope)
    memory = [n for n, p in stores.items() if p.get("type") == "memory"]
    variables["choria_memory"] = {n: {} for n in memory}
    variables["choria_environment"] = {}

    tasks: list[dict[str, Any]] = [
        {
            "name": "Start the Choria playbook run",
            "ansible.builtin.set_fact": {
                "choria_run_id": "{{ (now().timestamp() ~ (2147483647 | random)) | to_uuid }}",
                "choria_start_time": "{{ now().timestamp() }}",
            },
        }
    ]
    tasks += inputs.tasks()
    if library_stores:
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
    for save in inputs.save_tasks():
        tasks.append(
            _store_write(
                save["path"],
                "{{ " + inputs.value(save["_save"])[3:-3].strip() + " }}",
                stores,
                meta["name"],
                f"Save input {save['_save']} to {save['path']}",
                save["when"],
            )
        )

    release: list[dict[str, Any]] = []
    for lock in data.get("locks") or []:
        path = lock_path(str(lock), str(meta["name"]))
        store = parse_path(path)[0]
        kind = (stores.get(store) or {}).get("type")
        if kind == "nats_kv":
            args = {
                "path": path,
                "owner": "{{ choria_run_id }}",
                "stores": "{{ choria_data_stores }}",
                "playbook": meta["name"],
            }
            tasks.append(
                {"name": f"Obtain playbook lock {path}", "chorialab.choria.playbook_data": {"op": "lock", **args}}
            )
            release.append(
                {
                    "#": "Ansible cannot tell a failed run from an aborted one, so locks are released in both cases "
                    "(Choria 0.6.0 kept them when a run aborted)",
                    "name": f"Release playbook lock {path}",
                    "chorialab.choria.playbook_data": {"op": "release", **args},
                    "ignore_errors": True,
                }
            )
        elif kind == "memory":
            tasks.append(
                {
                    "name": f"Playbook lock {path}",
                    "ansible.builtin.debug": {
                        "msg": "memory store locks only guard one process; this play is one process, so there is nothing to wait for"
                    },
                }
            )
        else:
            handler = {"environment": "Environment", "etcd": "Etcd", "file": "File", "shell": "Shell"}.get(
                str(kind), str(kind)
            )
            tasks.append(
                {
                    "name": f"Obtain playbook lock {path}",
                    "ansible.builtin.fail": {
                        "msg": f"Playbook {meta['name']} failed: NotImplementedError: lock not implemented in {handler}DataStore"
                    },
                }
            )

    uses = {str(k): str(v) for k, v in (data.get("uses") or {}).items()}
    if nodes or uses:
        discover: dict[str, Any] = {
            "discovery_timeout": "{{ choria_discovery_timeout | default(omit) }}",
            "timeout": "{{ choria_rpc_timeout | default(omit) }}",
        }
        if uses:
            discover["uses"] = uses
            discover["ddl_path"] = "{{ choria_ddl_path | default(omit) }}"
        if nodes:
            discover["node_sets"] = translate(plain(nodes), scope)
        tasks.append(
            {
                "name": "Discover the node sets" if nodes else "Check agent DDL versions",
                "chorialab.choria.discover": discover,
                "register": "choria_discovery",
            }
        )
    if nodes:
        tasks.append(
            {
                "name": "Node sets as facts",
                "ansible.builtin.set_fact": {"choria_nodes": "{{ choria_discovery.node_sets }}"},
            }
        )
        tasks.append(
            {
                "#": "groups named after the node sets, for plays that target them; the tasks below use choria_nodes, which keeps the order discovery gave",
                "name": "Node sets as groups",
                "ansible.builtin.add_host": {
                    "name": "{{ item.1 }}",
                    "groups": "{{ item.0.key }}",
                    "choria_identity": "{{ item.1 }}",
                },
                "loop": "{{ choria_discovery.node_sets | dict2items | subelements('value') }}",
                "loop_control": {"label": "{{ item.0.key }}: {{ item.1 }}"},
            }
        )

    sets = _task_sets(data)
    tasks.append(_run_block(sets, mapper, release))
    play = {
        "name": f"{meta['name']} {meta['version']}: {meta['description']}",
        "hosts": hosts,
        "gather_facts": False,
        "module_defaults": {
            "group/chorialab.choria.choria": {
                "servers": "{{ choria_servers | default(omit) }}",
                "config_file": "{{ choria_config_file | default(omit) }}",
            }
        },
        "vars": variables,
        "tasks": tasks,
    }
    if hosts == "localhost":
        play = {
            **{k: play[k] for k in ("name", "hosts")},
            "connection": "local",
            **{k: v for k, v in play.items() if k not in ("name", "hosts")},
        }
    flags = " ".join(f"-e {n}=..." for n in inputs.required())
    header = [
        f"Converted from {source} ({meta['name']} {meta['version']}) by choria-emulator playbook convert.",
        f"Run: ansible-playbook {{this file}} {flags} [-e choria_servers=nats://broker:4222]".replace(
            "{this file}", "<this file>"
        ).replace("  ", " "),
        "Needs the chorialab.choria collection and the choria-emulator package on the controller.",
        "Choria semantics and where Ansible differs: docs/playbooks.md (Choria playbooks as Ansible plays).",
    ]
    survey = inputs.survey(f"{meta['name']} {meta['version']}", str(meta.get("description") or ""))
    return [play], survey, header


def _task_sets(data: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    sets: dict[str, list[tuple[str, dict[str, Any]]]] = {name: [] for name in ("tasks",) + HOOKS}

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


def _convert_set(
    sets: dict[str, list[tuple[str, dict[str, Any]]]], name: str, mapper: TaskMapper
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for kind, props in sets[name]:
        out += mapper.convert(kind, props)
    return out


def _run_block(
    sets: dict[str, list[tuple[str, dict[str, Any]]]], mapper: TaskMapper, release: list[dict[str, Any]]
) -> dict[str, Any]:
    """The task sets in the order of playbooks.md §3.3 as nested block/rescue/always."""
    main: list[dict[str, Any]] = []
    for kind, props in sets["tasks"]:
        converted = mapper.convert(kind, props)
        pre, post = _convert_set(sets, "pre_task", mapper), _convert_set(sets, "post_task", mapper)
        if not pre and not post:
            main += converted
            continue
        description = props.get("description", f"{kind} task")
        inner: dict[str, Any] = {"name": f"{description} (with post_task)", "block": converted}
        if post:
            inner["always"] = post
        main.append({"name": f"{description} (with pre_task and post_task hooks)", "block": pre + [inner]})
    if not main:
        main = [{"name": "The playbook has no tasks", "ansible.builtin.debug": {"msg": "no tasks"}}]
    rescue: list[dict[str, Any]] = [
        {
            "name": "Remember why the tasks failed",
            "ansible.builtin.set_fact": {
                "choria_failure": "{{ ansible_failed_task.name }}: {{ ansible_failed_result.msg | default('failed') }}"
            },
        }
    ]
    on_fail = _convert_set(sets, "on_fail", mapper)
    if on_fail:
        rescue.append(
            {
                "name": "on_fail",
                "block": on_fail,
                "rescue": [
                    {
                        "name": "on_fail failed (Choria ignores its outcome; the playbook has failed already)",
                        "ansible.builtin.debug": {
                            "msg": "{{ ansible_failed_result.msg | default('on_fail task failed') }}"
                        },
                    }
                ],
            }
        )
    rescue.append(
        {
            "name": "The main tasks failed, so the playbook fails",
            "ansible.builtin.fail": {"msg": "{{ choria_failure }}"},
        }
    )
    body: list[dict[str, Any]] = [{"name": "tasks", "block": main, "rescue": rescue}]
    on_success = _convert_set(sets, "on_success", mapper)
    if on_success:
        body.append({"name": "on_success", "block": on_success})
    outcome: dict[str, Any] = {
        "name": "tasks, then on_success or on_fail" + (", then post_book" if sets["post_book"] else ""),
        "block": body,
    }
    post_book = _convert_set(sets, "post_book", mapper)
    if post_book:
        outcome["always"] = [{"name": "post_book", "block": post_book}]
    run: list[dict[str, Any]] = []
    pre_book = _convert_set(sets, "pre_book", mapper)
    if pre_book:
        run.append(
            {
                "#": "a pre_book failure ends the run: neither on_fail nor post_book runs",
                "name": "pre_book",
                "block": pre_book,
            }
        )
    run.append(outcome)
    top: dict[str, Any] = {"name": "Run the playbook's task lists and hooks", "block": run}
    if release:
        top["always"] = release
    return top


def _store_write(path: str, value: Any, stores: dict[str, Any], playbook: str, name: str, when: str) -> dict[str, Any]:
    store, key = parse_path(path)
    kind = (stores.get(store) or {}).get("type")
    if kind == "memory":
        return {
            "name": name,
            "ansible.builtin.set_fact": {
                "choria_memory": "{{ choria_memory | combine({"
                + literal(store)
                + ": choria_memory["
                + literal(store)
                + "] | combine({"
                + literal(key)
                + ": choria_value})}) }}"
            },
            "vars": {"choria_value": value},
            "when": when,
        }
    if kind == "environment":
        env = f"{(stores[store] or {}).get('prefix') or ''}{key}"
        return {
            "name": name,
            "ansible.builtin.set_fact": {
                "choria_environment": "{{ choria_environment | combine({"
                + literal(env)
                + ": choria_value | string}) }}"
            },
            "vars": {"choria_value": value},
            "when": when,
        }
    return {
        "name": name,
        "chorialab.choria.playbook_data": {
            "op": "write",
            "path": path,
            "value": value,
            "stores": "{{ choria_data_stores }}",
            "playbook": playbook,
        },
        "when": when,
    }


# -- writing ----------------------------------------------------------------------------------
class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)  # lists indented under their key, as ansible-lint likes


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    text = str.__str__(value)
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(Symbol, _str)
_COMMENT = re.compile(r"^(\s*)(- )?(?:'#'|\"#\"): (.*)$")


def dump(plays: list[dict[str, Any]], header: list[str]) -> str:
    """YAML for ``plays`` with ``"#"`` keys turned into comments."""
    text = yaml.dump(plays, Dumper=_Dumper, sort_keys=False, width=10_000, allow_unicode=True, default_flow_style=False)
    lines = []
    for line in text.splitlines():
        found = _COMMENT.match(line)
        if found:
            comment = yaml.safe_load(found.group(3))
            lines.append(f"{found.group(1)}{found.group(2) or ''}# {comment}")
        else:
            lines.append(line)
    return "".join(f"# {h}\n" for h in header) + "---\n" + "\n".join(lines) + "\n"


def convert_file(
    source: str | Path, output: str | Path, survey: str | None = None, hosts: str = "localhost"
) -> list[str]:
    """Convert ``source`` into ``output`` (and an AWX survey spec when ``survey`` is not None)."""
    from ..playbook import read_playbook_file

    path = Path(source)
    try:
        data = read_playbook_file(path)
    except PlaybookError as exc:
        raise ConvertError(str(exc)) from None
    try:
        plays, spec, header = convert(data, path.name, hosts)
    except PlaybookError as exc:
        raise ConvertError(str(exc)) from None
    out = Path(output)
    out.write_text(dump(plays, header))
    written = [str(out)]
    if survey is not None:
        survey_path = Path(survey) if survey else out.with_suffix(".survey.json")
        survey_path.write_text(json.dumps(spec, indent=2) + "\n")
        written.append(str(survey_path))
    return written
