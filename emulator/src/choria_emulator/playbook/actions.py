"""What the Ansible action plugins do, kept here so the plugins stay thin adapters.

``chorialab.choria.rpc`` (:func:`rpc`), ``chorialab.choria.discover`` (:func:`discover`),
``chorialab.choria.choria_playbook`` (:func:`run_playbook`) and the data-store plugins
``chorialab.choria.playbook_data`` (:func:`data`, :func:`read_input`) take the plugins'
validated parameters and return the task result. Each reuses the playbook engine's own classes,
so a converted playbook and a native run share one implementation of every semantic.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable

from ..client import ClientConfig
from .errors import PlaybookError, describe
from .logger import LoggingBridge, PlaybookLogger
from .runtime import RunOptions, Services
from .stores import DataStores, StoreContext
from .tasks.mcollective import McollectiveTask
from .tasks.mcollective_assert import McollectiveAssertTask
from .yamlload import plain

CONNECTION_KEYS = ("servers", "tls", "tls_verify", "tls_ca", "tls_cert", "tls_key", "credentials", "config_file")
FILTER_KEYS = {
    "identities": "identities",
    "agents": "agents",
    "facts": "facts",
    "classes": "classes",
    "compound": "compound",
}


class ActionError(Exception):
    """The task fails with this one-line message."""


def client_config(params: dict[str, Any]) -> ClientConfig:
    """The Choria connection from the connection options (doc fragment ``chorialab.choria.connection``)."""
    servers = params.get("servers") or None
    config = ClientConfig.load(
        servers=list(servers) if servers else None,
        config_file=params.get("config_file"),
        search_default_files=bool(params.get("config_file")),
        tls=True if params.get("tls") else None,
        tls_verify=params.get("tls_verify") if params.get("tls") else None,
        tls_ca=params.get("tls_ca"),
        tls_cert=params.get("tls_cert"),
        tls_key=params.get("tls_key"),
        credentials=params.get("credentials"),
    )
    return config


class _Host:
    """The little of a playbook that one task needs when it runs on its own from Ansible."""

    def __init__(self, options: RunOptions, name: str = "ansible"):
        self.log = PlaybookLogger(lambda: name, options.loglevel or "info", None)
        self.services = Services(options)
        self.data_stores = DataStores(StoreContext(log=self.log, loop=self.services.loop))
        self._name = name

    @property
    def name(self) -> str:
        return self._name


# -- discovery ------------------------------------------------------------------------------
def _node_set_spec(params: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "mcollective", "empty_ok": True}
    for key, option in FILTER_KEYS.items():
        if params.get(key):
            spec[option] = params[key]
    for key in ("collective", "discovery_method"):
        if params.get(key):
            spec[key] = params[key]
    return spec


def _resolve(
    specs: dict[str, Any], uses: dict[str, str], config: ClientConfig, params: dict[str, Any], log: Any
) -> dict[str, Any]:
    from ..nodesets import NodeSetContext, NodeSetError, PuppetDBConfig, PuppetDBError, resolve_node_sets

    try:
        puppetdb = PuppetDBConfig.from_options(params.get("puppetdb"), config)
        context = NodeSetContext(
            client=config, puppetdb=puppetdb, uses=dict(uses), log=log, rpc_timeout=float(params.get("timeout") or 10)
        )
        if params.get("discovery_timeout"):
            context.discovery_timeout = float(params["discovery_timeout"])
        return resolve_node_sets(plain(specs), context)
    except (NodeSetError, PuppetDBError) as exc:
        raise ActionError(str(exc)) from None


def discover(params: dict[str, Any]) -> dict[str, Any]:
    """Filters -> one node list, or Choria node sets (with ``test``/``uses``) -> lists per set.

    ``uses`` (agent -> SemVer range) is checked against local DDLs first, as a playbook does
    before discovery, then against the nodes of every set that lists the agent.
    """
    params = plain(params)
    config = client_config(params)
    lines: list[str] = []
    log = _lines(lines)
    uses = {str(k): str(v) for k, v in (params.get("uses") or {}).items()}
    if uses:
        from .uses import Uses

        checker = Uses(None, params.get("ddl_path") or [])
        checker.from_hash(uses)
        try:
            checker.prepare()
        except PlaybookError as exc:
            raise ActionError(str(exc)) from None
    node_sets = params.get("node_sets")
    if node_sets:
        resolved = _resolve(node_sets, uses, config, params, log)
        return {
            "changed": False,
            "node_sets": {name: list(found.nodes) for name, found in resolved.items()},
            "nodes": list(dict.fromkeys(n for found in resolved.values() for n in found.nodes)),
            "hostvars": {n: v for found in resolved.values() for n, v in found.hostvars.items()},
            "log": lines,
        }
    if uses and not any(params.get(key) for key in FILTER_KEYS):
        return {
            "changed": False,
            "nodes": [],
            "node_sets": {},
            "msg": f"Local DDLs match {', '.join(uses)}",
            "log": lines,
        }
    resolved = _resolve({"discovered": _node_set_spec(params)}, {}, config, params, log)
    nodes = list(resolved["discovered"].nodes)
    return {"changed": False, "nodes": nodes, "count": len(nodes), "log": lines}


def _lines(lines: list[str]) -> LoggingBridge:
    """Node-set resolution logs kept as ``level: msg`` lines for the task result (debug left out)."""
    return LoggingBridge(lambda level, msg: None if level == "debug" else lines.append(f"{level}: {msg}"))


# -- rpc ------------------------------------------------------------------------------------
def rpc(
    params: dict[str, Any], check_mode: bool = False, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """One Choria RPC as the playbook ``mcollective`` task does it, with tries/try_sleep/assert.

    Targets: ``nodes`` (directed, no discovery), else a ``node_set`` spec, else the filters
    (discovery with the agent added, as ``choria req`` does). Check mode discovers only.
    """
    params = plain(params)
    config = client_config(params)
    agent, action = params["agent"], params["action"]
    nodes = params.get("nodes")
    if nodes is None:
        spec = dict(params.get("node_set") or _node_set_spec(params))
        if not params.get("node_set"):
            spec["agents"] = list(dict.fromkeys([agent, *(spec.get("agents") or [])]))
        nodes = list(_resolve({"targets": spec}, {}, config, params, _lines([]))["targets"].nodes)
    nodes = [str(n) for n in nodes]
    result: dict[str, Any] = {"changed": False, "agent": agent, "action": action, "nodes": nodes}
    if check_mode:
        result.update(msg=f"Would call {agent}#{action} on {len(nodes)} node(s)", skipped_rpc=True)
        return result
    options = RunOptions(
        client=config, rpc_timeout=float(params.get("timeout") or 10), collective=params.get("collective"), sleep=sleep
    )
    host = _Host(options)
    description = params.get("description") or f"{agent}#{action}"
    properties = {
        "action": f"{agent}.{action}",
        "nodes": nodes,
        "properties": params.get("arguments") or {},
        "batch_size": params.get("batch_size"),
        "batch_sleep_time": params.get("batch_sleep_time"),
        "silent": params.get("silent", False),
        "post": ["summarize"] if params.get("summarize") else [],
        "assert": params.get("assert"),
        "expression": params.get("expression"),
    }
    task: McollectiveTask | McollectiveAssertTask = (
        McollectiveAssertTask(host) if params.get("expression") else McollectiveTask(host)
    )
    task.description = description
    tries, try_sleep = (
        int(params.get("tries") or 1),
        float(params.get("try_sleep") if params.get("try_sleep") is not None else 10),
    )
    started = time.monotonic()
    try:
        if params.get("pre_sleep"):
            sleep(float(params["pre_sleep"]))
        outcome: tuple[bool, str, list[Any]] = (False, "not run", [])
        attempts = 0
        for attempt in range(1, tries + 1):
            attempts = attempt
            task.from_hash(properties)
            try:
                task.validate_configuration()
            except PlaybookError as exc:
                raise ActionError(str(exc)) from None
            outcome = task.run()
            if outcome[0]:
                break
            if attempt < tries:
                host.log.warn(f"Task failed on try {attempt}/{tries}, sleeping {try_sleep:g}s: {outcome[1]}")
                sleep(try_sleep)
    finally:
        host.services.close()
    success, msg, replies = outcome
    rpc_task = task if isinstance(task, McollectiveTask) else None
    stats = getattr(getattr(rpc_task, "_last", None), "stats", None)
    result.update(
        changed=bool(success) and agent not in READ_ONLY_AGENTS,
        success=bool(success),
        msg=msg,
        description=description,
        data=replies,
        replies=replies,
        results=task.to_execution_result(outcome) if isinstance(task, McollectiveTask) else {},
        requestid=replies[0]["requestid"]
        if replies and isinstance(replies[0], dict) and "requestid" in replies[0]
        else None,
        attempts=attempts,
        runtime=round(time.monotonic() - started, 2),
        log=[f"{e.level}: {e.msg}" for e in host.log.entries],
    )
    if stats is not None:
        result["summary"] = {
            "discovered": stats.discovered,
            "responded": stats.responded,
            "ok": stats.ok,
            "failed": stats.failed,
            "noresponses": stats.noresponses,
            "request_duration": round(stats.request_duration, 3),
        }
    if params.get("summarize") and isinstance(task, McollectiveTask):
        from .aggregate import summarize

        result["aggregate"] = summarize(agent, action, [r for r in replies if isinstance(r, dict)])
    if not success:
        result["failed"] = True
    return result


READ_ONLY_AGENTS = frozenset({"rpcutil", "discovery", "choria_util"})


# -- a whole playbook -----------------------------------------------------------------------
def run_playbook(params: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
    """Run a Choria YAML playbook natively; the task result carries the report (§3.4)."""
    from .lint import lint
    from .playbook import Playbook
    from .report import summary, to_jsonable

    params = plain(params)
    options = RunOptions(
        client=client_config(params),
        quiet=True,
        loglevel=params.get("loglevel"),
        slack_api=params.get("slack_api"),
        rpc_timeout=float(params.get("timeout") or 10),
        discovery_timeout=params.get("discovery_timeout"),
        extra={"ddl_path": params.get("ddl_path") or []},
    )
    try:
        book = Playbook.load(params["playbook"], options)
    except PlaybookError as exc:
        raise ActionError(str(exc)) from None
    if check_mode:
        errors, warnings = lint(book)
        if errors:
            raise ActionError("Playbook is not in a valid format: " + "; ".join(errors))
        return {
            "changed": False,
            "msg": f"Playbook {book.name} is valid (check mode does not run it)",
            "warnings_found": warnings,
            "playbook": book.describe(),
        }
    from .errors import PlaybookInvalid

    try:
        report = book.run(plain(params.get("inputs") or {}))
    except PlaybookInvalid as exc:
        raise ActionError("Playbook is not in a valid format: " + "; ".join(exc.problems)) from None
    report = to_jsonable(report)
    success = bool(report["report"]["success"])
    result: dict[str, Any] = {
        "changed": bool(report["tasks"]),
        "success": success,
        "report": report,
        "msg": report["report"]["playbook_error"] or summary(report).splitlines()[2],
    }
    if not success:
        result["failed"] = True
    return result


# -- data stores ----------------------------------------------------------------------------
def _stores(params: dict[str, Any]) -> tuple[DataStores, Services]:
    services = Services(RunOptions(quiet=True))
    context = StoreContext(
        playbook=str(params.get("playbook") or "playbook"),
        loop=services.loop,
        owner=str(params.get("owner") or uuid.uuid4()),
    )
    if params.get("servers"):
        context.nats_servers = list(params["servers"])
    stores = DataStores(context).from_hash(plain(params.get("stores") or {}))
    return stores, services


def data(params: dict[str, Any]) -> dict[str, Any]:
    """``op``: ``write``/``delete`` a ``path``, ``lock``/``release`` it (owned by ``owner``), ``prepare`` the stores."""
    params = plain(params)
    op, path = params["op"], params.get("path")
    stores, services = _stores(params)
    try:
        stores.prepare()
        if op == "prepare":
            return {"changed": False, "msg": f"Prepared data stores {', '.join(stores.keys())}"}
        if not path:
            raise ActionError(f"op {op} needs a path")
        if op == "write":
            stores.write(path, plain(params.get("value")))
            return {"changed": True, "msg": f"Wrote value to {path}", "value": params.get("value")}
        if op == "delete":
            stores.delete(path)
            return {"changed": True, "msg": f"Deleted data item {path}"}
        if op == "read":
            return {"changed": False, "value": stores.read(path)}
        if op == "lock":
            stores.lock(path)
            return {"changed": True, "msg": f"Obtained lock {path}"}
        if op == "release":
            stores.release(path)
            return {"changed": True, "msg": f"Released lock {path}"}
        raise ActionError(f"unknown op {op}")
    except PlaybookError as exc:
        verb = {"write": "perform write on data", "delete": "perform delete on data"}.get(op)
        raise ActionError(f"Could not {verb} {path}: {describe(exc)}" if verb else str(exc)) from None
    finally:
        stores.close()
        services.close()


def read_input(path: str, params: dict[str, Any]) -> Any:
    """A data-bound input's value as the engine resolves it: the store value if it validates,
    else the ``default`` (when there is one), else ``Could not resolve ...``."""
    from .inputs import Inputs

    path, params = plain(path), plain(params)
    stores, services = _stores(params)
    name = str(params.get("input") or path)
    props: dict[str, Any] = {"data": path, "required": False}
    for key in ("validation", "default"):
        if key in params and params[key] is not None:
            props[key] = params[key]
    try:
        stores.prepare()
        inputs = Inputs(stores).from_hash({name: props})
        return inputs.lookup_from_datastore(name)
    finally:
        stores.close()
        services.close()
