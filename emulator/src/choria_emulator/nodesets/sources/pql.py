"""``type: pql``: certnames of active nodes matching a PuppetDB query (upstream ``PqlNodes``).

``query`` is PQL (``nodes[certname] { facts { name = "country" and value = "mt" } }``) or the
AST form, as a YAML list or a JSON string (``["from", "nodes", ["=", ["fact", "country"], "mt"]]``;
an AST without ``from`` is taken as a ``nodes`` query). Other columns of the results become host
variables: ``facts[certname, name, value]`` rows collect into ``facts``, inventory rows' ``facts``
are kept as they are, any other column under its own name.
"""

from __future__ import annotations

import json
from typing import Any

from ..context import Discovered
from ..puppetdb import PuppetDB, PuppetDBError, certnames
from .base import Source

SKIPPED_COLUMNS = frozenset({"certname", "deactivated", "expired"})


class PQLSource(Source):
    type = "pql"
    options = frozenset({"query"})

    def configure(self) -> None:
        query = self.opts.get("query")
        if query in (None, "", []):
            raise self.error("No PQL query specified")
        if isinstance(query, str) and query.lstrip().startswith("["):
            try:
                query = json.loads(query)
            except ValueError as exc:
                raise self.error(f"the AST query is not valid JSON: {exc}") from None
        if isinstance(query, list):
            query = query if query and query[0] == "from" else ["from", "nodes", query]
        elif not isinstance(query, str):
            raise self.error(f"option query must be a PQL string or an AST list, got {type(query).__name__}")
        self.query: str | list[Any] = query

    def discover(self) -> Discovered:
        return query_nodes(self, self.query)


def query_nodes(source: Source, query: str | list[Any]) -> Discovered:
    """Run ``query`` on the context's PuppetDB; errors name the node set."""
    if source.ctx.puppetdb is None:
        raise source.error(
            "no PuppetDB is configured: set puppetdb.server_urls, PUPPETDB_SERVER_URLS or plugin.choria.puppetdb_host "
            "in the Choria config"
        )
    source.ctx.log.debug("Performing PQL query for node set %s: %s", source.name, query)
    try:
        rows = PuppetDB(source.ctx.puppetdb).query(query)
        nodes = certnames(rows, query)
    except PuppetDBError as exc:
        raise source.error(str(exc)) from None
    return Discovered(nodes, _hostvars(rows, set(nodes)))


def _hostvars(rows: list[Any], active: set[str]) -> dict[str, dict[str, Any]]:
    hostvars: dict[str, dict[str, Any]] = {}
    for row in rows:
        node = str(row["certname"])
        if node not in active:
            continue
        values = hostvars.setdefault(node, {})
        if "name" in row and "value" in row:  # facts[certname, name, value]
            values.setdefault("facts", {})[row["name"]] = row["value"]
            continue
        for column, value in row.items():
            if column not in SKIPPED_COLUMNS:
                values[column] = value
    return {node: values for node, values in hostvars.items() if values}
