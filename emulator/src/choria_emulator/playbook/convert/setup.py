"""What a converted play does before the task lists, in the order of §3.2 ``prepare``.

Start the run (its id and clock), check the inputs, prepare the data stores, save inputs that
say ``save``, take the locks (their releases go to the run block's ``always``), check the local
DDLs and discover the node sets (one ``chorialab.choria.discover``), then keep the node sets as
facts and groups.
"""

from __future__ import annotations

from typing import Any

from ..stores import lock_path, parse_path
from .inputs import InputPlan
from .jinja import ConvertError, literal

# Node sets become inventory groups by default only up to this many nodes in all: add_host runs once per
# node (17 s at 500 nodes, 88 s at 2,000, unfinished after 16 minutes at 10,000: docs/benchmarks/deploy.md)
NODE_GROUPS_LIMIT = 500
LOCK_HANDLERS = {"environment": "Environment", "etcd": "Etcd", "file": "File", "shell": "Shell"}


def start_task() -> dict[str, Any]:
    return {
        "name": "Start the Choria playbook run",
        "ansible.builtin.set_fact": {
            "choria_run_id": "{{ (now().timestamp() ~ (2147483647 | random)) | to_uuid }}",
            "choria_start_time": "{{ now().timestamp() }}",
        },
    }


def store_write(
    path: str, value: Any, stores: dict[str, Any], playbook: str, name: str, when: str | None = None
) -> dict[str, Any]:
    """A write of ``value`` to ``path``: a fact for memory and environment stores, else ``playbook_data``."""
    store, key = parse_path(path)
    kind = (stores.get(store) or {}).get("type")
    if kind == "memory":
        update = "{{ choria_memory | combine({" + literal(store) + ": choria_memory[" + literal(store) + "] | combine({"
        task: dict[str, Any] = {
            "name": name,
            "ansible.builtin.set_fact": {"choria_memory": update + literal(key) + ": choria_value})}) }}"},
            "vars": {"choria_value": value},
        }
    elif kind == "environment":
        env = f"{(stores[store] or {}).get('prefix') or ''}{key}"
        task = {
            "name": name,
            "ansible.builtin.set_fact": {
                "choria_environment": "{{ choria_environment | combine({"
                + literal(env)
                + ": choria_value | string}) }}"
            },
            "vars": {"choria_value": value},
        }
    else:
        task = {
            "name": name,
            "chorialab.choria.playbook_data": {
                "op": "write",
                "path": path,
                "value": value,
                "stores": "{{ choria_data_stores }}",
                "playbook": playbook,
            },
        }
    if when:
        task["when"] = when
    return task


def save_tasks(inputs: InputPlan, stores: dict[str, Any], playbook: str) -> list[dict[str, Any]]:
    """``save: true`` inputs written to their ``data`` path when a value was given (§3.2 step 3)."""
    return [
        store_write(
            path, "{{ " + inputs.reference(name) + " }}", stores, playbook, f"Save input {name} to {path}", when
        )
        for name, path, when in inputs.saves()
    ]


def lock_tasks(
    locks: list[Any], stores: dict[str, Any], playbook: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(tasks taking the locks, tasks releasing them)`` (§1.6)."""
    take: list[dict[str, Any]] = []
    release: list[dict[str, Any]] = []
    for lock in locks:
        path = lock_path(str(lock), playbook)
        store = parse_path(path)[0]
        kind = (stores.get(store) or {}).get("type")
        if kind == "nats_kv":
            args = {
                "path": path,
                "owner": "{{ choria_run_id }}",
                "stores": "{{ choria_data_stores }}",
                "playbook": playbook,
            }
            take.append(
                {"name": f"Obtain playbook lock {path}", "chorialab.choria.playbook_data": {"op": "lock", **args}}
            )
            release.append(
                {
                    "#": "Ansible cannot tell a failed run from an aborted one, so locks are released in both cases "
                    "(Choria 0.6.0 kept them when a run aborted); a release that fails is only reported, as in Choria",
                    "name": f"Release playbook lock {path}",
                    "chorialab.choria.playbook_data": {"op": "release", **args},
                    "failed_when": False,
                }
            )
        elif kind == "memory":
            take.append(
                {
                    "name": f"Playbook lock {path}",
                    "ansible.builtin.debug": {
                        "msg": "memory store locks only guard one process; this play is one process, "
                        "so there is nothing to wait for"
                    },
                }
            )
        else:
            handler = LOCK_HANDLERS.get(str(kind), str(kind))
            take.append(
                {
                    "name": f"Obtain playbook lock {path}",
                    "ansible.builtin.fail": {
                        "msg": f"Playbook {playbook} failed: NotImplementedError: "
                        f"lock not implemented in {handler}DataStore"
                    },
                }
            )
    return take, release


def discovery_tasks(nodes: dict[str, Any], uses: dict[str, str], node_sets: Any) -> list[dict[str, Any]]:
    """One ``discover`` for the local ``uses`` check and every node set, then the sets as facts and groups."""
    if not nodes and not uses:
        return []
    discover: dict[str, Any] = {}
    if uses:
        discover["uses"] = uses
        discover["ddl_path"] = "{{ choria_ddl_path | default(omit) }}"
    if nodes:
        discover["node_sets"] = node_sets
    tasks: list[dict[str, Any]] = [
        {
            "name": "Discover the node sets" if nodes else "Check agent DDL versions",
            "chorialab.choria.discover": discover,
            "register": "choria_discovery",
        }
    ]
    if nodes:
        total = "(choria_discovery.node_sets.values() | map('length') | sum)"
        tasks.append(
            {
                "#": "choria_node_groups says whether the node sets become inventory groups below; by default "
                f"they do up to choria_node_groups_limit ({NODE_GROUPS_LIMIT}) nodes in all sets",
                "name": "Node sets as facts",
                "ansible.builtin.set_fact": {
                    "choria_nodes": "{{ choria_discovery.node_sets }}",
                    "choria_groups_wanted": "{{ choria_node_groups | default("
                    + total
                    + f" <= (choria_node_groups_limit | default({NODE_GROUPS_LIMIT}) | int)) | bool }}}}",
                },
            }
        )
        tasks.append(
            {
                "name": "Say why the node sets are not inventory groups",
                "ansible.builtin.debug": {
                    "msg": "{{ "
                    + total
                    + " }} nodes, more than choria_node_groups_limit ({{ choria_node_groups_limit | default("
                    + f"{NODE_GROUPS_LIMIT}) }}}}): the node sets are not made inventory groups (the converted tasks "
                    "use choria_nodes); -e choria_node_groups=true makes them (one add_host a node)",
                },
                "when": "choria_node_groups is not defined and not (choria_groups_wanted | bool)",
            }
        )
        tasks.append(
            {
                "#": "groups named after the node sets, for plays that target them; the tasks below use "
                "choria_nodes, which keeps the order discovery gave. add_host runs once per node (88 s at "
                "2,000 nodes), so larger fleets skip it unless -e choria_node_groups=true",
                "name": "Node sets as groups",
                "ansible.builtin.add_host": {
                    "name": "{{ item.1 }}",
                    "groups": "{{ item.0.key }}",
                    "choria_identity": "{{ item.1 }}",
                },
                "loop": "{{ (choria_discovery.node_sets | dict2items | subelements('value')) "
                "if (choria_groups_wanted | bool) else [] }}",
                "loop_control": {"label": "{{ item.0.key }}: {{ item.1 }}"},
            }
        )
    return tasks


def check_store_types(stores: dict[str, Any], supported: tuple[str, ...]) -> None:
    for name, props in stores.items():
        if props.get("type") == "consul":
            raise ConvertError(
                f"Data store {name} uses type consul, which this implementation does not support; "
                "use type nats_kv (with locks) or etcd"
            )
        if props.get("type") not in supported:
            raise ConvertError(f"Cannot find a handler for Data Store type {props.get('type')}")
