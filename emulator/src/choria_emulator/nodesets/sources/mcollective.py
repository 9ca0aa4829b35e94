"""``type: mcollective``: nodes found by Choria discovery (upstream ``McollectiveNodes``).

``discovery_method: mc`` (the default; ``broadcast`` too) sends one broadcast discovery over
NATS with the set's filters, like ``choria discover``. ``choria`` (or ``puppetdb``) asks PuppetDB
instead, building the same PQL as mcollective-choria's ``choria`` discovery plugin: identities
OR'd, then classes, facts and agents AND'd. A ``compound`` filter always uses broadcast, as the
Choria documentation says.
"""

from __future__ import annotations

import re
from typing import Any

from ...client import ChoriaClient, discover
from ...protocol import FactFilter, Filter, ProtocolError
from ...protocol.matching import is_regex
from ..context import CLIENT_ERRORS, Discovered
from .base import Source
from .pql import query_nodes

BROADCAST_METHODS = ("mc", "broadcast")
PUPPETDB_METHODS = ("choria", "puppetdb")


class MCollectiveSource(Source):
    type = "mcollective"
    options = frozenset(
        {"discovery_method", "agents", "facts", "classes", "identities", "compound", "collective", "discovery_timeout"}
    )

    def configure(self) -> None:
        opts = self.opts
        self.agents = opts.strings("agents", ["rpcutil"]) or ["rpcutil"]
        self.identities = opts.strings("identities")
        self.classes = opts.strings("classes")
        self.compound = opts.string("compound")
        self.collective = opts.string("collective")
        self.timeout = opts.number("discovery_timeout", self.ctx.discovery_timeout)
        try:
            self.facts = [FactFilter.parse(f) for f in opts.strings("facts")]
        except ProtocolError as exc:
            raise self.error(f"option facts: {exc}") from None
        method = (opts.string("discovery_method") or "mc").lower()
        if method not in BROADCAST_METHODS + PUPPETDB_METHODS:
            raise self.error(
                f"unsupported discovery_method {method} (use mc for broadcast discovery or choria for PuppetDB)"
            )
        if method in PUPPETDB_METHODS and self.compound:
            self.ctx.log.info("Node set %s: compound filters need broadcast discovery, using the mc method", self.name)
            method = "mc"
        self.method = "mc" if method in BROADCAST_METHODS else "choria"
        for pattern in [i for i in self.identities + self.classes if is_regex(i)]:
            try:
                re.compile(pattern.strip("/"))
            except re.error as exc:
                raise self.error(f"invalid regular expression {pattern}: {exc}") from None

    def filter(self) -> Filter:
        filt = Filter(fact=list(self.facts), cf_class=list(self.classes), identity=list(self.identities))
        for agent in self.agents:
            filt.add_agent(agent)
        if self.compound:
            filt.add_compound(self.compound)
        return filt

    def discover(self) -> Discovered:
        if self.method == "choria":
            found = query_nodes(self, self.pql())
            return Discovered(found.nodes, {n: {"discovery_method": "choria"} for n in found.nodes}, self.collective)
        filt = self.filter()

        async def call(client: ChoriaClient) -> list[str]:
            return await discover(client, filt, collective=self.collective, timeout=self.timeout)

        try:
            nodes = self.ctx.with_client(call)
        except CLIENT_ERRORS as exc:
            raise self.error(f"discovery failed: {exc}") from None
        collective = self.collective or self.ctx.client_config().main_collective
        return Discovered(
            nodes, {n: {"collective": collective, "discovery_method": "mc"} for n in nodes}, self.collective
        )

    def pql(self) -> str:
        """The ``choria`` discovery plugin's query for this set's filters."""
        queries = []
        if self.collective:
            queries.append(
                'certname in fact_contents[certname] {path ~> ["mcollective", "server", "collectives", "\\\\d"] '
                f'and value = "{_quote(self.collective)}"}}'
            )
        if self.identities:
            queries.append(" or ".join(_identity(i) for i in self.identities))
        if self.classes:
            queries.append(" and ".join(_class(c) for c in self.classes))
        if self.facts:
            queries.append(" and ".join(_fact(f) for f in self.facts))
        agent_classes = [
            "Mcollective" if a.lower() == "rpcutil" else f"Mcollective_agent_{a.lower()}" for a in self.agents
        ]
        queries.append(" and ".join(_class(c) for c in agent_classes))
        return "nodes[certname, deactivated] { " + " and ".join(f"({q})" for q in queries) + " }"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _regexi(value: str) -> str:
    """A case-insensitive regex as PuppetDB's PostgreSQL regex wants it: ``[aA][bB]``."""
    value = value[1:-1] if is_regex(value) else value
    return _quote("".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in value))


def _identity(entry: str) -> str:
    return f'certname ~ "{_regexi(entry)}"' if is_regex(entry) else f'certname = "{_quote(entry)}"'


def _class(entry: str) -> str:
    if is_regex(entry):
        return f'resources {{type = "Class" and title ~ "{_regexi(entry)}"}}'
    title = "::".join(part.capitalize() for part in entry.split("::"))
    return f'resources {{type = "Class" and title = "{_quote(title)}"}}'


def _fact(fact: FactFilter) -> str:
    name, op, value = _quote(fact.fact), fact.operator, fact.value
    if op == "=~":
        return f'facts {{name = "{name}" and value ~ "{_regexi(value)}"}}'
    if op == "==":
        return f'facts {{name = "{name}" and value = "{_quote(value)}"}}'
    if op == "!=":
        return f'facts {{name = "{name}" and !(value = "{_quote(value)}")}}'
    return f'facts {{name = "{name}" and value {op} {value if _numeric(value) else chr(34) + _quote(value) + chr(34)}}}'


def _numeric(value: Any) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
