#!/usr/bin/env python3
"""Turn scale runs (scale.py's results.jsonl) into docs/benchmarks/scale.md, scale.json and the plots.

usage: report.py [--add LABEL DIR ...] [--docs docs/benchmarks]
  --add LABEL DIR: the results.jsonl (and machine.txt, when there) in DIR replace that machine's stored results
  (a size measured again replaces the old one); without --add the page is rewritten from scale.json.

Every machine's runs stay in scale.json, so `make bench-scale` on a 2-core machine keeps the 16-core device's
figures, and the device's results do not erase the local ones. The goals of issue 16 are judged from what is
stored: met, missed (with the measured figure and what limited it), or not measured.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

GOAL_RATE = 250_000  # replies/s on a 16-core machine
GOAL_MILLION_S = 5.0  # 1,000,000 replies of a broadcast ping, end to end
GOAL_RATIO = 1.3  # ping within 1.3 x the raw MSG counter at 20,000 nodes on a 2-core machine
KEEP_STEP_KEYS = {
    "wall_s", "rc", "cpu_s", "connected_before", "connected_after", "slow_consumers_delta", "nats_cpu_s",
    "emulator_cpu_s", "result", "replies", "own_s", "found", "responded", "discovered", "ok", "report", "skipped",
    "stderr_tail",
}  # fmt: skip


def slim(result: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in result.items() if k != "steps"}
    steps = {}
    for name, step in (result.get("steps") or {}).items():
        kept = {k: v for k, v in step.items() if k in KEEP_STEP_KEYS}
        if kept.get("rc") == 0:
            kept.pop("stderr_tail", None)
        elif "stderr_tail" in kept:
            kept["stderr_tail"] = kept["stderr_tail"][-300:]
        report = kept.get("report")
        if isinstance(report, dict) and isinstance(report.get("cpu"), dict):
            report["cpu"] = {k: v for k, v in report["cpu"].items() if k != "tests"}
        steps[name] = kept
    if steps:
        out["steps"] = steps
    return out


def median(values: list[float]) -> float | None:
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def figures(r: dict[str, Any]) -> dict[str, Any]:
    """The numbers of one size that the tables and goals use (None where a step did not give them)."""
    steps = r.get("steps") or {}
    n = r["n"]
    raw = (steps.get("raw_count") or {}).get("result") or {}
    ref = (steps.get("ping_all") or {}).get("result") or {}
    pings = [s for name, s in steps.items() if name.startswith("ping_") and name[5:].isdigit()]
    start = r.get("interpreter_start_s") or 0.0
    f: dict[str, Any] = {"n": n, "servers": r.get("servers"), "cpus": r.get("cpus"), "connect_s": r.get("connect_s")}
    f["emu_pss"] = r.get("emu_pss_kib_per_inst")
    f["nats_kib"] = r.get("nats_rss_kib_per_conn")
    f["raw_s"] = raw.get("median_s")
    f["ref_s"] = ref.get("median_s")
    complete = [p for p in pings if p.get("rc") == 0 and p.get("replies", 0) >= n]
    f["ping_ok"] = f"{len(complete)}/{len(pings)}"
    f["ping_own_s"] = median([p.get("own_s") for p in complete])
    wall = median([p.get("wall_s") for p in complete])
    f["ping_net_s"] = wall - start if wall is not None else None
    f["ratio"] = f["ping_net_s"] / f["raw_s"] if f["ping_net_s"] and f["raw_s"] else None
    f["ping_rate"] = n / f["ping_own_s"] if f["ping_own_s"] else None
    disc = steps.get("discover") or {}
    f["discover_net_s"] = disc["wall_s"] - start if disc.get("rc") == 0 and disc.get("found") == n else None
    f["discover_rate"] = n / f["discover_net_s"] if f["discover_net_s"] else None
    rpc = steps.get("rpc") or {}
    f["rpc_own_s"] = rpc.get("own_s") if rpc.get("ok") == n else None
    f["rpc_rate"] = n / f["rpc_own_s"] if f["rpc_own_s"] else None
    report = (steps.get("measure") or {}).get("report") or {}
    tests = report.get("tests") or {}
    complete_suite = tests.get("count") and tests.get("complete") == tests.get("count")
    f["measure_rt"] = (report.get("round_trip") or {}).get("median") if complete_suite else None
    f["measure_rate"] = report.get("replies_per_second") if complete_suite else None
    cpu = report.get("cpu") or {}
    f["measure_client_cpu"] = cpu.get("client_percent_median")
    f["measure_limit"] = cpu.get("limit")
    f["collectors"] = r.get("collectors", 1)
    measured = [s for s in steps.values() if "connected_after" in s]
    f["dropped"] = max([n - (s.get("connected_after") or 0) for s in measured] or [0]) if measured else None
    f["slow_consumers"] = sum(s.get("slow_consumers_delta") or 0 for s in measured) if measured else None
    f["error"] = r.get("error") or r.get("skipped")
    return f


def num(value: Any, fmt: str = "{:.2f}", none: str = "–") -> str:
    return none if value is None else fmt.format(value)


def load(path: Path) -> dict[str, Any]:
    if path.exists():
        return json.loads(path.read_text())
    return {"machines": {}}


def add(store: dict[str, Any], label: str, directory: Path) -> None:
    results = [json.loads(line) for line in (directory / "results.jsonl").read_text().splitlines() if line.strip()]
    machine_txt = directory / "machine.txt"
    entry = store["machines"].setdefault(label, {"results": []})
    if machine_txt.exists():
        entry["machine"] = machine_txt.read_text()[:2000]
    by_size = {r["n"]: r for r in entry["results"]}
    for r in results:
        if r.get("skipped") and r["n"] in by_size and not by_size[r["n"]].get("skipped"):
            continue  # a skipped size does not erase an earlier measurement
        by_size[r["n"]] = slim(r)
    entry["results"] = [by_size[n] for n in sorted(by_size)]


def client_intake(docs: Path) -> str | None:
    """The 1,000,000-reply figure of bench/scale/intake.py, when client_intake.json is there."""
    path = docs / "client_intake.json"
    if not path.exists():
        return None
    intake = json.loads(path.read_text())
    million = next((r for r in intake["results"] if r["n"] == 1_000_000 and r.get("ping_own_median_s")), None)
    if million is None:
        return None
    meta = intake["meta"]
    return (
        f"`choria-emulator ping` took in 1,000,000 replies in {million['ping_own_median_s']:.2f} s, "
        f"{million['ping_rate']:,} replies/s, on {meta['machine'].split(',')[0]} shared with the replay broker"
    )


def goals(store: dict[str, Any], docs: Path) -> list[str]:
    """One line per goal of issue 16: met, missed (figure, limit) or not measured."""
    lines = []
    big = [
        (label, figures(r))
        for label, m in store["machines"].items()
        for r in m["results"]
        if (r.get("cpus") or 0) >= 16 and not r.get("skipped")
    ]
    million = [(label, f) for label, f in big if f["n"] >= 1_000_000]
    if million:
        label, f = million[-1]
        net = f["ping_net_s"]
        verdict = "**met**" if net is not None and net <= GOAL_MILLION_S else "**missed**"
        lines.append(
            f"- 1,000,000 replies of a broadcast ping in ≤ {GOAL_MILLION_S:g} s end to end ({label}): {verdict}: "
            f"`choria-emulator ping` {num(net)} s without interpreter start ({num(f['ping_own_s'])} s its own "
            f"publish-to-last-reply), the broker's raw delivery to one connection {num(f['raw_s'])} s, "
            f"the nats-py reference client {num(f['ref_s'])} s; instances lost: {num(f['dropped'], '{:,}')}."
        )
        for name, key in (("ping", "ping_rate"), ("discover", "discover_rate"), ("rpc", "rpc_rate"),
                          ("measure", "measure_rate")):  # fmt: skip
            rate = f[key]
            verdict = "**met**" if rate is not None and rate >= GOAL_RATE else "**missed**"
            limit = ""
            if rate is not None and rate < GOAL_RATE and f["raw_s"]:
                limit = f" (the broker delivered {f['n'] / f['raw_s']:,.0f} replies/s to one raw connection)"
            lines.append(
                f"- `{name}` ≥ {GOAL_RATE:,} replies/s at {f['n']:,} nodes ({label}): {verdict}: "
                f"{num(rate, '{:,.0f}')} replies/s{limit}."
            )
    else:
        lines.append(
            f"- 1,000,000 nodes on a 16-core machine (≤ {GOAL_MILLION_S:g} s, ≥ {GOAL_RATE:,} replies/s): "
            "**not measured yet** (bench/scale/device-run.sh on the device; see docs/scaling.md)."
        )
        intake = client_intake(docs)
        if intake:
            source = "[client_intake.md](client_intake.md)"
            lines.append(f"  - The client alone, against a replay broker ({source}): {intake}.")
    small = [
        (label, figures(r))
        for label, m in store["machines"].items()
        for r in m["results"]
        if r.get("cpus") == 2 and r["n"] == 20000 and not r.get("skipped")
    ]
    if small:
        label, f = small[-1]
        ratio = f["ratio"]
        verdict = "**met**" if ratio is not None and ratio <= GOAL_RATIO else "**missed**"
        lines.append(
            f"- 2 cores, 20,000 nodes: `choria-emulator ping` within {GOAL_RATIO} × the raw MSG counter ({label}): "
            f"{verdict}: {num(f['ping_net_s'])} s (process wall minus interpreter start) against "
            f"{num(f['raw_s'])} s, {num(ratio, '{:.2f}')} ×."
        )
    else:
        lines.append(f"- 2 cores, 20,000 nodes, ping within {GOAL_RATIO} × the raw counter: **not measured yet**.")
    every = [figures(r) for m in store["machines"].values() for r in m["results"] if not r.get("skipped")]
    measured = [f for f in every if f["dropped"] is not None]
    lost = sum(1 for f in measured if f["dropped"] > 0)
    slow = sum(f["slow_consumers"] or 0 for f in measured)
    verdict = "**met**" if measured and not lost and not slow else ("**missed**" if measured else "**not measured**")
    lines.append(
        f"- No step (raw counter, reference client, ping, discover, rpc, measure) made an emulated instance disconnect "
        f"or a broker count a slow consumer: {verdict}: {len(measured)} sizes, {lost} with lost instances, "
        f"{slow} slow consumers."
    )
    with_cpu = [f for f in every if f["measure_limit"]]
    lines.append(
        "- `measure` reports its own CPU and the brokers' beside the round trips: "
        + (
            f"**met**: every suite's report.json has `cpu` ({len(with_cpu)} sizes; the limit named there is in the "
            "tables below)."
            if with_cpu
            else "**not measured**."
        )
    )
    return lines


def table(label: str, machine: dict[str, Any]) -> list[str]:
    rows = [figures(r) for r in machine["results"]]
    lines = [
        f"### {label}",
        "",
        "| nodes | servers | connected in | emulator PSS/node | nats/conn | raw counter | nats-py reference | "
        "`ping` own | `ping` − start | × raw | `discover` − start | `rpc` (collectors) | `measure` RT median | "
        "measure replies/s (client CPU, limit) | lost / slow |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for f in rows:
        if f["error"] and f["raw_s"] is None:
            lines.append(f"| {f['n']:,} | {f['servers'] or '–'} | {f['error'][:80]} |" + " |" * 12)
            continue
        lines.append(
            f"| {f['n']:,} | {f['servers']} | {num(f['connect_s'], '{:.1f} s')} | {num(f['emu_pss'], '{:.1f} KiB')} | "
            f"{num(f['nats_kib'], '{:.0f} KiB')} | {num(f['raw_s'], '{:.3f} s')} | {num(f['ref_s'], '{:.3f} s')} | "
            f"{num(f['ping_own_s'], '{:.3f} s')} | {num(f['ping_net_s'], '{:.3f} s')} | {num(f['ratio'])} | "
            f"{num(f['discover_net_s'], '{:.3f} s')} | {num(f['rpc_own_s'], '{:.3f} s')} ({f['collectors']}) | "
            f"{num(f['measure_rt'], '{:.3f} s')} | {num(f['measure_rate'], '{:,.0f}')} "
            f"({num(f['measure_client_cpu'], '{:.0f} %')}, {f['measure_limit'] or '–'}) | "
            f"{num(f['dropped'], '{:,}')} / {num(f['slow_consumers'], '{:,}')} |"
        )
    rates = [
        f"{f['n']:,}: ping {num(f['ping_rate'], '{:,.0f}')}, discover {num(f['discover_rate'], '{:,.0f}')}, "
        f"rpc {num(f['rpc_rate'], '{:,.0f}')}, measure {num(f['measure_rate'], '{:,.0f}')}"
        for f in rows
        if f["raw_s"] is not None
    ]
    if rates:
        lines += ["", "Replies per second: " + "; ".join(rates) + "."]
    started = [r.get("started") for r in machine["results"] if r.get("started")]
    loads = [r.get("load_before") for r in machine["results"] if r.get("load_before") is not None]
    if started:
        lines += [
            "",
            f"Measured {min(started)[:16].replace('T', ' ')} – {max(started)[:16].replace('T', ' ')} UTC"
            + (f"; 1-minute load average before each size: {', '.join(str(x) for x in loads)}." if loads else "."),
        ]
    return lines


def plots(store: dict[str, Any], docs: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    series = (("raw_s", "raw MSG counter"), ("ref_s", "nats-py reference"), ("ping_own_s", "ping (own)"),
              ("ping_net_s", "ping − interpreter start"), ("rpc_own_s", "rpc (own)"),
              ("measure_rt", "measure round trip"))  # fmt: skip
    fig, ax = plt.subplots(figsize=(10, 5))
    for index, (label, machine) in enumerate(store["machines"].items()):
        rows = [figures(r) for r in machine["results"] if not r.get("skipped")]
        for key, name in series:
            points = [(f["n"], f[key]) for f in rows if f[key]]
            if points:
                ax.plot(*zip(*points), marker="os^v<>"[index % 6], linestyle="-" if index == 0 else "--",
                        label=f"{name} ({label})")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("nodes")
    ax.set_ylabel("seconds until every reply is in")
    ax.set_title("Broadcast to every node: time to the last reply")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(docs / "scale_times.png", dpi=100)
    plt.close(fig)
    written.append("scale_times.png")
    fig, ax = plt.subplots(figsize=(10, 5))
    for index, (label, machine) in enumerate(store["machines"].items()):
        rows = [figures(r) for r in machine["results"] if not r.get("skipped")]
        for key, name in (("ping_rate", "ping"), ("discover_rate", "discover"), ("rpc_rate", "rpc"),
                          ("measure_rate", "measure")):  # fmt: skip
            points = [(f["n"], f[key]) for f in rows if f[key]]
            if points:
                ax.plot(*zip(*points), marker="os^v<>"[index % 6], linestyle="-" if index == 0 else "--",
                        label=f"{name} ({label})")  # fmt: skip
    ax.axhline(GOAL_RATE, color="red", linewidth=1, label=f"goal {GOAL_RATE:,}/s (16 cores)")
    ax.set_xscale("log")
    ax.set_xlabel("nodes")
    ax.set_ylabel("replies per second")
    ax.set_title("Replies taken in and accounted for per second")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(docs / "scale_rates.png", dpi=100)
    plt.close(fig)
    written.append("scale_rates.png")
    return written


def write(store: dict[str, Any], docs: Path) -> None:
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "scale.json").write_text(json.dumps(store, indent=1, sort_keys=True) + "\n")
    images = plots(store, docs)
    lines = [
        "# Scale: the client and `measure` against 10,000 to 1,000,000 nodes",
        "",
        "Written by `make bench-scale` (bench/scale/: scale.py runs, report.py writes this page, scale.json and the",
        "plots; the 16-core device's runs come from bench/scale/device-run.sh, see docs/scaling.md). Issue 16.",
        "",
        "Per size: a routed nats-server cluster (`max_pending` 1 GiB, `write_deadline` 30 s, as the device-scale",
        "recipe), one `choria-emulator emulate` spread over it, then against the same network:",
        "",
        "* **raw counter** (bench/scale/raw_count.py): one socket, no NATS library, no decoding; publishes the",
        "  discovery ping and only walks the MSG frames until N arrived: the broker's delivery limit as one",
        "  connection sees it (median of its rounds);",
        "* **nats-py reference** (bench/scale/ping_all.py, the recipe's client: nats-py, every reply decoded);",
        "* **`ping`**: `choria-emulator ping --expect N --quiet` as a process: *own* = its publish-to-last-reply",
        "  figure, *− start* = the process's wall time minus the interpreter's start (`python -c pass`), which still",
        "  counts its imports, connections, printing and closing; **× raw** = *− start* / raw counter;",
        "* **`discover --expect N`** (all identities printed) and **`rpc rpcutil ping --broadcast`** (full decode of",
        "  every reply; its own request figure, after a discovery window sized from the raw counter);",
        "* **`measure`**: a suite of `emulated0#generate size=100` broadcasts (full decode), its median round trip,",
        "  replies/s, and from report.json the client's CPU and which side was the limit;",
        "* **lost / slow**: instances that were no longer connected after any step (emulator /debug/vars) and",
        "  slow consumers the brokers counted during the steps (/varz).",
        "",
        "Each machine's table gives the 1-minute load average before each size: above the number of cores, other",
        "work shared them and every column carries that noise (compare the columns of one row, which ran minutes",
        "apart, rather than rows). On 2 cores the emulator, the brokers and the client share the machine, so the",
        "raw counter there measures the whole network's pace, and the client's own CPU is what it takes from it.",
        "",
        "## Goals (issue 16)",
        "",
        *goals(store, docs),
        "",
        "## Results",
        "",
    ]
    for label, machine in store["machines"].items():
        lines += table(label, machine) + [""]
    for image in images:
        lines += [f"![{image}]({image})", ""]
    (docs / "scale.md").write_text("\n".join(lines).rstrip() + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--add", nargs=2, action="append", default=[], metavar=("LABEL", "DIR"))
    ap.add_argument("--docs", default="docs/benchmarks")
    a = ap.parse_args()
    docs = Path(a.docs)
    store = load(docs / "scale.json")
    for label, directory in a.add:
        add(store, label, Path(directory))
    write(store, docs)
    print(f"wrote {docs / 'scale.md'}, {docs / 'scale.json'}")


if __name__ == "__main__":
    main()
