#!/usr/bin/env python3
"""`make bench-flood`: 10,000 malformed messages of mixed kinds to 1,000 emulated nodes (issue 12 goal).

A fresh nats-server and a 1,000-instance emulator (2 workers) on this machine; a nats-py
publisher sends every message of ``bench/flood_messages.py`` as fast as it can (20 % to
broadcast subjects, 80 % to one node each, every one distinct). It records:

* slow consumers: the broker's ``slow_consumers`` (varz) and the emulator's reconnects, before
  and after (goal: 0 new);
* a ping to every node sent the moment the last message is published: how many answer within
  2 s (goal: all);
* how long the workers take to count every delivery, and how many full decodes they did
  (decode once per worker: about one per message and worker, not one per delivery);
* the emulator's RSS before, at its peak, and 15 s after the flood (goal: back within 10 %).

Writes docs/benchmarks/flood.{json,md} and prints every figure as it goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from flood_messages import KINDS, flood

from choria_emulator import __version__
from choria_emulator.client import ChoriaClient, ClientConfig, ping
from choria_emulator.testing.localnet import Emulator, NatsServer

PING_WITHIN = 2.0
SETTLE = 15.0
# Measured once, the same flood against the emulator before garbage was decoded once per worker
# (commit e5d462e, this machine under a load of 6-9 from other work), to read the figures against.
BEFORE = (
    "Before garbage was decoded once per worker (commit e5d462e, same flood, same machine, load 6-9): "
    "944 of the 1,000 instances were dropped by the broker as slow consumers and reconnected, 0 answered "
    "the ping sent as the flood ended, only 646,563 of the 2,055,952 deliveries were ever processed (the "
    "rest died with the connections), and RSS stayed at 1.28 x its level before the flood."
)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (/proc/PID/stat)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    server = NatsServer.start(workdir=workdir / "nats")
    emulator = None
    try:
        emulator = Emulator.start(
            server.url, args.nodes, "--workers", str(args.workers), name="flood", workdir=workdir / "emu", timeout=300
        )
        nodes = [f"flood-{i}" for i in range(args.nodes)]
        config = ClientConfig.load(servers=[server.url], search_default_files=False, identity="flood-bench")
        async with ChoriaClient(config) as client:
            warm = await ping(client, timeout=30, expect=args.nodes)
            print(f"warm-up ping: {warm.count}/{args.nodes}")
            await asyncio.sleep(3)
            before = emulator.debug_vars()
            varz_before = server.varz()
            worker_pids = [w["pid"] for w in before["workers"]]
            cpu_before = (cpu_seconds(worker_pids), cpu_seconds([server.pid]), time.process_time())
            row: dict[str, Any] = {
                "nodes": args.nodes,
                "workers": args.workers,
                "messages": args.messages,
                "broadcast_share": args.broadcast_share,
                "rss_before": before["rss"],
            }
            messages = list(flood(args.messages, nodes, seed=args.seed, broadcast_share=args.broadcast_share))
            deliveries = sum(args.nodes if ".broadcast." in s else 1 for s, _, _ in messages)
            row["bytes_published"] = sum(len(p) for _, p, _ in messages)
            row["bytes_delivered"] = sum(len(p) * (args.nodes if ".broadcast." in s else 1) for s, p, _ in messages)
            row["deliveries"] = deliveries
            row["kinds"] = {kind: sum(1 for _, _, k in messages if k == kind) for kind in KINDS}
            print(
                f"flood: {args.messages} messages, {row['bytes_published'] / 2**20:.1f} MiB published, "
                f"{deliveries:,} deliveries ({row['bytes_delivered'] / 2**20:.0f} MiB)"
            )
            nc = client.nc
            started = time.monotonic()
            for number, (subject, payload, _) in enumerate(messages):
                await nc.publish(subject, payload)
                if number % 200 == 199:
                    await nc.flush()
            await nc.flush()
            row["publish_s"] = round(time.monotonic() - started, 3)
            print(f"published in {row['publish_s']} s; pinging every node now")
            result = await ping(client, timeout=PING_WITHIN, expect=args.nodes)
            row["ping_after_flood_answered"] = result.count
            row["ping_after_flood_s"] = round(result.duration, 3)
            print(f"ping right after the flood: {result.count}/{args.nodes} within {PING_WITHIN} s")
            total = before["counters"]["total"] + deliveries
            peak, deadline = 0, time.monotonic() + 300
            while time.monotonic() < deadline:
                current = emulator.debug_vars()
                peak = max(peak, current["rss"])
                if current["counters"]["total"] >= total:
                    break
                await asyncio.sleep(0.25)
            row["all_counted_s"] = round(time.monotonic() - started, 3)
            row["cpu_s"] = {
                "workers": round(cpu_seconds(worker_pids) - cpu_before[0], 2),
                "nats_server": round(cpu_seconds([server.pid]) - cpu_before[1], 2),
                "publisher": round(time.process_time() - cpu_before[2], 2),
            }
            await asyncio.sleep(SETTLE)
            after = emulator.debug_vars()
            peak = max(peak, after["rss"])
            result = await ping(client, timeout=10, expect=args.nodes)
            row["ping_after_settle_answered"] = result.count
        varz_after = server.varz()
        counted = {k: after["counters"][k] - before["counters"][k] for k in after["counters"]}
        row.update(
            {
                "counted": counted,
                "decodes": sum(w.get("decodes") or 0 for w in after["workers"])
                - sum(w.get("decodes") or 0 for w in before["workers"]),
                "slow_consumers": varz_after.get("slow_consumers", 0) - varz_before.get("slow_consumers", 0),
                "reconnects": after["reconnects"] - before["reconnects"],
                "connected_after": after["connected"],
                "rss_peak": peak,
                "rss_after": after["rss"],
                "rss_after_vs_before": round(after["rss"] / before["rss"], 3),
            }
        )
        print(json.dumps(row, indent=1))
        return row
    finally:
        if emulator is not None:
            emulator.stop()
        server.stop()


def write(row: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "version": __version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d"),
    }
    (out / "flood.json").write_text(json.dumps({"meta": meta, "result": row}, indent=1) + "\n")
    mib = 2**20
    goals = [
        ("slow-consumer disconnects", f"{row['slow_consumers']} (broker), {row['reconnects']} reconnects", "0"),
        (
            f"ping sent as the flood ends, answered within {PING_WITHIN:.0f} s",
            f"{row['ping_after_flood_answered']} of {row['nodes']} ({row['ping_after_flood_s']} s)",
            "all",
        ),
        (
            f"RSS {SETTLE:.0f} s after the flood vs before",
            f"{row['rss_after'] / mib:.0f} / {row['rss_before'] / mib:.0f} MiB = "
            f"{row['rss_after_vs_before']:.3f} (peak {row['rss_peak'] / mib:.0f} MiB)",
            "<= 1.10",
        ),
    ]
    lines = [
        "# Flood of malformed messages (issue 12)",
        "",
        "`make bench-flood` (bench/flood_bench.py): a fresh nats-server and a "
        f"{row['nodes']:,}-instance emulator ({row['workers']} workers) on this machine "
        f"({meta['cpus']} cores, load {meta['load'][0]:.1f} at the end, Python {meta['python']}); a nats-py "
        f"publisher sends {row['messages']:,} distinct malformed messages as fast as it can, "
        f"{row['broadcast_share']:.0%} to broadcast subjects and the rest to one node each: "
        f"{row['bytes_published'] / mib:.1f} MiB published, {row['deliveries']:,} deliveries "
        f"({row['bytes_delivered'] / mib:.0f} MiB) to the instances. Kinds (1/10 each): " + ", ".join(KINDS) + ".",
        "",
        "| goal | measured | target |",
        "| --- | --- | --- |",
        *(f"| {goal} | {measured} | {target} |" for goal, measured, target in goals),
        "",
        f"Published in {row['publish_s']} s; every delivery counted after {row['all_counted_s']} s; "
        f"{row['counted'].get('malformed', 0):,} counted malformed of {row['counted'].get('total', 0):,}; "
        f"{row['decodes']:,} full decodes for {row['deliveries']:,} deliveries (decode once per worker and "
        "message; what is garbage is remembered by its hash). After settling, "
        f"{row['ping_after_settle_answered']} of {row['nodes']} answered a ping and "
        f"{row['connected_after']} were connected. CPU seconds from the first message until every delivery "
        f"was counted: workers {row['cpu_s']['workers']}, nats-server {row['cpu_s']['nats_server']}, publisher "
        f"{row['cpu_s']['publisher']} (on {meta['cpus']} cores shared with other work: the elapsed time is longer).",
        "",
        BEFORE,
        "",
    ]
    (out / "flood.md").write_text("\n".join(lines))
    print(f"wrote {out / 'flood.json'}, {out / 'flood.md'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--broadcast-share", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--out", default="docs/benchmarks")
    parser.add_argument("--workdir", default=".tmp/bench-flood")
    args = parser.parse_args()
    row = asyncio.run(run(args))
    row["goals_met"] = (
        row["slow_consumers"] == 0
        and row["reconnects"] == 0
        and row["ping_after_flood_answered"] == row["nodes"]
        and row["rss_after_vs_before"] <= 1.10
    )
    write(row, Path(args.out))
    print("goals met" if row["goals_met"] else "GOALS NOT MET (figures written as measured)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
