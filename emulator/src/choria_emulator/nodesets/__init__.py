"""Choria node sets: the one implementation behind the inventory plugin, the playbook runner and the CLI.

A node set is a named list of nodes from a source (``mcollective`` discovery, ``pql``, ``yaml``,
``shell``, ``terraform``) with the common options of the Choria playbook format (playbooks.md
§1.7)::

    ctx = NodeSetContext(client=ClientConfig.load(servers=[...]), uses={"rpcutil": "~0.29"})
    sets = resolve_node_sets({"web": {"type": "yaml", "source": "nodes.yaml", "group": "web"}}, ctx)
    sets["web"].nodes
"""

from .context import Discovered, NodeSetContext, ResolvedNodeSet
from .errors import HOSTNAME_RE, NodeSetError
from .file import NodeSetFile, context_from_options, load_node_set_file
from .puppetdb import PuppetDB, PuppetDBConfig, PuppetDBError
from .resolve import check_connectivity, check_uses, resolve_node_set, resolve_node_sets
from .sources import build_source, source_types

__all__ = [
    "HOSTNAME_RE",
    "Discovered",
    "NodeSetContext",
    "NodeSetError",
    "NodeSetFile",
    "PuppetDB",
    "PuppetDBConfig",
    "PuppetDBError",
    "ResolvedNodeSet",
    "build_source",
    "check_connectivity",
    "check_uses",
    "context_from_options",
    "load_node_set_file",
    "resolve_node_set",
    "resolve_node_sets",
    "source_types",
]
