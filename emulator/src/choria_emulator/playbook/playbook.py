"""A Choria YAML playbook: load, validate, prepare and run it as mcollective-choria 0.6.0 did (§1-§3).

    book = Playbook.load("upgrade.yaml", RunOptions(client=ClientConfig.load(servers=[...])))
    report = book.run({"cluster": "alpha"})
    report["report"]["success"]

``run`` follows §3.2 to the letter: validation errors raise :class:`PlaybookInvalid` (no
report); anything failing while preparing or running (a template, a task's configuration) ends
the run with a failed report whose ``playbook_error`` says why, ``on_fail``/``post_book`` not run
and locks not released (0.6.0 behaviour; leased ``nats_kv`` locks then expire).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from .errors import PlaybookError, PlaybookInvalid, TemplateError, describe
from .inputs import Inputs
from .logger import LEVELS, LoggingBridge, PlaybookLogger
from .report import Report
from .result import TaskResult
from .runner import TaskSets
from .runtime import RunOptions, Services
from .stores import DataStores, StoreContext, lock_path
from .templates import render
from .uses import Uses
from .yamlload import load_yaml_file, plain

METADATA_KEYS = ("name", "version", "author", "description", "tags", "on_fail", "loglevel", "run_as")
SECTION_KEYS = ("uses", "inputs", "locks", "data_stores", "nodes", "tasks", "hooks", "macros", "$schema")
CALLERID = re.compile(r"^[\w]+=[\w\.\-]+$")
DEFAULT_RUN_AS = "choria=deployer"


class Playbook:
    def __init__(self, options: RunOptions | None = None):
        self.options = options or RunOptions()
        self.metadata: dict[str, Any] = {
            "name": None,
            "version": None,
            "author": None,
            "description": None,
            "tags": [],
            "on_fail": "fail",
            "loglevel": "info",
            "run_as": DEFAULT_RUN_AS,
        }
        self.data: dict[str, Any] = {}
        self.source: Path | None = None
        self.log = PlaybookLogger(
            lambda: self.metadata.get("name"), self.options.loglevel or "info", self.options.console()
        )
        self.report = Report(self)
        self.services = Services(self.options)
        self.store_context = StoreContext(
            log=self.log, loop=self.services.loop, owner=self.options.owner or StoreContext().owner
        )
        self.data_stores = DataStores(self.store_context)
        self.inputs = Inputs(self.data_stores, self.log)
        self.uses = Uses(self.log, self.options.extra.get("ddl_path"))
        self.tasks = TaskSets(self)
        self.nodes: dict[str, list[str]] = {}
        self.input_data: dict[str, Any] = {}

    # -- loading --------------------------------------------------------------------------
    @classmethod
    def load(cls, source: str | Path | dict[str, Any], options: RunOptions | None = None) -> Playbook:
        """A playbook from a file or a mapping; YAML errors and non-mappings are one-line errors."""
        book = cls(options)
        if isinstance(source, dict):
            return book.from_hash(source)
        book.source = Path(source)
        return book.from_hash(read_playbook_file(source))

    def from_hash(self, data: dict[str, Any]) -> Playbook:
        with self.log.in_context("loading"):
            self.data = data
            self.metadata = {
                "name": data.get("name"),
                "version": data.get("version"),
                "author": data.get("author"),
                "description": data.get("description"),
                "tags": data.get("tags", []),
                "on_fail": data.get("on_fail", "fail"),
                "loglevel": data.get("loglevel", "info"),
                "run_as": data.get("run_as", DEFAULT_RUN_AS),
            }
        level = self.options.loglevel or self.metadata["loglevel"]
        self.log.level = level if level in LEVELS else "info"
        with self.log.in_context("inputs"):
            inputs = data.get("inputs") or {}
            if isinstance(inputs, dict):
                self.inputs.from_hash(inputs)
        return self

    @property
    def name(self) -> str:
        return str(self.metadata_item("name"))

    # -- validation -----------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Every ``validate_configuration!`` message, in the order of §1.1."""
        found = []
        invalid = [str(k) for k in self.data if k not in METADATA_KEYS + SECTION_KEYS]
        if invalid:
            found.append(f"Invalid playbook data items {', '.join(invalid)} found")
        for item in ("name", "version", "author", "description"):
            if not self.metadata[item]:
                found.append(f"A playbook {item} is needed")
        if self.metadata["loglevel"] not in LEVELS:
            found.append(f"Invalid log level {self.metadata['loglevel']}, valid levels are {', '.join(LEVELS)}")
        if not isinstance(self.metadata["run_as"], str) or not CALLERID.match(self.metadata["run_as"]):
            found.append(f"Invalid callerid {self.metadata['run_as']}")
        for key in ("uses", "nodes", "hooks", "data_stores", "inputs"):
            if key in self.data and not isinstance(self.data[key], dict):
                found.append(f"{key} should be a hash")
        for key in ("locks", "tasks"):
            if key in self.data and not isinstance(self.data[key], list):
                found.append(f"{key} should be a array")
        return found

    def validate_configuration(self) -> None:
        with self.log.in_context("validation"):
            problems = self.problems()
            for problem in problems:
                self.log.error(problem)
            if problems:
                raise PlaybookInvalid(problems)

    # -- running --------------------------------------------------------------------------
    def run(self, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run the playbook with ``inputs``; returns the report (§3.4)."""
        self.validate_configuration()
        success = False
        try:
            start = self.report.start()
            self.input_data = dict(inputs or {})
            with self.log.in_context("pre"):
                self.log.info(f"Starting playbook {self.name} at {start.isoformat()}")
            self.prepare()
            with self.log.in_context("run"):
                success = self.tasks.run()
            with self.log.in_context("post"):
                self.log.info(f"Done running playbook {self.name} in {_human(int(self.report.elapsed_time()))}")
            self.release_playbook_locks()
        except Exception as exc:  # §3.2: any error ends the run with a failed report naming it
            msg = f"Playbook {self.name} failed: {describe(exc)}"
            self.log.error(msg)
            self.report.finalize(False, msg)
        finally:
            self.data_stores.close()
            self.services.close()
        return self.report.finalize(success)

    def prepare(self) -> None:
        with self.log.in_context("prep.inputs"):
            self.inputs.prepare(self.input_data)
        with self.log.in_context("pre.stores"):
            self.store_context.playbook = self.name
            self.store_context.nats_servers = list(self.services.client_config.servers) if self._needs_nats() else []
            self.data_stores.from_hash(self.template(self.data.get("data_stores") or {}))
            self.data_stores.prepare()
        self.inputs.save_input_data()
        with self.log.in_context("prep.locks"):
            self.obtain_playbook_locks()
        with self.log.in_context("prep.uses"):
            self.uses.from_hash(self.template(self.data.get("uses") or {}))
            self.uses.prepare()
        with self.log.in_context("prep.nodes"):
            self.prepare_nodes()
        with self.log.in_context("prep.tasks"):
            self.tasks.from_hash(self.data.get("tasks") or [])
            self.tasks.from_hash(self.data.get("hooks") or {})

    def _needs_nats(self) -> bool:
        stores = self.data.get("data_stores") or {}
        return any(
            isinstance(s, dict) and s.get("type") == "nats_kv" and not (s.get("servers") or s.get("url"))
            for s in stores.values()
        )

    def prepare_nodes(self) -> None:
        specs = self.template(self.data.get("nodes") or {})
        if not specs:
            return
        from ..nodesets import NodeSetContext, NodeSetError, PuppetDBConfig, PuppetDBError, resolve_node_sets

        try:
            puppetdb = self.options.puppetdb or PuppetDBConfig.from_options(None, self.services.client_config)
        except PuppetDBError as exc:
            raise PlaybookError(str(exc)) from None
        context = NodeSetContext(
            client=self.services.client_config,
            puppetdb=puppetdb,
            uses=dict(self.uses.uses),
            log=LoggingBridge(self.log.log),  # type: ignore[arg-type]  # playbook code: lines are not demoted
            rpc_timeout=self.options.rpc_timeout,
        )
        if self.options.discovery_timeout is not None:
            context.discovery_timeout = self.options.discovery_timeout
        self.nodes = {str(name): [] for name in specs}  # every set, filled as discovery goes (the report's nodes)
        try:
            resolved = resolve_node_sets(plain(specs), context)
        except NodeSetError as exc:
            self.nodes.update(exc.discovered)
            raise PlaybookError(str(exc)) from None
        self.nodes = {name: list(found.nodes) for name, found in resolved.items()}

    def lock_paths(self) -> list[str]:
        return [lock_path(str(lock), self.name) for lock in (self.data.get("locks") or [])]

    def obtain_playbook_locks(self) -> None:
        for path in self.lock_paths():
            self.log.info(f"Obtaining playbook lock {path}")
            self.data_stores.lock(path)

    def release_playbook_locks(self) -> None:
        for path in self.lock_paths():
            self.log.info(f"Releasing playbook lock {path}")
            try:
                self.data_stores.release(path)
            except PlaybookError as exc:
                self.log.debug(f"Releasing lock {path} failed: {exc}")
                self.log.warn(f"Lock {path} could not be released, ignoring")

    # -- what templates see ---------------------------------------------------------------
    def template(self, data: Any) -> Any:
        return render(data, self)

    def input_value(self, name: str) -> Any:
        return self.inputs[name]

    def discovered_nodes(self, name: str) -> list[str]:
        if name not in self.nodes:
            raise TemplateError(f"Unknown node set {name}")
        return list(self.nodes[name])

    def metadata_item(self, item: str) -> Any:
        if item not in self.metadata:
            raise PlaybookError(f"Unknown playbook metadata {item}")
        return self.metadata[item]

    def elapsed_time(self) -> float:
        return self.report.elapsed_time()

    # -- nested playbooks (the ``playbook`` task) ------------------------------------------
    def run_nested(self, path: str, inputs: dict[str, Any] | None) -> dict[str, Any]:
        """Run the playbook at ``path`` (relative to this one) with ``inputs``, or this run's input
        values when None; returns its report. A playbook already running in this chain is refused."""
        base = self.source.parent if self.source is not None else Path.cwd()
        target = (base / Path(path).expanduser()).resolve()
        chain = self.options.chain or ((str(self.source.resolve()),) if self.source is not None else ())
        if str(target) in chain:
            raise PlaybookError(f"Playbook {target} is already running ({' -> '.join((*chain, str(target)))})")
        options = replace(self.options, client=self.services.client_config, chain=(*chain, str(target)))
        child = Playbook.load(target, options)
        values = self.inputs.static_values() if inputs is None else inputs
        self.log.info(f"Running playbook {target} with inputs {', '.join(sorted(values)) or 'none'}")
        try:
            return child.run(values)
        except PlaybookInvalid as exc:
            raise PlaybookError(f"Playbook {target} is not in a valid format: {'; '.join(exc.problems)}") from None

    @property
    def task_results(self) -> list[TaskResult]:
        return self.tasks.results

    def previous_task(self, item: str) -> Any:
        last = self.task_results[-1] if self.task_results else None
        if item == "success":
            return bool(last.success) if last and last.ran else False
        if item in ("msg", "message"):
            if last is None:
                return "No previous task were found"
            return last.msg if last.ran else "Previous task did not run"
        if item == "data":
            return (last.data or []) if last and last.ran else []
        if item == "description":
            return last.runner.description if last else "No previous task were found"
        if item == "runtime":
            return round(last.run_time, 2) if last and last.ran else 0
        raise PlaybookError(f"Cannot retrieve {item} for the last task outcome")

    # -- summaries for the CLI and Ansible -----------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Inputs, node sets, stores, locks and tasks as plain data (``playbook show``)."""
        inputs = {}
        for name in self.inputs.keys():
            props = plain(self.inputs.properties(name))
            inputs[name] = {
                k: props.get(k)
                for k in ("description", "type", "required", "default", "validation", "data", "save", "dynamic")
                if k in props
            }
        tasks: dict[str, list[dict[str, Any]]] = {}
        sections = [("tasks", self.data.get("tasks") or [])] + list((self.data.get("hooks") or {}).items())
        for set_name, items in sections:
            for item in items or []:
                for kind, props in (item or {}).items():
                    props = props or {}
                    tasks.setdefault(str(set_name), []).append(
                        {
                            "type": kind,
                            "description": props.get("description", f"{kind} task"),
                            "properties": plain({k: v for k, v in props.items() if k != "description"}),
                        }
                    )
        return {
            "metadata": plain(self.metadata),
            "uses": plain(self.data.get("uses") or {}),
            "inputs": inputs,
            "data_stores": plain(self.data.get("data_stores") or {}),
            "locks": self.lock_paths() if self.metadata.get("name") else plain(self.data.get("locks") or []),
            "nodes": plain(self.data.get("nodes") or {}),
            "tasks": tasks,
        }


def read_playbook_file(source: str | Path) -> dict[str, Any]:
    """The mapping in a playbook file, or one clear :class:`PlaybookError`."""
    import yaml

    path = Path(source)
    try:
        data = load_yaml_file(path)
    except OSError as exc:
        raise PlaybookError(f"Cannot read playbook {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PlaybookError(f"Playbook {path} is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        found = type(data).__name__ if data is not None else "an empty file"
        raise PlaybookError(f"Playbook {path} should be a YAML mapping, got {found}")
    return data


def _human(seconds: int) -> str:
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days > 1:
        return f"{days} days {hours} hours {minutes} minutes {seconds:02d} seconds"
    if days == 1:
        return f"{days} day {hours} hours {minutes} minutes {seconds:02d} seconds"
    if hours > 0:
        return f"{hours} hours {minutes} minutes {seconds:02d} seconds"
    if minutes > 0:
        return f"{minutes} minutes {seconds:02d} seconds"
    return f"{seconds:02d} seconds"


__all__ = ["Playbook", "RunOptions"]
