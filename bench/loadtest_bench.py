#!/usr/bin/env python3
"""`make bench-loadtest`: the load-test suite against networks of 1,000 to 50,000 instances.

For every size it starts fresh nats-server(s) — one server up to 15,000 instances, else a
3-server cluster (one server holds < 20,000 connections here) — and one `choria-emulator
emulate` spreading its instances over them, then for each payload size:

* discovery: broadcast discovery of `emulated0` until every instance answered;
* a `choria-emulator measure` suite (`run_suite`, the CLI's code) of REQUESTS broadcast
  `emulated0#generate` requests: round trip min/median/p95, replies per second;
* through a Federation Broker (sizes up to --federation-max): the same suite via
  `--federation`, and the broker's added latency: 7 direct and 7 federated round trips,
  interleaved, and the median of their differences;

and the memory: emulator PSS per instance (supervisor + workers, shared pages counted once)
and nats-server RSS per connection (RSS above the idle server, summed over the cluster).
Every size first waits for a low load average (the machine is shared); sizes of 20,000 and
more are skipped if it does not come, smaller ones run anyway and record the load they had.

Runnable one size at a time (`make bench-loadtest SIZES=10000`): results merge into
docs/benchmarks/loadtest.json by (size, payload); loadtest.csv, the PNG plots and the tables
of docs/benchmarks/loadtest.md are rewritten from all stored results every time.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from choria_emulator import __version__
from choria_emulator.client import ChoriaClient, ClientConfig, RequestSpec, discover
from choria_emulator.measure import SuiteOptions, run_suite
from choria_emulator.protocol import Filter, RPCRequest
from choria_emulator.testing.cluster import LocalCluster
from choria_emulator.testing.localnet import Emulator, LocalBroker, NatsServer, find_nats_server

PER_SERVER = 15_000
MAX_PER_WORKER = 12_500  # open files per emulator worker stay far below 20,000
BIG = 20_000  # sizes from here wait for a quiet machine

# The original's published figures (protocol.md §4.8), shown in the same tables.
ORIGINAL = [
    {
        "source": "original README (Go emulator, 2017)",
        "nodes": 2000,
        "servers": 1,
        "payload": None,
        "rt": "≈ 1.5 s",
        "memory": "",
        "note": "2,000 instances + broker + client on one laptop",
    },
    {
        "source": "original PR #18 docs (Sep 2017)",
        "nodes": 50264,
        "servers": 1,
        "payload": 10,
        "rt": "18.1 / 19.14 avg / 20.5 s",
        "memory": "NATS ≈ 1.6 GB ≈ 33 KiB/conn",
        "note": "100 requests, ~60 VMs",
    },
    {
        "source": "original PR #18 docs (Sep 2017)",
        "nodes": 309000,
        "servers": 1,
        "payload": None,
        "rt": "",
        "memory": "NATS ≈ 7.5 GB ≈ 25 KiB/conn",
        "note": "single NATS",
    },
    {
        "source": "original README / PREPARE.md",
        "nodes": 1000,
        "servers": None,
        "payload": None,
        "rt": "",
        "memory": "750–1,000 instances per 2 GB VM ≈ 2–2.7 MiB/instance",
        "note": "Go emulator",
    },
]


def say(text: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {text}", flush=True)


def requests_for(size: int) -> int:
    return 10 if size <= 10_000 else 5


def wait_for_quiet(max_load: float, wait: float) -> float:
    """Block until the 1-minute load average is at most ``max_load`` (or ``wait`` s passed)."""
    deadline = time.monotonic() + wait
    load = os.getloadavg()[0]
    while load > max_load and time.monotonic() < deadline:
        say(f"load average {load:.2f} > {max_load}: waiting for a quieter machine")
        time.sleep(30)
        load = os.getloadavg()[0]
    return load


def pss_bytes(pids: list[int]) -> int:
    """Proportional set size of processes: forked workers' shared pages are counted once."""
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) * 1024 for line in text.splitlines() if line.startswith("Pss:")), 0)
    return total


def start_nats(size: int, workdir: Path) -> tuple[list[NatsServer], Any]:
    if size <= PER_SERVER:
        server = NatsServer.start(workdir=workdir / "nats")
        return [server], server
    cluster = LocalCluster.start(3, name="loadtest", workdir=workdir / "cluster")
    return cluster.servers, cluster


async def timed_discovery(url: str, size: int, federation: str | None = None) -> tuple[int, float]:
    config = ClientConfig.load(servers=[url], search_default_files=False, identity="loadtest-bench")
    async with ChoriaClient(config) as client:
        started = time.monotonic()
        nodes = await discover(
            client, Filter(agent=["emulated0"]), timeout=max(10.0, size / 2000), expect=size, federation=federation
        )
        return len(nodes), time.monotonic() - started


async def suite(
    url: str,
    size: int,
    payload: int,
    outdir: Path,
    monitors: list[str],
    emulator: str,
    federation: str | None = None,
    count: int | None = None,
    workers: int = 1,
    direct: bool = False,
) -> dict[str, Any]:
    config = ClientConfig.load(servers=[url], search_default_files=False, identity="loadtest-bench")
    options = SuiteOptions(
        count=count or requests_for(size),
        expect=size,
        description=f"{size} nodes, {payload} B" + (f" via federation {federation}" if federation else ""),
        outdir=outdir,
        size=payload,
        timeout=30.0,
        discovery_timeout=max(2.0, size / 4000),
        federation=federation,
        force_direct=direct,
        workers=workers,
        nats_monitors=monitors,
        emulator_monitors=[emulator],
        events=False,
    )
    async with ChoriaClient(config) as client:
        result = await run_suite(client, options)
    return result.report


async def federation_pairs(direct_url: str, fed_url: str, size: int, payload: int, pairs: int = 7) -> dict[str, Any]:
    """The broker's added latency: direct and federated round trips interleaved, so load drifts cancel."""
    body = RPCRequest("emulated0", "generate", {"size": payload}).encode()
    direct_config = ClientConfig.load(servers=[direct_url], search_default_files=False, identity="loadtest-bench")
    fed_config = ClientConfig.load(servers=[fed_url], search_default_files=False, identity="loadtest-bench-fed")
    async with ChoriaClient(direct_config) as direct, ChoriaClient(fed_config) as federated:
        nodes = sorted(await discover(direct, Filter(agent=["emulated0"]), timeout=max(10.0, size / 2000), expect=size))
        times: dict[str, list[float]] = {"direct": [], "federated": []}
        for _ in range(pairs):
            for kind, client, network in (("direct", direct, None), ("federated", federated, "bench")):
                spec = RequestSpec("emulated0", body, targets=tuple(nodes), timeout=30, federation=network)
                outcome = await client.request(spec)
                if outcome.missing:
                    raise RuntimeError(f"{len(outcome.missing)} nodes missing in a {kind} round trip")
                times[kind].append(outcome.request_duration)
    differences = [f - d for d, f in zip(times["direct"], times["federated"])]
    return {
        "pairs": pairs,
        "direct_median": statistics.median(times["direct"]),
        "federated_median": statistics.median(times["federated"]),
        "added_median": statistics.median(differences),
    }


def nats_rss(servers: list[NatsServer]) -> int:
    return sum(s.varz()["mem"] for s in servers)


def bench_size(
    size: int, payloads: list[int], federation_max: int, workers_sizes: list[int], out: Path, workdir: Path, load: float
) -> list[dict[str, Any]]:
    servers, owner = start_nats(size, workdir)
    emulator = broker = fed = None
    rows: list[dict[str, Any]] = []
    try:
        idle = nats_rss(servers)
        workers = max(2, math.ceil(size / MAX_PER_WORKER))
        say(f"{size}: {len(servers)} nats-server(s), emulator with {workers} workers")
        started = time.monotonic()
        emulator = Emulator.start(
            [s.url for s in servers],
            size,
            "--workers",
            str(workers),
            name="lt",
            workdir=workdir / "emulator",
            timeout=900,
        )
        connect = time.monotonic() - started
        vars_ = emulator.debug_vars()
        emu_pss = pss_bytes([emulator.pid] + [w["pid"] for w in vars_["workers"] if w.get("pid")])
        conns = sum(s.varz()["connections"] for s in servers)
        nats_connected = nats_rss(servers) - idle
        say(
            f"{size}: connected in {connect:.1f} s; emulator PSS {emu_pss / size / 1024:.1f} KiB/instance (RSS "
            f"{vars_['rss'] / size / 1024:.1f}); "
            f"nats {nats_connected / conns / 1024:.1f} KiB/connection over {conns} connections"
        )
        client_url = servers[0].url
        monitors = [s.monitor for s in servers]
        if size <= federation_max:
            fed = NatsServer.start(workdir=workdir / "federation-nats")
            broker = LocalBroker.start(
                "bench", [fed.url], [",".join(s.url for s in servers)], workdir=workdir / "broker"
            )
        for payload in payloads:
            found, discovery = asyncio.run(timed_discovery(client_url, size))
            report = asyncio.run(
                suite(client_url, size, payload, workdir / f"suite-{payload}", monitors, emulator.http)
            )
            rt = report["round_trip"]
            row: dict[str, Any] = {
                "nodes": size,
                "payload": payload,
                "servers": len(servers),
                "emulator_workers": workers,
                "requests": report["tests"]["count"],
                "complete": report["tests"]["complete"],
                "connect_s": round(connect, 2),
                "discovered": found,
                "discovery_s": round(discovery, 3),
                "rt_min_s": round(rt["min"], 3),
                "rt_median_s": round(rt["median"], 3),
                "rt_p95_s": round(rt["p95"], 3),
                "replies_per_s": round(report["replies_per_second"]),
                "emulator_pss_kib_per_instance": round(emu_pss / size / 1024, 1),
                "emulator_rss_kib_per_instance": round(vars_["rss"] / size / 1024, 1),
                "nats_kib_per_connection": round(nats_connected / conns / 1024, 1),
                "nats_rss_mib_after": round(nats_rss(servers) / 2**20),
                "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "load_before": round(load, 2),
            }
            say(
                f"{size} × {payload} B: discovery {discovery:.2f} s ({found}); round trip min {rt['min']:.3f} / "
                f"median {rt['median']:.3f} / "
                f"p95 {rt['p95']:.3f} s; {report['replies_per_second']:.0f} replies/s; "
                f"{row['complete']}/{row['requests']} complete"
            )
            if payload == payloads[0]:
                shutil.copy(workdir / f"suite-{payload}" / "arrivals.png", out / f"loadtest_arrivals_{size}.png")
            if broker is not None:
                pairs = asyncio.run(federation_pairs(client_url, fed.url, size, payload))
                fed_report = asyncio.run(
                    suite(
                        fed.url,
                        size,
                        payload,
                        workdir / f"fed-{payload}",
                        [fed.monitor, *monitors],
                        emulator.http,
                        federation="bench",
                        count=5,
                    )
                )
                row["federation_rt_median_s"] = round(fed_report["round_trip"]["median"], 3)
                row["federation_complete"] = fed_report["tests"]["complete"]
                row["federation_added_ms"] = round(pairs["added_median"] * 1000, 1)
                row["federation_pairs"] = pairs["pairs"]
                say(
                    f"{size} × {payload} B via federation: suite median {fed_report['round_trip']['median']:.3f} s, "
                    f"{row['federation_complete']}/5 complete; {pairs['pairs']} interleaved pairs: direct "
                    f"{pairs['direct_median']:.3f} s, "
                    f"federated {pairs['federated_median']:.3f} s, added {row['federation_added_ms']:+.0f} ms (median "
                    "of the differences)"
                )
            if size in workers_sizes and payload == payloads[0]:
                for workers in (1, 2):
                    report = asyncio.run(
                        suite(
                            client_url,
                            size,
                            payload,
                            workdir / f"direct-{workers}",
                            monitors,
                            emulator.http,
                            count=5,
                            workers=workers,
                            direct=True,
                        )
                    )
                    row[f"direct_w{workers}_median_s"] = round(report["round_trip"]["median"], 3)
                    say(
                        f"{size} × {payload} B directed, {workers} client worker(s): median "
                        f"{report['round_trip']['median']:.3f} s, "
                        f"{report['tests']['complete']}/5 complete"
                    )
            rows.append(row)
        after = nats_rss(servers) - idle
        for row in rows:
            row["nats_kib_per_connection_after_runs"] = round(after / conns / 1024, 1)
    finally:
        for part in (broker, emulator, fed):
            if part is not None:
                part.stop()
        owner.stop()
    return rows


# ---- files ------------------------------------------------------------------------------------
FIELDS = [
    "nodes",
    "payload",
    "servers",
    "emulator_workers",
    "requests",
    "complete",
    "connect_s",
    "discovered",
    "discovery_s",
    "rt_min_s",
    "rt_median_s",
    "rt_p95_s",
    "replies_per_s",
    "emulator_pss_kib_per_instance",
    "emulator_rss_kib_per_instance",
    "nats_kib_per_connection",
    "nats_kib_per_connection_after_runs",
    "nats_rss_mib_after",
    "federation_rt_median_s",
    "federation_added_ms",
    "federation_pairs",
    "federation_complete",
    "direct_w1_median_s",
    "direct_w2_median_s",
    "measured_at",
    "load_before",
]


def merge(path: Path, rows: list[dict[str, Any]], machine: dict[str, Any]) -> dict[str, Any]:
    data = json.loads(path.read_text()) if path.exists() else {"runs": []}
    fresh = {(r["nodes"], r["payload"]) for r in rows}
    data["runs"] = sorted(
        [r for r in data["runs"] if (r["nodes"], r["payload"]) not in fresh] + rows,
        key=lambda r: (r["nodes"], r["payload"]),
    )
    data["machine"] = machine
    data["original"] = ORIGINAL
    path.write_text(json.dumps(data, indent=2) + "\n")
    return data


def write_csv(path: Path, runs: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(runs)


def _save(plt: Any, fig: Any, ax: Any, path: Path, ylabel: str, title: str) -> None:
    """Nodes on a log x axis against ``ylabel``: label, grid, legend, write and close the figure."""
    ax.set_xscale("log")
    ax.set_xlabel("nodes")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plots(out: Path, runs: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5), dpi=100)
    for payload in sorted({r["payload"] for r in runs}):
        sel = [r for r in runs if r["payload"] == payload]
        xs = [r["nodes"] for r in sel]
        med = [r["rt_median_s"] for r in sel]
        ax.errorbar(
            xs,
            med,
            yerr=[[m - r["rt_min_s"] for m, r in zip(med, sel)], [r["rt_p95_s"] - m for m, r in zip(med, sel)]],
            fmt="o-",
            capsize=4,
            label=f"this project, {payload} B (median, min–p95)",
        )
        fed = [r for r in sel if r.get("federation_rt_median_s") is not None]
        if fed:
            ax.plot(
                [r["nodes"] for r in fed],
                [r["federation_rt_median_s"] for r in fed],
                "x--",
                label=f"via Federation Broker, {payload} B",
            )
    ax.plot([2000], [1.5], "s", color="grey", label="original: 2,000 on a laptop (≈1.5 s)")
    ax.errorbar(
        [50264],
        [19.14],
        yerr=[[19.14 - 18.1], [20.5 - 19.14]],
        fmt="s",
        color="black",
        capsize=4,
        label="original: 50,264 nodes, ~60 VMs",
    )
    ax.axhline(10, color="red", linestyle=":", label="goal at 50,000: 10 s")
    ax.set_yscale("log")
    _save(
        plt,
        fig,
        ax,
        out / "loadtest_round_trip.png",
        "round trip to all nodes (s)",
        "emulated0#generate round trip vs network size (one 2-core machine)",
    )

    fig, ax = plt.subplots(figsize=(10, 5), dpi=100)
    first = [r for r in runs if r["payload"] == min(r2["payload"] for r2 in runs)]
    xs = [r["nodes"] for r in first]
    ax.plot(xs, [r["emulator_pss_kib_per_instance"] for r in first], "o-", label="emulator PSS per instance")
    ax.plot(xs, [r["nats_kib_per_connection"] for r in first], "o-", label="nats-server RSS per connection (connected)")
    ax.plot(
        xs,
        [r.get("nats_kib_per_connection_after_runs") for r in first],
        "o--",
        label="nats-server RSS per connection (after the suites)",
    )
    ax.axhline(33, color="grey", linestyle=":", label="original NATS: ≈33 KiB/conn (1.6 GB / 50k)")
    _save(plt, fig, ax, out / "loadtest_memory.png", "KiB", "memory per emulated node")


def markdown(data: dict[str, Any]) -> str:
    runs, machine = data["runs"], data["machine"]
    lines = [
        "# Load-test benchmark: `choria-emulator measure` from 1,000 to 50,000 nodes",
        "",
        "Written by `bench/loadtest_bench.py` (`make bench-loadtest`, one size at a time with `SIZES=...`);",
        "every figure below comes from a real run on this project's machine. Do not edit by hand.",
        "",
        f"Machine: {machine['cpus']} cores, {machine['memory_gib']} GiB, {machine['os']}, Python {machine['python']}, "
        f"{machine['nats_server']}, choria-emulator {machine['choria_emulator']}. The machine is shared: each run "
        "records its start time (UTC) and the 1-minute load average before it; sizes from 20,000 ran only once the "
        "load was low.",
        "",
        "Method per size: fresh nats-server(s) (a 3-server cluster with routes above 15,000 nodes: one server takes <",
        "20,000 connections here), one `choria-emulator emulate` (1 agent, 1 collective) spreading its instances over",
        "the servers, a client on the first server. Discovery = broadcast discovery of `emulated0` until every node",
        "answered. Round trip = one broadcast `emulated0#generate` until every node's reply is in (the suite's",
        "`request_duration`), over 10 requests (5 from 20,000 nodes). Emulator memory = PSS of the supervisor and",
        "workers / nodes; nats-server memory = RSS above the idle servers / connections. Federation (up to 10,000",
        "nodes): a federation nats-server and one `choria-emulator federation` broker in front of the network; the",
        "suite median through it, and the broker's added latency as the median difference of 7 direct and 7 federated",
        "round trips taken alternately (so load drifts cancel).",
        "",
        "## Results",
        "",
        "Sizes from 20,000 run on three nats-servers: every message crosses a route, and three Go servers share the 2",
        "cores with the emulator and the client, so the curve steps up there; compare rows of the same shape for",
        "trends.",
        "",
        "| nodes | NATS servers | payload | discovery | round trip min / median / p95 | replies/s | complete | "
        "emulator KiB/node | nats KiB/conn (connected → after) | via Federation Broker: suite median (added) | "
        "measured (UTC), load |",
        "| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for r in runs:
        fed = (
            f"{r['federation_rt_median_s']:.3f} s ({r['federation_added_ms']:+.0f} ms)"
            if r.get("federation_rt_median_s") is not None
            else "–"
        )
        lines.append(
            f"| {r['nodes']:,} | {r['servers']} | {r['payload']} B | {r['discovery_s']:.2f} s | {r['rt_min_s']:.3f} / "
            f"**{r['rt_median_s']:.3f}** / {r['rt_p95_s']:.3f} s "
            f"| {r['replies_per_s']:,} | {r['complete']}/{r['requests']} | {r['emulator_pss_kib_per_instance']} | "
            f"{r['nats_kib_per_connection']} → {r.get('nats_kib_per_connection_after_runs', '–')} "
            f"| {fed} | {r['measured_at'][:16].replace('T', ' ')}, {r['load_before']} |"
        )
    workers = [r for r in runs if r.get("direct_w1_median_s") is not None]
    if workers:
        lines += [
            "",
            "## `measure --workers`: one or two client processes (directed requests)",
            "",
            "| nodes | payload | 1 worker: median | 2 workers: median | measured (UTC) |",
            "| ---: | ---: | ---: | ---: | --- |",
        ]
        for r in workers:
            lines.append(
                f"| {r['nodes']:,} | {r['payload']} B | {r['direct_w1_median_s']:.3f} s | "
                f"{r['direct_w2_median_s']:.3f} s | {r['measured_at'][:16].replace('T', ' ')} |"
            )
        lines += [
            "",
            "On this 2-core machine the emulator and nats-server need the second core, so a second client process "
            "does not",
            "shorten the round trip; `--workers` is for a client host with cores of its own (docs/scaling.md).",
        ]
    lines += [
        "",
        "## The original's published figures (protocol.md §4.8), for comparison",
        "",
        "| source | nodes | NATS servers | payload | round trip | memory | note |",
        "| --- | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for o in data["original"]:
        lines.append(
            f"| {o['source']} | {o['nodes']:,} | {o['servers'] or '–'} | "
            f"{str(o['payload']) + ' B' if o['payload'] else '–'} | {o['rt'] or '–'} | {o['memory'] or '–'} | "
            f"{o['note']} |"
        )
    largest = max(r["nodes"] for r in runs)
    big = [r for r in runs if r["nodes"] >= 50_000]
    if big:
        best = min(big, key=lambda r: r["rt_median_s"])
        lines += [
            "",
            f"At {best['nodes']:,} nodes on {best['servers']} nats-servers on this one machine the median round trip "
            "was "
            f"{best['rt_median_s']:.2f} s (goal ≤ 10 s); the original needed ~60 VMs for 50,264 nodes and took "
            "18.1–20.5 s.",
        ]
    lines += [
        "",
        "## Plots",
        "",
        "![round trip vs size](loadtest_round_trip.png)",
        "",
        "![memory per node](loadtest_memory.png)",
        "",
        f"Reply arrivals at {largest:,} nodes, {runs[0]['payload']} B (replies per 10 ms, one line per request; every "
        "size has its",
        "`loadtest_arrivals_<nodes>.png`):",
        "",
        f"![arrivals](loadtest_arrivals_{largest}.png)",
        "",
        "Raw figures: [loadtest.json](loadtest.json), [loadtest.csv](loadtest.csv).",
        "",
    ]
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    version = subprocess.run([find_nats_server(), "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "nats_server": version,
        "choria_emulator": __version__,
    }


def main() -> int:
    out = ARGS.out
    if ARGS.render_only:
        data = json.loads((out / "loadtest.json").read_text())
        write_csv(out / "loadtest.csv", data["runs"])
        plots(out, data["runs"])
        (out / "loadtest.md").write_text(markdown(data))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    all_rows: list[dict[str, Any]] = []
    for size in ARGS.sizes:
        load = wait_for_quiet(ARGS.max_load, ARGS.wait if size >= BIG else ARGS.wait / 6)
        if size >= BIG and load > ARGS.max_load:
            say(f"{size}: skipped, the load average stayed at {load:.2f} (> {ARGS.max_load}); run it again later")
            continue
        with tempfile.TemporaryDirectory(prefix=f"loadtest-{size}-") as workdir:
            rows = bench_size(size, ARGS.payloads, ARGS.federation_max, ARGS.workers_sizes, out, Path(workdir), load)
        all_rows += rows
        data = merge(out / "loadtest.json", rows, machine_info())  # after every size: a later failure keeps this one
        write_csv(out / "loadtest.csv", data["runs"])
        plots(out, data["runs"])
        (out / "loadtest.md").write_text(markdown(data))
    say(f"wrote {out}/loadtest.{{json,csv,md}} and plots ({len(all_rows)} new rows)")
    return 0 if all_rows and all(r["complete"] == r["requests"] for r in all_rows) else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000, 20000, 50000])
    parser.add_argument("--payloads", type=int, nargs="+", default=[10, 1000])
    parser.add_argument(
        "--workers-sizes",
        type=int,
        nargs="*",
        default=[10_000],
        help="sizes also measured directed with 1 and 2 client workers",
    )
    parser.add_argument(
        "--federation-max", type=int, default=10_000, help="largest size also measured through a Federation Broker"
    )
    parser.add_argument(
        "--max-load", type=float, default=1.0, help="1-minute load average under which sizes >= 20,000 run"
    )
    parser.add_argument("--wait", type=float, default=1800, help="seconds to wait for that load before skipping a size")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite the csv, plots and tables from loadtest.json without measuring",
    )
    return parser.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()
    sys.exit(main())
