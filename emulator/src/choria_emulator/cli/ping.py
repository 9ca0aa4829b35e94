"""``choria-emulator ping``: like ``choria ping``: who answers, and how fast."""

from __future__ import annotations

import argparse
import json
import sys

from ..client import ping
from .common import (
    add_client_options,
    add_filter_options,
    check_count,
    check_seconds,
    filter_from_args,
    with_progress,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ping", help="ping nodes through the discovery agent", description=__doc__)
    add_client_options(p)
    add_filter_options(p)
    p.add_argument("--timeout", "-t", type=float, default=None, help="seconds to wait (default: discovery_timeout, 2)")
    p.add_argument("--expect", type=int, help="stop as soon as this many nodes answered; exit 1 if fewer did")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="only print the summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_seconds("--timeout", args.timeout)
    check_count("--expect", args.expect)
    filt = filter_from_args(args)  # bad arguments fail before connecting

    result = with_progress(
        args,
        args.expect,
        "ping",
        lambda client, on_reply: ping(
            client,
            filt,
            collective=args.collective,
            timeout=args.timeout,
            expect=args.expect,
            on_reply=on_reply,
            federation=args.federation,
        ),
    )
    summary = result.summary()
    if args.json:
        print(json.dumps({"nodes": result.times, "summary": summary, "duration": result.duration}, indent=2))
    else:
        if not args.quiet:
            for identity, ms in sorted(result.times.items(), key=lambda item: item[1]):
                print(f"{identity:<40} time={ms:.2f} ms")
            print()
        print("---- ping statistics ----")
        print(
            f"{result.count} replies max: {summary['max']:.2f} min: {summary['min']:.2f} avg: {summary['avg']:.2f} "
            f"median: {summary['median']:.2f} overhead: {result.duration * 1000:.2f} ms"
        )
    if args.expect is not None and result.count < args.expect:
        print(f"expected {args.expect} replies, got {result.count}", file=sys.stderr)
        return 1
    return 0 if result.count else 1
