"""``choria-emulator nodes FILE``: resolve the node sets of an inventory config or a playbook and print them.

FILE is a ``*.choria_nodes.yml`` inventory config (``node_sets:``, ``choria:``, ``puppetdb:``,
``uses:``) or a Choria playbook (``nodes:``). Runs the same checks as a playbook would:
``when_empty``, ``limit``, ``at_least``, the ``test`` ping and the ``uses`` agent versions.
"""

from __future__ import annotations

import argparse
import json
import logging

from ..nodesets import NodeSetError, load_node_set_file, resolve_node_sets
from .errors import CLIError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "nodes", help="resolve Choria node sets (PQL, YAML, shell, Terraform, discovery)", description=__doc__
    )
    p.add_argument("file", metavar="FILE", help="inventory config with node_sets, or a playbook with nodes")
    p.add_argument("--set", dest="sets", action="append", metavar="NAME", help="only this node set (repeatable)")
    p.add_argument("--json", action="store_true", help="print {set: {type, nodes, hostvars}} as JSON")
    p.add_argument(
        "--server",
        "-s",
        action="append",
        metavar="HOST:PORT",
        help="NATS server for mcollective sets, test and uses (overrides the file's choria.servers)",
    )
    p.add_argument("--config", metavar="FILE", help="Choria client config (overrides the file's choria.config_file)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        spec = load_node_set_file(args.file)
        specs = spec.node_sets
        if args.sets:
            unknown = [name for name in args.sets if name not in specs]
            if unknown:
                raise CLIError(f"no node set {', '.join(unknown)} in {spec.path} (it has {', '.join(specs)})")
            specs = {name: specs[name] for name in args.sets}
        ctx = spec.context(
            choria={"servers": args.server, "config_file": args.config}, log=logging.getLogger("choria_emulator.nodes")
        )
        resolved = resolve_node_sets(specs, ctx)
    except NodeSetError as exc:
        raise CLIError(str(exc)) from None
    if args.json:
        print(json.dumps({name: node_set.to_dict() for name, node_set in resolved.items()}, indent=2, sort_keys=False))
        return 0
    for name, node_set in resolved.items():
        print(f"{name} ({node_set.type}, {len(node_set.nodes)} node{'' if len(node_set.nodes) == 1 else 's'})")
        for node in node_set.nodes:
            print(f"  {node}")
    return 0
