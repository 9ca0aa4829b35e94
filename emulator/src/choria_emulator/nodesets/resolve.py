"""Resolving node sets as a Choria playbook does (upstream ``Playbook::Nodes#prepare``, playbooks.md §1.7).

Per set: discover, drop duplicates keeping order, ``when_empty``, ``limit``, ``at_least`` (after
``limit``), all waived by ``empty_ok``. Then, across sets: one ``rpcutil#ping`` of every node of
the ``test: true`` sets, and the ``uses`` check of agent versions via ``rpcutil#agent_inventory``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..client import ChoriaClient, rpc
from ..client.rpc import RPCResult
from ..semver import SemVerError
from ..semver.puppet import VersionRange, agent_version
from .context import CLIENT_ERRORS, NodeSetContext, ResolvedNodeSet
from .errors import NodeSetError, Options
from .sources import Source, build_source

MAX_LISTED = 20  # nodes named in one error line


def _settings(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    opts = Options(name, spec)
    empty_ok = opts.boolean("empty_ok")
    when_empty = opts.string("when_empty")
    return {
        "empty_ok": empty_ok,
        "at_least": 0 if empty_ok else opts.integer("at_least", 1),
        "limit": opts.integer("limit"),
        "when_empty": when_empty if when_empty is not None else f"Did not discover any nodes for nodeset {name}",
        "test": opts.boolean("test"),
        "uses": opts.strings("uses"),
    }


def _resolve(source: Source, ctx: NodeSetContext) -> ResolvedNodeSet:
    name = source.name
    settings = _settings(name, source.opts.spec)
    found = source.discover()
    nodes = list(dict.fromkeys(found.nodes))
    if not nodes and not settings["empty_ok"]:
        raise NodeSetError(settings["when_empty"], name)
    limit = settings["limit"]
    if nodes and limit:  # upstream: limit 0 (or unset) keeps every node
        ctx.log.debug("Limiting node set %s to %d nodes from %d", name, limit, len(nodes))
        nodes = nodes[:limit]
    if not settings["empty_ok"] and len(nodes) < settings["at_least"]:
        error = NodeSetError(f"Node set {name} needs at least {settings['at_least']} nodes, got {len(nodes)}", name)
        error.discovered[name] = nodes
        raise error
    ctx.log.info("Discovered %d node(s) in node set %s", len(nodes), name)
    hostvars = {n: found.hostvars[n] for n in nodes if n in found.hostvars}
    return ResolvedNodeSet(name, nodes, hostvars, source.type, found.collective)


def resolve_node_set(name: str, spec: Mapping[str, Any], ctx: NodeSetContext) -> ResolvedNodeSet:
    """Validate and resolve one node set (no connectivity test or ``uses`` check)."""
    source = build_source(name, spec, ctx)
    _settings(name, spec)  # option errors before any discovery
    return _resolve(source, ctx)


def resolve_node_sets(specs: Mapping[str, Mapping[str, Any]], ctx: NodeSetContext) -> dict[str, ResolvedNodeSet]:
    """Every set in declaration order, then one connectivity test and the ``uses`` network check."""
    if not isinstance(specs, Mapping):
        raise NodeSetError(f"node sets must be a mapping of name to options, got {type(specs).__name__}")
    sources = {}
    for name, spec in specs.items():  # validate everything before discovering anything, as upstream
        sources[str(name)] = build_source(str(name), spec, ctx)
        _settings(str(name), spec)
    resolved: dict[str, ResolvedNodeSet] = {}
    try:
        for name, source in sources.items():
            resolved[name] = _resolve(source, ctx)
        check_connectivity(resolved, {n: _settings(n, s.opts.spec)["test"] for n, s in sources.items()}, ctx)
        check_uses(resolved, {n: _settings(n, s.opts.spec)["uses"] for n, s in sources.items()}, ctx)
    except NodeSetError as exc:
        exc.discovered = {**{name: list(found.nodes) for name, found in resolved.items()}, **exc.discovered}
        raise
    return resolved


def _by_collective(sets: list[ResolvedNodeSet]) -> dict[str | None, list[str]]:
    """Nodes to address per collective (None: the client's main collective), de-duplicated in order."""
    groups: dict[str | None, list[str]] = {}
    for node_set in sets:
        groups.setdefault(node_set.collective, []).extend(node_set.nodes)
    return {collective: list(dict.fromkeys(nodes)) for collective, nodes in groups.items()}


def _call(ctx: NodeSetContext, agent: str, action: str, groups: dict[str | None, list[str]]) -> list[RPCResult]:
    async def call(client: ChoriaClient) -> list[RPCResult]:
        return [
            await rpc(client, agent, action, targets=nodes, collective=collective, timeout=ctx.rpc_timeout)
            for collective, nodes in groups.items()
            if nodes
        ]

    return ctx.with_client(call)


def _listed(nodes: list[str]) -> str:
    more = f" and {len(nodes) - MAX_LISTED} more" if len(nodes) > MAX_LISTED else ""
    return ", ".join(nodes[:MAX_LISTED]) + more


def check_connectivity(
    resolved: Mapping[str, ResolvedNodeSet], tested: Mapping[str, bool], ctx: NodeSetContext
) -> None:
    """One silent ``rpcutil#ping`` across the nodes of every ``test: true`` set; every node must answer OK."""
    sets = [resolved[name] for name, wanted in tested.items() if wanted and name in resolved]
    groups = _by_collective(sets)
    total = sum(len(nodes) for nodes in groups.values())
    if not total:
        return
    ctx.log.info("Checking connectivity for %d nodes", total)
    try:
        results = _call(ctx, "rpcutil", "ping", groups)
    except CLIENT_ERRORS as exc:
        raise NodeSetError(
            f"Connectivity test failed for some nodes: {exc}", reason=f"Connectivity test failed for some nodes: {exc}"
        ) from None
    missing = [node for result in results for node in result.missing]
    failed = [f"{r['sender']} ({r['statusmsg']})" for result in results for r in result.replies if r["statuscode"] != 0]
    problems = []
    if missing:
        problems.append(f"{len(missing)} of {total} node(s) did not respond: {_listed(missing)}")
    if failed:
        problems.append(f"{len(failed)} of {total} node(s) failed: {_listed(failed)}")
    if problems:
        message = f"Connectivity test failed for some nodes: {'; '.join(problems)}"
        raise NodeSetError(message, reason=message, problems=missing + failed)


def agents_by_set_uses(resolved: Mapping[str, ResolvedNodeSet], uses: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """agent -> nodes, aggregated over every set's ``uses`` list (upstream ``check_uses``)."""
    agent_nodes: dict[str, list[str]] = {}
    for name, agents in uses.items():
        for agent in agents:
            agent_nodes.setdefault(agent, []).extend(resolved[name].nodes)
    return agent_nodes


def check_uses(resolved: Mapping[str, ResolvedNodeSet], uses: Mapping[str, list[str]], ctx: NodeSetContext) -> None:
    """Every node of a set must run each agent of its ``uses`` at a version in the playbook's ``uses``."""
    agent_nodes = agents_by_set_uses(resolved, uses)
    if not agent_nodes:
        return
    ranges: dict[str, VersionRange] = {}
    for agent, text in ctx.uses.items():
        try:
            ranges[agent] = VersionRange.parse(str(text))
        except SemVerError as exc:
            raise NodeSetError(f"uses: invalid version range for agent {agent}: {exc}") from None
    groups = _by_collective([resolved[name] for name, agents in uses.items() if agents])
    try:
        results = _call(ctx, "rpcutil", "agent_inventory", groups)
    except CLIENT_ERRORS as exc:
        raise NodeSetError(f"Could not determine agent inventory: {exc}") from None
    inventory: dict[str, dict[str, str]] = {}
    for result in results:
        for reply in result.replies:
            if reply["statuscode"] == 0 and isinstance(reply["data"], dict):
                agents = reply["data"].get("agents") or []
                inventory[reply["sender"]] = {
                    a.get("agent"): str(a.get("version", "")) for a in agents if isinstance(a, dict)
                }

    problems = []
    for agent, nodes in agent_nodes.items():
        if agent not in ranges:
            problems.append(f"Agent {agent} is mentioned in node sets but not declared in the uses list")
            continue
        for node in dict.fromkeys(nodes):
            if node not in inventory:
                problems.append(f"Did not receive an inventory for node {node}")
            elif agent not in inventory[node]:
                problems.append(f"Node {node} does not have the agent {agent}")
            else:
                version = inventory[node][agent]
                if not _in_range(version, ranges[agent]):
                    problems.append(
                        f"Agent {agent} on {node} version {version} does not match desired version {ranges[agent]}"
                    )
                    continue
                ctx.log.debug(
                    "Agent %s on %s version %s matches desired version %s", agent, node, version, ranges[agent]
                )
    for problem in dict.fromkeys(problems):
        ctx.log.warning(problem)
    if problems:
        reason = "Network agents did not match specified SemVer specifications in the playbook"
        unique = list(dict.fromkeys(problems))
        listed = "; ".join(unique[:MAX_LISTED]) + (
            f"; and {len(unique) - MAX_LISTED} more" if len(unique) > MAX_LISTED else ""
        )
        raise NodeSetError(f"{reason}: {listed}", reason=reason, problems=unique)
    ctx.log.info("Agent inventory on %d nodes validated", len({n for nodes in agent_nodes.values() for n in nodes}))


def _in_range(version: str, wanted: VersionRange) -> bool:
    try:
        return wanted.include(agent_version(version))
    except SemVerError:
        return False
