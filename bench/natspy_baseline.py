#!/usr/bin/env python3
"""Why the emulated instances do not use nats-py: its memory per connection, measured here.

Opens N nats-py connections in one process, each with S callback subscriptions (what one
emulated daemon needs: node + discovery + rpcutil + choria_util + emulated0 = 5 at 1×1), and
reports the RSS growth per connection. Compared in docs/benchmarks/emulator.md with the lean
`natsproto` connection the emulator uses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import nats

from choria_emulator.testing.localnet import NatsServer


def rss() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


async def run(url: str, count: int, subs: int) -> dict:
    async def cb(msg) -> None:  # nats-py callback
        return None

    before = rss()
    conns = []
    sem = asyncio.Semaphore(100)

    async def one(i: int) -> None:
        async with sem:
            nc = await nats.connect(url, allow_reconnect=False, name=f"nb-{i}")
            for k in range(subs):
                await nc.subscribe(f"mcollective.bench.{i}.{k}", cb=cb)
            await nc.flush()
            conns.append(nc)

    await asyncio.gather(*(one(i) for i in range(count)))
    after = rss()
    for nc in conns:
        await nc.close()
    return {
        "connections": count,
        "subscriptions_each": subs,
        "rss_growth_bytes": after - before,
        "kib_per_connection": (after - before) / count / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--subs", type=int, nargs="+", default=[5, 140])
    parser.add_argument("--out", default="docs/benchmarks")
    args = parser.parse_args()
    server = NatsServer.start()
    try:
        rows = []
        for subs in args.subs:
            count = args.connections if subs <= 10 else max(200, args.connections // 4)
            row = asyncio.run(run(server.url, count, subs))
            print(json.dumps(row), flush=True)
            rows.append(row)
    finally:
        server.stop()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "natspy_baseline.json").write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
