"""``chorialab.choria.discover``: filters -> one node list; Choria node sets -> lists per set."""

from __future__ import annotations

from typing import Any

from ..client import ClientConfig
from ..nodesets import NodeSetContext, NodeSetError, PuppetDBConfig, PuppetDBError, resolve_node_sets
from ..nodesets.context import ResolvedNodeSet
from ..playbook.errors import PlaybookError
from ..playbook.logger import LoggingBridge
from ..playbook.uses import Uses
from ..playbook.yamlload import plain
from .errors import ActionError
from .settings import client_config

FILTER_KEYS = ("identities", "agents", "facts", "classes", "compound")


def node_set_spec(params: dict[str, Any]) -> dict[str, Any]:
    """An ``mcollective`` node set from the discovery filter options (an empty result is allowed)."""
    spec: dict[str, Any] = {"type": "mcollective", "empty_ok": True}
    for key in (*FILTER_KEYS, "collective", "discovery_method"):
        if params.get(key):
            spec[key] = params[key]
    return spec


def resolve(
    specs: dict[str, Any], uses: dict[str, str], config: ClientConfig, params: dict[str, Any], log: Any
) -> dict[str, ResolvedNodeSet]:
    """Node sets resolved as a playbook resolves them; their errors become :class:`ActionError`."""
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


def log_lines(lines: list[str]) -> LoggingBridge:
    """Node-set resolution logs kept as ``level: msg`` lines for the task result (debug left out)."""
    return LoggingBridge(lambda level, msg: None if level == "debug" else lines.append(f"{level}: {msg}"))


def check_local_uses(uses: dict[str, str], ddl_path: Any) -> None:
    """The top-level ``uses`` check against local DDLs, before discovery (as a playbook does it)."""
    checker = Uses(None, ddl_path or [])
    checker.from_hash(uses)
    try:
        checker.prepare()
    except PlaybookError as exc:
        raise ActionError(str(exc)) from None


def discover(params: dict[str, Any]) -> dict[str, Any]:
    """Filters -> one node list, or Choria node sets (with ``test``/``uses``) -> lists per set.

    ``uses`` (agent -> SemVer range) is checked against local DDLs first, as a playbook does
    before discovery, then against the nodes of every set that lists the agent.
    """
    params = plain(params)
    config = client_config(params)
    lines: list[str] = []
    uses = {str(k): str(v) for k, v in (params.get("uses") or {}).items()}
    if uses:
        check_local_uses(uses, params.get("ddl_path"))
    node_sets = params.get("node_sets")
    if node_sets:
        resolved = resolve(node_sets, uses, config, params, log_lines(lines))
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
    resolved = resolve({"discovered": node_set_spec(params)}, {}, config, params, log_lines(lines))
    nodes = list(resolved["discovered"].nodes)
    return {"changed": False, "nodes": nodes, "count": len(nodes), "log": lines}
