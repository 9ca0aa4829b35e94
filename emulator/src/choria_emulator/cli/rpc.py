"""``choria-emulator rpc AGENT ACTION key=value ...``: an MCollective RPC request, like ``choria req``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..client import rpc
from .common import (
    CLIError,
    add_client_options,
    add_filter_options,
    check_count,
    check_seconds,
    filter_from_args,
    with_progress,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rpc", help="call an agent action on many nodes", description=__doc__)
    p.add_argument("agent")
    p.add_argument("action")
    p.add_argument(
        "arguments",
        nargs="*",
        metavar="KEY=VALUE",
        help="action inputs; values are parsed as JSON when they can be (size=10 is a number)",
    )
    add_client_options(p)
    add_filter_options(p)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--directed",
        dest="directed",
        action="store_true",
        default=True,
        help="one request per node (default, like the Go client)",
    )
    mode.add_argument(
        "--broadcast",
        dest="directed",
        action="store_false",
        help="one broadcast request; discovered nodes are expected",
    )
    p.add_argument(
        "--nodes",
        action="append",
        metavar="ID",
        help="act on these nodes instead of discovering (repeatable, comma list)",
    )
    p.add_argument("--batch", type=int, metavar="N", help="send to N nodes at a time")
    p.add_argument("--batch-sleep", type=float, default=0.0, metavar="S", help="seconds between batches")
    p.add_argument("--timeout", "-t", type=float, default=10.0, help="seconds to wait for replies (default 10)")
    p.add_argument(
        "--discovery-timeout",
        "--dt",
        type=float,
        default=None,
        metavar="S",
        help="discovery timeout in seconds (default: discovery_timeout, 2)",
    )
    p.add_argument("--json", action="store_true", help="print every reply and the stats as JSON")
    p.set_defaults(func=run)


def parse_arguments(items: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise CLIError(f"action input {item!r} is not KEY=VALUE")
        key, value = item.split("=", 1)
        if not key.strip():
            raise CLIError(f"action input {item!r} has no key (KEY=VALUE)", exit_code=2)
        try:
            data[key] = json.loads(value)
        except ValueError:
            data[key] = value
    return data


def run(args: argparse.Namespace) -> int:
    check_seconds("--timeout", args.timeout)
    check_seconds("--discovery-timeout", args.discovery_timeout)
    check_count("--batch", args.batch)
    check_seconds("--batch-sleep", args.batch_sleep, zero_ok=True)
    data = parse_arguments(args.arguments)
    filt = filter_from_args(args)  # bad arguments fail before connecting
    targets = [n.strip() for entry in args.nodes or [] for n in entry.split(",") if n.strip()] or None

    result = with_progress(
        args,
        len(targets) if targets else None,
        f"{args.agent}#{args.action}",
        lambda client, on_reply: rpc(
            client,
            args.agent,
            args.action,
            data,
            targets=targets,
            filter=filt,
            collective=args.collective,
            directed=args.directed,
            batch_size=args.batch,
            batch_sleep=args.batch_sleep,
            timeout=args.timeout,
            discovery_timeout=args.discovery_timeout,
            on_reply=on_reply,
            federation=args.federation,
        ),
    )
    stats = result.stats
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        for reply in sorted(result.replies, key=lambda r: r["sender"]):
            status = "OK" if reply["statuscode"] == 0 else f"{reply['statusmsg']} (code {reply['statuscode']})"
            print(f"{reply['sender']:<40} {status}")
            if reply["data"]:
                print(f"    {json.dumps(reply['data'])}")
        for node in result.missing:
            print(f"{node:<40} no response")
        print()
        print(
            f"Finished processing {stats.responded} / {stats.discovered} hosts "
            f"in {stats.request_duration * 1000:.2f} ms: {stats.ok} OK, {stats.failed} failed, "
            f"{stats.noresponses} no response, {stats.unexpected} unexpected"
        )
    if stats.discovered == 0:
        print("No request sent, no nodes discovered")
        return 1
    return 0 if stats.success else 1
