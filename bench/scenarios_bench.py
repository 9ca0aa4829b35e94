#!/usr/bin/env python3
"""`make bench-scenarios` (part 1): what DDL agents and a scenario cost the emulator.

For each size, two fresh emulators on a fresh nats-server, one collective:

* **plain**: ``-a 1`` (discovery, rpcutil, choria_util, emulated0), today's shape;
* **scenario**: ``-a 1`` plus the four real agents (``--ddl puppet --ddl service --ddl package
  --ddl nrpe --scenario real-agents``), with state in use: every node has been disabled and
  re-enabled (Puppet), had httpd stopped (service) and a package installed (package) before the
  memory is read, so the state arrays and their string tables hold real values.

Memory: RSS and PSS (forked workers share pages) of supervisor + workers, per instance gross
(total / N) and marginal (slope between the sizes). Time (at the largest size, on the scenario
emulator): ROUNDS broadcasts of ``emulated0#generate size=100`` and of ``puppet#status``, each
until every instance's reply is in; median, min and max. puppet#status carries the shipped
scenario's latency (log-normal, median 10 ms, at most 200 ms) and state-dependent data.

Writes docs/benchmarks/scenarios.{json,md}; prints every figure as it goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from choria_emulator import __version__
from choria_emulator.client import ChoriaClient, ClientConfig, ping, rpc
from choria_emulator.testing.localnet import Emulator, NatsServer

ROUNDS = 7
REAL = ("puppet", "service", "package", "nrpe")


def proc_field(pid: int, name: str, path: str = "status") -> int:
    try:
        with open(f"/proc/{pid}/{path}") as fh:
            for line in fh:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def memory(emulator: Emulator) -> tuple[int, int]:
    time.sleep(1.5)  # one stats tick, so the workers' RSS is current
    dv = emulator.debug_vars()
    pids = [emulator.pid] + [w["pid"] for w in dv["workers"]]
    return dv["rss"], sum(proc_field(pid, "Pss", "smaps_rollup") for pid in pids)


async def use_state(url: str, size: int) -> None:
    """Write state on every node through the real actions, as a deploy would."""
    config = ClientConfig.load(servers=[url], search_default_files=False, identity="bench-state")
    async with ChoriaClient(config) as client:
        nodes = sorted((await ping(client, timeout=30, expect=size)).times)
        for agent, action, data in (
            ("puppet", "disable", {"message": "benchmark"}),
            ("service", "stop", {"service": "httpd"}),
            ("package", "install", {"package": "zsh", "version": "5.9-1"}),
            ("puppet", "enable", {}),
        ):
            result = await rpc(client, agent, action, data, targets=nodes, directed=False, timeout=60)
            answered = result.stats.ok + result.stats.failed
            if answered < size * 0.98:  # a few scripted failures (1 % cannot stop httpd) are expected
                raise SystemExit(f"{agent}#{action}: {answered}/{size} replies")


async def timings(url: str, size: int) -> dict[str, list[float]]:
    config = ClientConfig.load(servers=[url], search_default_files=False, identity="bench-client")
    out: dict[str, list[float]] = {"generate": [], "puppet_status": []}
    async with ChoriaClient(config) as client:
        nodes = sorted((await ping(client, timeout=30, expect=size)).times)
        if len(nodes) != size:
            raise SystemExit(f"ping got {len(nodes)}/{size}")
        for _ in range(ROUNDS):
            for kind, agent, action, data in (
                ("generate", "emulated0", "generate", {"size": 100}),
                ("puppet_status", "puppet", "status", {}),
            ):
                result = await rpc(client, agent, action, data, targets=nodes, directed=False, timeout=30)
                if result.stats.ok != size:
                    raise SystemExit(f"{agent}#{action}: {result.stats.ok}/{size} OK")
                out[kind].append(result.stats.request_duration)
                await asyncio.sleep(0.3)
    return out


def run_one(size: int, kind: str, workdir: Path, workers: int) -> dict:
    nats = NatsServer.start(workdir=workdir / f"nats-{kind}-{size}")
    emulator = None
    try:
        flags = ["--agents", "1", "--workers", str(workers)]
        if kind == "scenario":
            flags += [item for agent in REAL for item in ("--ddl", agent)]
            flags += ["--scenario", "real-agents", "--seed", "1"]
        started = time.monotonic()
        emulator = Emulator.start(
            nats.url, size, *flags, name="bench", workdir=workdir / f"emu-{kind}-{size}", timeout=300
        )
        connect = time.monotonic() - started
        if kind == "scenario":
            asyncio.run(use_state(nats.url, size))
        rss, pss = memory(emulator)
        row = {
            "instances": size,
            "kind": kind,
            "workers": workers,
            "subscriptions_per_instance": emulator.debug_vars()["subscriptions_per_instance"],
            "connect_s": round(connect, 2),
            "rss_bytes": rss,
            "pss_bytes": pss,
            "rss_per_instance_kib": round(rss / size / 1024, 2),
            "pss_per_instance_kib": round(pss / size / 1024, 2),
        }
        print(json.dumps(row), flush=True)
        if kind == "scenario" and size == max(ARGS.sizes):
            times = asyncio.run(timings(nats.url, size))
            for name, values in times.items():
                row[f"{name}_median_s"] = round(statistics.median(values), 3)
                row[f"{name}_min_s"] = round(min(values), 3)
                row[f"{name}_max_s"] = round(max(values), 3)
                print(f"{name}: median {statistics.median(values):.3f} s over {ROUNDS} rounds {values}", flush=True)
        return row
    finally:
        if emulator is not None:
            emulator.stop()
        nats.stop()


def marginal(rows: list[dict], kind: str, key: str) -> float | None:
    points = sorted((r["instances"], r[key]) for r in rows if r["kind"] == kind)
    if len(points) < 2:
        return None
    (x0, y0), (x1, y1) = points[0], points[-1]
    return (y1 - y0) / (x1 - x0) / 1024


def markdown(rows: list[dict], summary: dict, meta: dict) -> str:
    lines = [
        "# Scenario benchmark",
        "",
        f"Written by `make bench-scenarios` (`bench/scenarios_bench.py`) on {meta['date']}: {meta['machine']}, "
        f"Python {meta['python']}, choria-emulator {meta['version']}, load average at start {meta['load']}, "
        f"{ROUNDS} rounds per time. Every row is a fresh "
        "nats-server and a fresh emulator (`--workers` = CPU count, one collective). *plain*: `-a 1`, what every "
        "emulated node served before scenarios. *scenario*: `-a 1` plus the real puppet, service, package and nrpe "
        "agents (`--ddl ...`) with the `real-agents` scenario, after every node was disabled and re-enabled, had "
        "httpd stopped and a package installed (state in use).",
        "",
        "| instances | kind | subs/instance | connect (s) | RSS (MiB) | RSS/instance (KiB) | PSS/instance (KiB) |",
        "| ---: | :--- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['instances']:,} | {r['kind']} | {r['subscriptions_per_instance']} | {r['connect_s']} | "
            f"{r['rss_bytes'] / 2**20:.0f} | {r['rss_per_instance_kib']} | {r['pss_per_instance_kib']} |"
        )
    lines += [
        "",
        "Per instance, scenario / plain (goal ≤ 1.5, issue 17):",
        "",
    ]
    for key, label in (
        ("gross_rss_ratio", "gross RSS at the largest size"),
        ("gross_pss_ratio", "gross PSS at the largest size"),
        ("marginal_rss_ratio", "marginal RSS (slope between the sizes)"),
        ("marginal_pss_ratio", "marginal PSS (slope between the sizes)"),
    ):
        if summary.get(key) is not None:
            lines.append(f"- {label}: {summary[key]:.2f}")
    lines += ["", "Marginal memory per added instance (KiB):", ""]
    for kind in ("plain", "scenario"):
        lines.append(
            f"- {kind}: RSS {summary.get(f'{kind}_marginal_rss_kib') or 0:.2f}, "
            f"PSS {summary.get(f'{kind}_marginal_pss_kib') or 0:.2f}"
        )
    timed = [r for r in rows if "generate_median_s" in r]
    if timed:
        r = timed[0]
        lines += [
            "",
            f"Broadcast to {r['instances']:,} instances, all replies in (scenario emulator, {ROUNDS} rounds):",
            "",
            "| request | median (s) | min (s) | max (s) |",
            "| :--- | ---: | ---: | ---: |",
            f"| `emulated0#generate size=100` | {r['generate_median_s']} | {r['generate_min_s']} | "
            f"{r['generate_max_s']} |",
            f"| `puppet#status` | {r['puppet_status_median_s']} | {r['puppet_status_min_s']} | "
            f"{r['puppet_status_max_s']} |",
            "",
            f"puppet#status / generate: {summary['status_vs_generate']:.2f} (goal ≤ 1.5). puppet#status includes the "
            "scenario's latency (log-normal, median 10 ms, capped at 200 ms, on the worker's timer heap) and "
            "state-dependent data (one body per distinct state: the last runs are spread over 25 minutes in 60 steps).",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ARGS = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-scenarios-") as tmp:
        for size in sorted(ARGS.sizes):
            for kind in ("plain", "scenario"):
                rows.append(run_one(size, kind, Path(tmp), ARGS.workers))
    largest = max(ARGS.sizes)
    by = {(r["kind"], r["instances"]): r for r in rows}
    summary: dict = {}
    plain, scen = by[("plain", largest)], by[("scenario", largest)]
    summary["gross_rss_ratio"] = scen["rss_bytes"] / plain["rss_bytes"]
    summary["gross_pss_ratio"] = scen["pss_bytes"] / plain["pss_bytes"]
    for kind in ("plain", "scenario"):
        summary[f"{kind}_marginal_rss_kib"] = marginal(rows, kind, "rss_bytes")
        summary[f"{kind}_marginal_pss_kib"] = marginal(rows, kind, "pss_bytes")
    if summary["plain_marginal_rss_kib"]:
        summary["marginal_rss_ratio"] = summary["scenario_marginal_rss_kib"] / summary["plain_marginal_rss_kib"]
        summary["marginal_pss_ratio"] = summary["scenario_marginal_pss_kib"] / summary["plain_marginal_pss_kib"]
    if "puppet_status_median_s" in scen:
        summary["status_vs_generate"] = scen["puppet_status_median_s"] / scen["generate_median_s"]
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "version": __version__,
        "rounds": ROUNDS,
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    ARGS.out.mkdir(parents=True, exist_ok=True)
    (ARGS.out / "scenarios.json").write_text(json.dumps({"meta": meta, "rows": rows, "summary": summary}, indent=2))
    (ARGS.out / "scenarios.md").write_text(markdown(rows, summary, meta))
    print(json.dumps(summary, indent=2))
    return 0


ARGS: argparse.Namespace

if __name__ == "__main__":
    sys.exit(main())
