#!/usr/bin/env python3
"""`make bench-emulator`: memory per instance, connect time and all-replies times against size.

For every network size and agent/collective shape it starts a fresh nats-server (a cluster
of several when one server cannot hold the connections: 20,000 open files per process here),
a fresh `choria-emulator emulate`, and a nats-py client in this process, then measures:

* connect: seconds from the emulator's start until every instance is connected and subscribed
  (the emulator's own `all_connected_after`, confirmed by polling /debug/vars);
* RSS: the emulator's supervisor + workers (from /proc via /debug/vars), per instance gross
  (total / N) and marginal (slope over the sizes);
* ping and `emulated0#generate size=100`: time until every instance's reply is in, ROUNDS
  rounds each; median, min and max are reported.

Writes docs/benchmarks/emulator.{json,csv,md} and PNG plots; prints every figure as it goes.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from choria_emulator import __version__
from choria_emulator.client import ChoriaClient, ClientConfig, ping, rpc
from choria_emulator.testing.localnet import Emulator, NatsServer

ROUNDS = 7
PER_SERVER = 15000  # stay well below the ~19,990 connections one nats-server can take here
SHAPES = {"1x1": (1, 1), "10x10": (10, 10)}


def start_cluster(count: int, workdir: Path) -> list[NatsServer]:
    if count == 1:
        return [NatsServer.start(workdir=workdir / "nats0")]
    import socket

    ports = []
    for _ in range(count):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    routes = ",".join(f"nats://127.0.0.1:{p}" for p in ports)
    return [
        NatsServer.start(
            "--cluster_name",
            "bench",
            "--cluster",
            f"nats://127.0.0.1:{port}",
            "--routes",
            routes,
            workdir=workdir / f"nats{i}",
        )
        for i, port in enumerate(ports)
    ]


def proc_field(pid: int, name: str, path: str = "status") -> int:
    """A ``kB`` field of /proc/PID/status (VmRSS) or /proc/PID/smaps_rollup (Pss), in bytes."""
    try:
        with open(f"/proc/{pid}/{path}") as fh:
            for line in fh:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def proc_rss(pid: int) -> int:
    return proc_field(pid, "VmRSS")


def emulator_pss(emulator: Emulator, dv: dict) -> int:
    """Proportional set size: forked workers share the supervisor's pages, RSS counts them twice."""
    pids = [emulator.pid] + [w["pid"] for w in dv["workers"]]
    return sum(proc_field(pid, "Pss", "smaps_rollup") for pid in pids)


async def rounds(url: str, expect: int) -> dict[str, list[float]]:
    config = ClientConfig.load(servers=[url], search_default_files=False, identity="bench-client")
    out: dict[str, list[float]] = {"ping": [], "generate": []}
    async with ChoriaClient(config) as client:
        warm = await ping(client, timeout=30, expect=expect)
        if warm.count != expect:
            raise SystemExit(f"warm-up ping got {warm.count}/{expect} replies")
        nodes = sorted(warm.times)
        for _ in range(ROUNDS):
            result = await ping(client, timeout=30, expect=expect)
            if result.count != expect:
                raise SystemExit(f"ping got {result.count}/{expect}")
            out["ping"].append(result.duration)
            await asyncio.sleep(0.2)
        for _ in range(ROUNDS):
            res = await rpc(client, "emulated0", "generate", {"size": 100}, targets=nodes, directed=False, timeout=30)
            if res.stats.ok != expect:
                raise SystemExit(f"generate got {res.stats.ok}/{expect} OK")
            out["generate"].append(res.stats.request_duration)
            await asyncio.sleep(0.2)
    return out


def measure(size: int, shape: str, workdir: Path, loop: str) -> dict:
    agents, collectives = SHAPES[shape]
    servers = start_cluster(max(1, math.ceil(size / PER_SERVER)), workdir)
    emulator = None
    try:
        workers = max(os.cpu_count() or 1, math.ceil(size / 18000))
        emulator = Emulator.start(
            [s.url for s in servers],
            size,
            "--agents",
            str(agents),
            "--collectives",
            str(collectives),
            "--workers",
            str(workers),
            "--loop",
            loop,
            name="bench",
            workdir=workdir / "emu",
            timeout=300,
        )
        time.sleep(1.5)  # one stats tick so RSS figures are current
        dv = emulator.debug_vars()
        row = {
            "instances": size,
            "shape": shape,
            "agents": agents,
            "collectives": collectives,
            "subscriptions_per_instance": dv["subscriptions_per_instance"],
            "nats_servers": len(servers),
            "workers": workers,
            "loop": loop,
            "connect_s": dv["all_connected_after"],
            "rss_bytes": dv["rss"],
            "rss_per_instance_kib": dv["rss"] / size / 1024,
            "pss_bytes": (pss := emulator_pss(emulator, dv)),
            "pss_per_instance_kib": pss / size / 1024,
            "worker_rss_bytes": sum(w["rss"] for w in dv["workers"]),
        }
        if shape == "1x1":
            times = asyncio.run(rounds(servers[0].url, size))
            for kind, values in times.items():
                row[f"{kind}_median_s"] = statistics.median(values)
                row[f"{kind}_min_s"] = min(values)
                row[f"{kind}_max_s"] = max(values)
        row["nats_rss_bytes"] = sum(proc_rss(s.pid) for s in servers)
        row["nats_rss_per_connection_kib"] = row["nats_rss_bytes"] / size / 1024
        return row
    finally:
        if emulator is not None:
            emulator.stop()
        for server in servers:
            server.stop()


def marginal_kib(rows: list[dict], shape: str, key: str = "rss_bytes") -> float | None:
    pts = [(r["instances"], r[key]) for r in rows if r["shape"] == shape and key in r]
    if len(pts) < 2:
        return None
    xs, ys = zip(*pts)
    return statistics.linear_regression(xs, ys).slope / 1024


def _save(fig, ax, path: Path, ylabel: str, title: str) -> str:
    """Label, legend and grid the plot of instances against ``ylabel``, write it; its file name."""
    ax.set_xlabel("emulated instances")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path.name


def plot(rows: list[dict], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    one = sorted((r for r in rows if r["shape"] == "1x1"), key=lambda r: r["instances"])
    ten = sorted((r for r in rows if r["shape"] == "10x10"), key=lambda r: r["instances"])

    fig, ax = plt.subplots(figsize=(7, 4))
    for series, label in ((one, "1 agent, 1 collective (5 subs)"), (ten, "10 agents, 10 collectives (140 subs)")):
        if series:
            ax.plot(
                [r["instances"] for r in series], [r["rss_per_instance_kib"] for r in series], marker="o", label=label
            )
    ax.axhline(20, color="grey", linestyle="--", linewidth=0.8, label="goal 1x1: 20 KiB")
    ax.axhline(64, color="grey", linestyle=":", linewidth=0.8, label="goal 10x10: 64 KiB")
    written.append(
        _save(
            fig, ax, out / "emulator_rss.png", "emulator RSS per instance (KiB, gross)", "Memory per emulated instance"
        )
    )

    fig, ax = plt.subplots(figsize=(7, 4))
    for series, label in ((one, "1x1"), (ten, "10x10")):
        if series:
            ax.plot([r["instances"] for r in series], [r["connect_s"] for r in series], marker="o", label=label)
    ax.axhline(10, color="grey", linestyle="--", linewidth=0.8, label="goal: 10,000 in 10 s")
    written.append(
        _save(fig, ax, out / "emulator_connect.png", "seconds until all connected and subscribed", "Connect time")
    )

    if one and "ping_median_s" in one[0]:
        fig, ax = plt.subplots(figsize=(7, 4))
        xs = [r["instances"] for r in one]
        for kind, label in (("ping", "ping"), ("generate", "emulated0#generate size=100")):
            med = [r[f"{kind}_median_s"] for r in one]
            lo = [r[f"{kind}_median_s"] - r[f"{kind}_min_s"] for r in one]
            hi = [r[f"{kind}_max_s"] - r[f"{kind}_median_s"] for r in one]
            ax.errorbar(xs, med, yerr=[lo, hi], marker="o", capsize=3, label=f"{label} (median, min-max)")
        ax.axhline(1.0, color="grey", linestyle="--", linewidth=0.8, label="goal ping 10k: 1 s")
        ax.axhline(1.5, color="grey", linestyle=":", linewidth=0.8, label="goal generate 10k: 1.5 s")
        written.append(
            _save(
                fig,
                ax,
                out / "emulator_round_trip.png",
                "seconds until every reply is in",
                "Round trip to every instance",
            )
        )
    plt.close("all")
    return written


def markdown(rows: list[dict], meta: dict) -> str:
    def fmt(value, spec=".2f"):
        return "–" if value is None else format(value, spec)

    lines = [
        "# Emulator benchmark",
        "",
        f"Written by `make bench-emulator` (`bench/emulator_bench.py`) on {meta['date']}: {meta['machine']}, "
        f"Python {meta['python']}, choria-emulator {meta['version']}, {ROUNDS} rounds per figure. "
        "Every row is a fresh nats-server (a routed cluster above 15,000 instances) and a fresh emulator "
        "with `--workers` = CPU count; the client is nats-py in a third process. RSS is the emulator's "
        "supervisor plus workers; per instance is gross (total / N, interpreters included). RSS counts the "
        "pages forked workers share with the supervisor once per process; PSS splits them, so PSS is the "
        "memory the emulator really costs.",
        "",
        "| instances | agents × collectives | subs/instance | NATS servers | connect all (s) | emulator RSS (MiB) | "
        "RSS/instance (KiB) | PSS/instance (KiB) | ping all replies, median (min–max) s | generate size=100 all "
        "replies, median (min–max) s | nats-server RSS/conn (KiB) |",
        "| ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    for r in sorted(rows, key=lambda r: (r["shape"], r["instances"])):
        ping_ = (
            f"{fmt(r.get('ping_median_s'), '.3f')} "
            f"({fmt(r.get('ping_min_s'), '.3f')}–{fmt(r.get('ping_max_s'), '.3f')})"
            if "ping_median_s" in r
            else "–"
        )
        gen = (
            f"{fmt(r.get('generate_median_s'), '.3f')} "
            f"({fmt(r.get('generate_min_s'), '.3f')}–{fmt(r.get('generate_max_s'), '.3f')})"
            if "generate_median_s" in r
            else "–"
        )
        lines.append(
            f"| {r['instances']:,} | {r['agents']} × {r['collectives']} | {r['subscriptions_per_instance']} | "
            f"{r['nats_servers']} | "
            f"{fmt(r['connect_s'])} | {r['rss_bytes'] / 2**20:.0f} | {r['rss_per_instance_kib']:.1f} | "
            f"{fmt(r.get('pss_per_instance_kib'), '.1f')} | {ping_} | {gen} | {r['nats_rss_per_connection_kib']:.0f} |"
        )
    lines += ["", "Marginal memory per added instance (least-squares slope over the sizes above):", ""]
    for shape, (agents, collectives) in SHAPES.items():
        lines.append(
            f"- {agents} agent(s) × {collectives} collective(s): RSS {fmt(marginal_kib(rows, shape), '.1f')} KiB, "
            f"PSS {fmt(marginal_kib(rows, shape, 'pss_bytes'), '.1f')} KiB"
        )
    lines += [
        "",
        "Goals (docs/architecture.md): ≤ 20 KiB per instance at 1×1, ≤ 64 KiB at 10×10, 10,000 connected in ≤ 10 s, "
        "ping to 10,000 with all replies in ≤ 1 s, generate size 100 to 10,000 in ≤ 1.5 s. "
        "The Go choria-emulator ran 750–1,000 instances per 2 GB VM (≈ 2 MiB each) and took ≈ 1.5 s per round trip "
        "to 2,000 instances on a laptop (protocol.md §4.8).",
        "",
        *natspy_section(Path(meta["out"])),
        "![RSS per instance](emulator_rss.png)",
        "![connect time](emulator_connect.png)",
        "![round trip](emulator_round_trip.png)",
        "",
    ]
    return "\n".join(lines)


def natspy_section(out: Path) -> list[str]:
    """The measured reason the instances use `natsproto` and not nats-py (bench/natspy_baseline.py)."""
    path = out / "natspy_baseline.json"
    if not path.exists():
        return []
    lines = [
        "Why not nats-py for the instances (`bench/natspy_baseline.py`, same machine): one process holding "
        "N nats-py connections with S callback subscriptions each grows by",
        "",
        "| nats-py connections | subscriptions each | RSS growth per connection (KiB) |",
        "| ---: | ---: | ---: |",
    ]
    for row in json.loads(path.read_text())["rows"]:
        lines.append(f"| {row['connections']:,} | {row['subscriptions_each']} | {row['kib_per_connection']:.1f} |")
    lines += [
        "",
        "nats-py gives every subscription with a callback its own queue and task; the emulator's `natsproto` "
        "connection keeps one parser buffer per connection and shares the subscription table of a worker, "
        "so an instance costs the marginal figures above. Clients and tools keep using nats-py.",
        "",
    ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="+", type=int, default=[1000, 2000, 5000, 10000, 20000])
    parser.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=sorted(SHAPES))
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    parser.add_argument("--out", default="docs/benchmarks")
    parser.add_argument("--workdir", default=".tmp/bench-emulator")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "emulator.json"
    previous = json.loads(json_path.read_text())["rows"] if json_path.exists() else []
    measured = []
    for shape in args.shapes:
        for size in args.sizes:
            workdir = Path(args.workdir) / f"{shape}-{size}"
            print(f"== {size} instances, shape {shape} ...", flush=True)
            row = measure(size, shape, workdir, args.loop)
            measured.append(row)
            print(
                "   " + json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True
            )
    keys = {(r["instances"], r["shape"]) for r in measured}
    rows = [r for r in previous if (r["instances"], r["shape"]) not in keys] + measured  # `SIZES=10000` updates one row
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {round(memory / 2**30)} GiB",
        "python": platform.python_version(),
        "version": __version__,
        "rounds": ROUNDS,
        "out": str(out),
    }
    json_path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    with open(out / "emulator.csv", "w", newline="") as fh:
        fields = sorted({k for r in rows for k in r})
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    plots = plot(rows, out)
    (out / "emulator.md").write_text(markdown(rows, meta))
    print(
        f"wrote {json_path}, {out / 'emulator.csv'}, {out / 'emulator.md'}, " + ", ".join(str(out / p) for p in plots)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
