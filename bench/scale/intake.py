#!/usr/bin/env python3
"""How many replies the project's client takes in per second when the broker is not the limit.

usage: intake.py [--sizes 100000,300000,1000000] [--rounds 3] [--docs docs/benchmarks]

Issue 16's million-node goal (1,000,000 replies of a broadcast ping in ≤ 5 s, ≥ 250,000 replies/s)
needs a machine that runs a million emulated nodes and a broker cluster that delivers their replies
that fast. Whether *our client* would be the limit there can be measured on any machine:
replay_broker.py answers the ping with N ready-made reply frames as fast as the socket takes them,
so what is timed is the client. Per size: the raw MSG counter against the replay broker (what the
replay itself can deliver to one connection), then ``choria-emulator ping --expect N`` and
``discover --expect N`` as processes, with their own publish-to-last-reply figure, wall time and CPU.
Writes client_intake.json and client_intake.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
CLI = [str(BIN / "choria-emulator")]
GOAL_MILLION_S = 5.0
GOAL_RATE = 250_000


def timed(argv: list[str], timeout: float) -> dict:
    """Run ``argv``; its wall time, CPU seconds (user + system) and output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"rc": proc.returncode, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "out": proc.stdout}


class ReplayBroker:
    def __init__(self, n: int):
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "replay_broker.py"), str(n)],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            raise RuntimeError(f"replay_broker.py {n} did not start")
        self.info = json.loads(line)
        self.url = f"127.0.0.1:{self.info['port']}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def one(n: int, rounds: int) -> dict:
    tmo = max(30, n / 20_000)
    broker = ReplayBroker(n)
    try:
        raw = timed(
            [sys.executable, str(HERE / "raw_count.py"), broker.url, str(n), "--rounds", str(rounds), "--timeout",
             str(tmo)],
            tmo * rounds + 30,
        )  # fmt: skip
        raw_result = json.loads(raw["out"].strip().splitlines()[-1])
        start = statistics.median(timed([sys.executable, "-c", "pass"], 30)["wall_s"] for _ in range(3))
        pings = []
        for _ in range(rounds):
            p = timed(CLI + ["ping", "--server", broker.url, "--expect", str(n), "--timeout", str(tmo), "--quiet"],
                      tmo + 60)  # fmt: skip
            m = re.search(r"^(\d+) replies .* overhead: ([\d.]+) ms", p["out"], re.M)
            p.update(replies=int(m.group(1)) if m else 0, own_s=float(m.group(2)) / 1000 if m else None)
            pings.append({k: v for k, v in p.items() if k != "out"})
        d = timed(CLI + ["discover", "--server", broker.url, "--expect", str(n), "--timeout", str(tmo)], tmo + 60)
        found = sum(1 for line in d["out"].splitlines() if line.startswith("node-"))
        discover = {k: v for k, v in d.items() if k != "out"} | {"found": found}
    finally:
        broker.stop()
    own = [p["own_s"] for p in pings if p["own_s"] is not None and p["replies"] == n]
    return {
        "n": n,
        "reply_bytes": broker.info["bytes"] // n,
        "raw": raw_result,
        "interpreter_start_s": start,
        "ping": pings,
        "ping_own_median_s": statistics.median(own) if own else None,
        "ping_rate": round(n / statistics.median(own)) if own else None,
        "discover": discover,
    }


def write(results: list[dict], docs: Path) -> None:
    meta = {
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "load_before": os.getloadavg()[0],
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    (docs / "client_intake.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
    rows = []
    for r in results:
        cpu = statistics.median(p["cpu_s"] for p in r["ping"])
        walls = statistics.median(p["wall_s"] for p in r["ping"])
        own = r["ping_own_median_s"]
        rows.append(
            f"| {r['n']:,} | {r['raw']['median_s']:.3f} s | "
            + (f"{own:.3f} s | {r['ping_rate']:,}" if own else "— | —")
            + f" | {walls - r['interpreter_start_s']:.3f} s | {cpu:.2f} s | "
            f"{r['discover']['found']:,} in {r['discover']['wall_s'] - r['interpreter_start_s']:.3f} s |"
        )
    million = next((r for r in results if r["n"] == 1_000_000 and r["ping_own_median_s"]), None)
    verdict = (
        f"`choria-emulator ping` took in 1,000,000 replies in {million['ping_own_median_s']:.2f} s (its own "
        f"publish-to-last-reply, median of {len(million['ping'])}), {million['ping_rate']:,} replies/s "
        f"(goals: ≤ {GOAL_MILLION_S:g} s, ≥ {GOAL_RATE:,}/s)"
        if million
        else "no 1,000,000 run"
    )
    text = f"""# Client intake: replies per second when the broker is not the limit (issue 16)

`make bench-client-intake` (bench/scale/intake.py) on {meta["machine"]}, load {meta["load_before"]:.1f} before,
{meta["measured"]}. bench/scale/replay_broker.py stands in for the broker: when the discovery ping is published it
writes N real reply transports (`node-0` ... from the emulator's own reply encoder, {results[0]["reply_bytes"]} bytes
each) to the client's reply subscription as fast as the socket takes them, so what is timed is the client (on this
machine the replay broker and the client share its cores). The 16-core run of docs/benchmarks/scale.md needs a
machine with a million emulated nodes and a broker cluster that can deliver them; this page answers the half of
the question that does not: whether our client would be what limits it.

{verdict}.

| replies | raw counter | `ping` own | `ping` replies/s | `ping` − start | `ping` CPU | `discover` (printed, − start) |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{chr(10).join(rows)}

*raw counter*: bench/scale/raw_count.py against the replay broker (no decoding; what the replay can deliver to
one connection, median of its rounds). *own*: the command's publish-to-last-reply figure (median). *− start*:
process wall time minus the interpreter's start. *CPU*: user + system seconds of the process (median), which
includes the interpreter start, imports and the statistics over every reply.
"""
    (docs / "client_intake.md").write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,300000,1000000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--docs", default="docs/benchmarks")
    args = ap.parse_args()
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        print(f"client intake: {n:,} replies", flush=True)
        results.append(one(n, args.rounds))
        r = results[-1]
        print(f"  raw {r['raw']['median_s']} s, ping own {r['ping_own_median_s']} s ({r['ping_rate']}/s)", flush=True)
    write(results, Path(args.docs))
    print(f"wrote {args.docs}/client_intake.md, client_intake.json")


if __name__ == "__main__":
    main()
