"""``playbook validate``: everything that can be checked without running (§1.1 plus load-time checks).

Upstream finds unknown task, node-set and store types only when a run prepares them; this check
finds them up front, together with invalid input types, bad ``assert`` expressions, locks on
unknown stores and templates that name unknown inputs, node sets or metadata.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import jgrep
from .errors import PlaybookError
from .inputs import cli_type
from .playbook import METADATA_KEYS, Playbook
from .runner import HOOKS
from .stores import STORE_TYPES, StoreContext, parse_path
from .tasks import TASK_TYPES
from .templates import references


def lint(book: Playbook) -> tuple[list[str], list[str]]:
    """``(errors, warnings)`` for a loaded playbook."""
    errors = list(book.problems())
    warnings: list[str] = []
    data = book.data
    inputs = data.get("inputs") if isinstance(data.get("inputs"), dict) else {}
    stores = data.get("data_stores") if isinstance(data.get("data_stores"), dict) else {}
    nodes = data.get("nodes") if isinstance(data.get("nodes"), dict) else {}

    for name, props in inputs.items():
        props = props or {}
        if not props.get("dynamic"):
            try:
                cli_type(props.get("type"), str(name))
            except PlaybookError as exc:
                errors.append(str(exc))
        if "data" in props:
            _path(props["data"], stores, f"input {name}", errors)
        if "require" in props and "required" not in props:
            warnings.append(f"input {name} has 'require', which is ignored (did you mean 'required'?)")

    for name, props in stores.items():
        kind = (props or {}).get("type")
        if kind == "shell" and not references(props):
            from .stores.shell import ShellStore

            try:
                ShellStore(str(name), StoreContext()).from_hash(dict(props)).validate_configuration()
            except PlaybookError as exc:  # 0.6.0 never ran these checks, so the playbook still runs
                warnings.append(f"data store {name}: {exc}")
        if kind not in STORE_TYPES:
            errors.append(f"Cannot find a handler for Data Store type {kind}")
        elif kind == "consul":
            errors.append(
                f"Data store {name} uses type consul, which this implementation does not support; use nats_kv or etcd"
            )

    for lock in data.get("locks") or [] if isinstance(data.get("locks"), list) else []:
        store = str(lock).split("/", 1)[0]
        if store not in stores:
            errors.append(f"Lock {lock} refers to unknown data store {store}")
        elif (stores[store] or {}).get("type") not in ("nats_kv", "memory"):
            kind = (stores[store] or {}).get("type")
            errors.append(
                f"Lock {lock} is on data store {store} of type {kind}, which cannot lock (lock not implemented)"
            )

    from ..nodesets import source_types

    for name, spec in nodes.items():
        kind = (spec or {}).get("type") if isinstance(spec, dict) else None
        if kind not in source_types():
            errors.append(f"Cannot find a handler for Node Set type {kind} (node set {name})")

    sections: list[tuple[str, Any]] = [("tasks", data.get("tasks") or [])]
    hooks = data.get("hooks") if isinstance(data.get("hooks"), dict) else {}
    for hook, items in hooks.items():
        if hook not in HOOKS and hook != "tasks":
            errors.append(f"Unknown hook {hook}, valid hooks are {', '.join(HOOKS)}")
        sections.append((str(hook), items))
    for set_name, items in sections:
        if not isinstance(items, list):
            if set_name != "tasks" or "tasks" in data:
                errors.append(f"The {set_name} task list should be a list of tasks")
            continue
        for index, item in enumerate(items, 1):
            if not isinstance(item, dict):
                errors.append(f"Task {index} in {set_name} should be a mapping of a task type to its properties")
                continue
            for kind, props in item.items():
                props = props or {}
                where = f"{kind} task {index} in {set_name}"
                if kind not in TASK_TYPES:
                    errors.append(f"Cannot find a handler for Task type {kind}")
                    continue
                if kind == "mcollective" and isinstance(props.get("assert"), str) and not references(props["assert"]):
                    parsed = jgrep.validate_expression(props["assert"])
                    if parsed is not True:
                        errors.append(f"Could not parse the assertion {props['assert']}: {parsed} ({where})")
                if kind == "mcollective_assert":
                    warnings.append(
                        f"{where}: mcollective_assert is deprecated since 0.0.29; use mcollective with assert"
                    )
                if kind == "slack" and "message" in props and "text" not in props:
                    errors.append(
                        f"{where}: Message text is required (this playbook uses 'message', the pre-2017 name of 'text')"
                    )
                if kind == "playbook":
                    _nested(book, props, where, errors)
                if kind == "data" and props.get("key"):
                    _path(props["key"], stores, where, errors)
                if props.get("fail_ok") and int(props.get("tries", 1) or 1) > 1:
                    warnings.append(f"{where}: fail_ok has no effect when tries > 1 (0.6.0 behaviour)")

    for kind, item in references({k: v for k, v in data.items() if k not in ("inputs", "macros")}):
        if kind in ("input", "inputs") and item not in inputs:
            errors.append(f"Template refers to unknown input {item}")
        elif kind == "nodes" and item not in nodes:
            errors.append(f"Template refers to unknown node set {item}")
        elif kind == "metadata" and item not in METADATA_KEYS:
            errors.append(f"Template refers to unknown playbook metadata {item}")
    return list(dict.fromkeys(errors)), list(dict.fromkeys(warnings))


def _path(path: Any, stores: dict[str, Any], where: str, errors: list[str]) -> None:
    if isinstance(path, str) and "{{" in path:
        return
    try:
        store, _key = parse_path(path)
    except PlaybookError as exc:
        errors.append(f"{exc} ({where})")
        return
    if store not in stores:
        errors.append(f"Unknown data store {store} ({where})")


def _nested(book: Playbook, props: dict[str, Any], where: str, errors: list[str]) -> None:
    """A ``playbook`` task names a file that exists (relative to this playbook), unless templated."""
    path = props.get("playbook")
    if not path or not isinstance(path, str):
        errors.append(f"{where}: A playbook to run is required")
    elif not references(path):
        base = book.source.parent if book.source is not None else Path.cwd()
        if not (base / Path(path).expanduser()).is_file():
            errors.append(f"{where}: playbook {path} does not exist")
    if "inputs" in props and not isinstance(props["inputs"], dict):
        errors.append(f"{where}: The inputs of a playbook task should be a hash of input names to values")
