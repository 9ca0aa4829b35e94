"""``choria-emulator discover``: the identities matching a filter, one per line."""

from __future__ import annotations

import argparse
import json

from ..client import discover
from .common import (
    add_client_options,
    add_filter_options,
    check_count,
    check_seconds,
    filter_from_args,
    with_progress,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("discover", help="broadcast discovery with filters", description=__doc__)
    add_client_options(p)
    add_filter_options(p)
    p.add_argument("--timeout", "-t", type=float, default=None, help="discovery timeout in seconds (default 2)")
    p.add_argument(
        "--sliding-window", action="store_true", help="stop 300 ms after the last reply (go-choria's dynamic timeout)"
    )
    p.add_argument("--expect", type=int, help="stop as soon as this many nodes answered")
    p.add_argument("--json", action="store_true", help="print the identities as a JSON list")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_seconds("--timeout", args.timeout)
    check_count("--expect", args.expect)
    filt = filter_from_args(args)  # bad arguments fail before connecting

    nodes = with_progress(
        args,
        args.expect,
        "discover",
        lambda client, on_reply: discover(
            client,
            filt,
            collective=args.collective,
            timeout=args.timeout,
            sliding_window=args.sliding_window,
            expect=args.expect,
            federation=args.federation,
            on_reply=on_reply,
        ),
    )
    if args.json:
        print(json.dumps(sorted(nodes)))
    else:
        for node in sorted(nodes):
            print(node)
    return 0 if nodes else 1
