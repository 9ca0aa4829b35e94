"""``playbook validate``: everything that can be checked without running (§1.1 plus load-time checks).

Upstream finds unknown task, node-set and store types only when a run prepares them; this check
finds them up front, together with invalid input types, bad ``assert`` expressions, locks on
unknown stores and templates that name unknown inputs, node sets or metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..nodesets import source_types
from . import jgrep
from .errors import PlaybookError
from .inputs import cli_type
from .playbook import METADATA_KEYS, Playbook
from .runner import HOOKS
from .stores import STORE_TYPES, StoreContext, parse_path
from .stores.shell import ShellStore
from .tasks import TASK_TYPES
from .templates import references


@dataclass
class Findings:
    """What ``validate`` reports, collected by one check per part of the playbook."""

    book: Playbook
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def section(self, key: str) -> dict[str, Any]:
        value = self.book.data.get(key)
        return value if isinstance(value, dict) else {}


def lint(book: Playbook) -> tuple[list[str], list[str]]:
    """``(errors, warnings)`` for a loaded playbook: §1.1, then inputs, stores, locks, node sets, tasks, templates."""
    found = Findings(book, errors=list(book.problems()))
    for check in (check_inputs, check_stores, check_locks, check_node_sets, check_tasks, check_templates):
        check(found)
    return list(dict.fromkeys(found.errors)), list(dict.fromkeys(found.warnings))


def check_inputs(found: Findings) -> None:
    """Input types (as the CLI builds options from them), data paths, the ``require`` typo."""
    stores = found.section("data_stores")
    for name, props in found.section("inputs").items():
        props = props or {}
        if not props.get("dynamic"):
            try:
                cli_type(props.get("type"), str(name))
            except PlaybookError as exc:
                found.errors.append(str(exc))
        if "data" in props:
            _path(props["data"], stores, f"input {name}", found.errors)
        if "require" in props and "required" not in props:
            found.warnings.append(f"input {name} has 'require', which is ignored (did you mean 'required'?)")


def check_stores(found: Findings) -> None:
    """Store types, and the shell store's own checks (which 0.6.0 never ran: warnings only)."""
    for name, props in found.section("data_stores").items():
        kind = (props or {}).get("type")
        if kind == "shell" and not references(props):
            try:
                ShellStore(str(name), StoreContext()).from_hash(dict(props)).validate_configuration()
            except PlaybookError as exc:  # 0.6.0 never ran these checks, so the playbook still runs
                found.warnings.append(f"data store {name}: {exc}")
        if kind not in STORE_TYPES:
            found.errors.append(f"Cannot find a handler for Data Store type {kind}")
        elif kind == "consul":
            found.errors.append(
                f"Data store {name} uses type consul, which this implementation does not support; use nats_kv or etcd"
            )


def check_locks(found: Findings) -> None:
    """Locks name a store that exists and can lock."""
    stores = found.section("data_stores")
    locks = found.book.data.get("locks")
    for lock in locks if isinstance(locks, list) else []:
        store = str(lock).split("/", 1)[0]
        if store not in stores:
            found.errors.append(f"Lock {lock} refers to unknown data store {store}")
        elif (stores[store] or {}).get("type") not in ("nats_kv", "memory"):
            kind = (stores[store] or {}).get("type")
            found.errors.append(
                f"Lock {lock} is on data store {store} of type {kind}, which cannot lock (lock not implemented)"
            )


def check_node_sets(found: Findings) -> None:
    for name, spec in found.section("nodes").items():
        kind = (spec or {}).get("type") if isinstance(spec, dict) else None
        if kind not in source_types():
            found.errors.append(f"Cannot find a handler for Node Set type {kind} (node set {name})")


def task_sections(found: Findings) -> list[tuple[str, Any]]:
    """``(set name, task list)`` for the main list and every hook; unknown hooks are errors."""
    sections: list[tuple[str, Any]] = [("tasks", found.book.data.get("tasks") or [])]
    for hook, items in found.section("hooks").items():
        if hook not in HOOKS and hook != "tasks":
            found.errors.append(f"Unknown hook {hook}, valid hooks are {', '.join(HOOKS)}")
        sections.append((str(hook), items))
    return sections


def check_tasks(found: Findings) -> None:
    """Every task list is a list of ``{type: properties}``, and each task passes :func:`check_task`."""
    for set_name, items in task_sections(found):
        if not isinstance(items, list):
            if set_name != "tasks" or "tasks" in found.book.data:
                found.errors.append(f"The {set_name} task list should be a list of tasks")
            continue
        for index, item in enumerate(items, 1):
            if not isinstance(item, dict):
                found.errors.append(f"Task {index} in {set_name} should be a mapping of a task type to its properties")
                continue
            for kind, props in item.items():
                check_task(found, str(kind), props or {}, f"{kind} task {index} in {set_name}")


def check_task(found: Findings, kind: str, props: dict[str, Any], where: str) -> None:
    """What can be known about one task before it runs: its type, assert, deprecated forms, paths."""
    errors, warnings = found.errors, found.warnings
    if kind not in TASK_TYPES:
        errors.append(f"Cannot find a handler for Task type {kind}")
        return
    if kind == "mcollective" and isinstance(props.get("assert"), str) and not references(props["assert"]):
        parsed = jgrep.validate_expression(props["assert"])
        if parsed is not True:
            errors.append(f"Could not parse the assertion {props['assert']}: {parsed} ({where})")
    if kind == "mcollective_assert":
        warnings.append(f"{where}: mcollective_assert is deprecated since 0.0.29; use mcollective with assert")
    if kind == "slack" and "message" in props and "text" not in props:
        errors.append(f"{where}: Message text is required (this playbook uses 'message', the pre-2017 name of 'text')")
    if kind == "playbook":
        _nested(found.book, props, where, errors)
    if kind == "data" and props.get("key"):
        _path(props["key"], found.section("data_stores"), where, errors)
    if props.get("fail_ok") and int(props.get("tries", 1) or 1) > 1:
        warnings.append(f"{where}: fail_ok has no effect when tries > 1 (0.6.0 behaviour)")


def check_templates(found: Findings) -> None:
    """Templates name inputs, node sets and metadata that exist."""
    inputs, nodes = found.section("inputs"), found.section("nodes")
    data = found.book.data
    for kind, item in references({k: v for k, v in data.items() if k not in ("inputs", "macros")}):
        if kind in ("input", "inputs") and item not in inputs:
            found.errors.append(f"Template refers to unknown input {item}")
        elif kind == "nodes" and item not in nodes:
            found.errors.append(f"Template refers to unknown node set {item}")
        elif kind == "metadata" and item not in METADATA_KEYS:
            found.errors.append(f"Template refers to unknown playbook metadata {item}")


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
