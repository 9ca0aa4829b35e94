#!/usr/bin/env python3
"""Scale run of choria-emulator (issue 16): for each size a routed nats-server cluster and one `choria-emulator
emulate` spread over it; then, against the same network, the broker's delivery limit (raw_count.py: only counts MSG
frames), an independent nats-py client (ping_all.py, the recipe's reference) and the project's own commands: `ping`,
`discover`, `rpc --broadcast` and a `measure` suite, each timed as a process and by its own figures. Around every
step it records the emulated instances still connected (the emulator's /debug/vars) and the brokers' slow-consumer
count (/varz), so a step that drops anyone shows. Every process is stopped by PID; OUT/results.jsonl gets one line
per size as soon as it is done.

usage: scale.py OUT "N:SERVERS:WORKERS ..." [--work DIR] [--budget SECONDS] [--quick] [--label NAME]
  OUT gets results.jsonl and log.txt only; the servers' and the emulator's files go under --work (default OUT/work).
  WORKERS 0 = the emulator's default. --budget: stop starting sizes (and steps) that would not finish in time.
  Each nats-server holds at most ~19,000 clients where the open-files limit is 20,000 per process: choose SERVERS
  and WORKERS so that N / SERVERS and N / WORKERS stay below that.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(sys.executable)
CLI = (
    [os.path.join(BIN, "choria-emulator")]
    if os.path.exists(os.path.join(BIN, "choria-emulator"))
    else [sys.executable, "-m", "choria_emulator"]
)
T_START = time.time()


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("plan")
    ap.add_argument("--work", help="where the servers' and emulators' files go (default OUT/work)")
    ap.add_argument("--budget", type=float, default=float(os.environ.get("BUDGET", "480")))
    ap.add_argument("--quick", action="store_true", help="one round of everything (checking the recipe)")
    ap.add_argument("--label", default=os.environ.get("SCALE_LABEL", ""), help="machine label in the results")
    return ap.parse_args()


ARGS = parse_args()
OUT = ARGS.out
WORK = ARGS.work or os.path.join(OUT, "work")
os.makedirs(OUT, exist_ok=True)
os.makedirs(WORK, exist_ok=True)
LOG = open(os.path.join(OUT, "log.txt"), "a")


def left() -> float:
    return ARGS.budget - (time.time() - T_START)


def say(*a: object) -> None:
    line = f"[{time.strftime('%H:%M:%S')} +{time.time() - T_START:.0f}s] " + " ".join(str(x) for x in a)
    print(line, flush=True)
    LOG.write(line + "\n")
    LOG.flush()


def get_json(url: str, timeout: float = 3) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.load(response)
    except Exception:
        return {}


def rss_tree(pid: int) -> tuple[int, int]:
    kids: dict[int, list[int]] = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                st = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
                kids.setdefault(int(st[1]), []).append(int(p))
            except Exception:
                pass
    tot, todo, pss = 0, [pid], 0
    while todo:
        p = todo.pop()
        todo += kids.get(p, [])
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    tot += int(line.split()[1])
            for line in open(f"/proc/{p}/smaps_rollup"):
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except Exception:
            pass
    return tot, pss


def cpu_of(pid: int) -> float:
    """utime + stime of a process, seconds."""
    try:
        st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")
    except Exception:
        return 0.0


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        try:
            p.send_signal(signal.SIGTERM)
        except Exception:
            pass
    t = time.time()
    for p in procs:
        try:
            p.wait(timeout=max(0.1, 20 - (time.time() - t)))
        except Exception:
            try:
                p.kill()
                p.wait(5)
            except Exception:
                pass


class Network:
    """The cluster and the emulator of one size; ``health()`` is what every step is checked against."""

    def __init__(self, n: int, mons: list[int], emu_http: int, nats_pids: list[int], emu_pid: int):
        self.n, self.mons, self.emu_http, self.nats_pids, self.emu_pid = n, mons, emu_http, nats_pids, emu_pid

    def health(self) -> dict:
        varz = [get_json(f"http://127.0.0.1:{m}/varz") for m in self.mons]
        dv = get_json(f"http://127.0.0.1:{self.emu_http}/debug/vars", timeout=10)
        return {
            "connected": dv.get("connected"),
            "nats_connections": sum(v.get("connections", 0) for v in varz),
            "slow_consumers": sum(v.get("slow_consumers", 0) for v in varz),
            "nats_cpu_s": round(sum(cpu_of(p) for p in self.nats_pids), 2),
            "emulator_cpu_s": round(sum(cpu_of(p) for p in [self.emu_pid] + children(self.emu_pid)), 2),
        }


def children(pid: int) -> list[int]:
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(p))
            except Exception:
                pass
    return out


def step(net: Network, label: str, argv: list[str], limit: float, check: bool = True) -> dict:
    """Run one measuring process; its wall time and CPU, and the network's health around it."""
    limit = min(limit, max(5.0, left() - 15))
    before = net.health() if check else {}
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=limit)
        rc, stdout, stderr = out.returncode, out.stdout, out.stderr
    except subprocess.TimeoutExpired as exc:
        rc, stdout, stderr = "timeout", exc.stdout or "", exc.stderr or ""
        stdout = stdout.decode(errors="replace") if isinstance(stdout, bytes) else stdout
        stderr = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    wall = time.perf_counter() - t0
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = net.health() if check else before
    if not check:
        return {"wall_s": round(wall, 3), "rc": rc, "cpu_s": 0.0}
    res = {
        "wall_s": round(wall, 3),
        "rc": rc,
        "cpu_s": round((usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime), 3),
        "connected_before": before["connected"],
        "connected_after": after["connected"],
        "slow_consumers_delta": after["slow_consumers"] - before["slow_consumers"],
        "nats_cpu_s": round(after["nats_cpu_s"] - before["nats_cpu_s"], 2),
        "emulator_cpu_s": round(after["emulator_cpu_s"] - before["emulator_cpu_s"], 2),
        "stdout_lines": stdout.count("\n"),
        "stdout_tail": stdout[-600:],
        "stderr_tail": stderr[-600:],
    }
    say(
        f"  {label}: rc={rc} wall {wall:.2f} s cpu {res['cpu_s']} s; connected {before['connected']} -> "
        f"{after['connected']}; slow consumers +{res['slow_consumers_delta']}"
    )
    return res


def last_json(text: str) -> dict:
    for line in reversed(text.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return {}


def free_ports(count: int) -> list[int]:
    socks = []
    for _ in range(count):
        so = socket.socket()
        so.bind(("127.0.0.1", 0))
        socks.append(so)
    ports = [so.getsockname()[1] for so in socks]
    for so in socks:
        so.close()
    return ports


def estimate(n: int) -> float:
    """Seconds a size needs (connect, steps, teardown), from the 16-core recipe's figures with slack."""
    return 40 + n * 0.00035


def one(n: int, servers: int, workers: int) -> dict:
    res: dict = {
        "n": n,
        "servers": servers,
        "workers": workers,
        "cpus": os.cpu_count(),
        "label": ARGS.label,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        res["load_before"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    procs: list[subprocess.Popen] = []
    work = os.path.join(WORK, f"run-{n}-{servers}")
    os.makedirs(work, exist_ok=True)
    quick = ARGS.quick
    try:
        free = free_ports(3 * servers + 1)
        ports = [(free[3 * i], free[3 * i + 1], free[3 * i + 2]) for i in range(servers)]
        hp = free[-1]
        nats_bin = shutil.which("nats-server", path=BIN) or shutil.which("nats-server")
        for i, (cp, mp, rp) in enumerate(ports):
            routes = ", ".join(f'"nats://127.0.0.1:{r}"' for _, _, r in ports if r != rp)
            conf = (
                f"listen: 127.0.0.1:{cp}\nhttp: 127.0.0.1:{mp}\nmax_pending: 1073741824\n"
                f'max_connections: 1000000\nwrite_deadline: "30s"\n'
            )
            if servers > 1:
                conf += f"cluster {{\n  name: scale\n  listen: 127.0.0.1:{rp}\n  routes: [{routes}]\n}}\n"
            with open(f"{work}/nats{i}.conf", "w") as fh:
                fh.write(conf)
            procs.append(
                subprocess.Popen(
                    [nats_bin, "-c", f"{work}/nats{i}.conf"],
                    stdout=open(f"{work}/nats{i}.log", "w"),
                    stderr=subprocess.STDOUT,
                )
            )
        t0 = time.time()
        while time.time() - t0 < 30:
            if all(get_json(f"http://127.0.0.1:{mp}/varz") for _, mp, _ in ports) and (
                servers == 1
                or all(
                    len(get_json(f"http://127.0.0.1:{mp}/routez").get("routes") or []) >= servers - 1
                    for _, mp, _ in ports
                )
            ):
                break
            dead = [i for i, p in enumerate(procs) if p.poll() is not None]
            if dead:
                raise RuntimeError(f"nats-server(s) {dead} exited: " + open(f"{work}/nats{dead[0]}.log").read()[-400:])
            time.sleep(0.2)
        idle = sum(rss_tree(p.pid)[0] for p in procs)
        emu_args = CLI + [
            "emulate",
            "--instances",
            str(n),
            "--agents",
            "1",
            "--collectives",
            "1",
            "--name",
            "big",
            "--http-port",
            str(hp),
        ]
        if workers:
            emu_args += ["--workers", str(workers)]
        for cp, _, _ in ports:
            emu_args += ["--server", f"127.0.0.1:{cp}"]
        t0 = time.time()
        emu = subprocess.Popen(emu_args, stdout=open(f"{work}/emu.log", "w"), stderr=subprocess.STDOUT)
        procs.append(emu)
        net = Network(n, [mp for _, mp, _ in ports], hp, [p.pid for p in procs[:-1]], emu.pid)
        conns = 0
        while time.time() - t0 < min(240 if n < 500000 else 200, max(10, left() - 60)):
            conns = sum(get_json(f"http://127.0.0.1:{mp}/varz").get("connections", 0) for _, mp, _ in ports)
            if conns >= n or any(p.poll() is not None for p in procs):
                break
            time.sleep(0.25)
        res["connect_s"] = round(time.time() - t0, 2)
        res["connected"] = conns
        say(f"N={n} servers={servers}: {conns} connected in {res['connect_s']} s")
        if conns < n:
            res["error"] = "not all connected: " + open(f"{work}/emu.log").read()[-500:]
            return res
        time.sleep(2)
        rss, pss = rss_tree(emu.pid)
        res["emu_rss_kib_per_inst"] = round(rss / n, 2)
        res["emu_pss_kib_per_inst"] = round(pss / n, 2)
        res["nats_rss_kib_per_conn"] = round((sum(rss_tree(p.pid)[0] for p in procs[:-1]) - idle) / n, 1)
        say(
            f"  emulator RSS {res['emu_rss_kib_per_inst']} KiB/inst PSS {res['emu_pss_kib_per_inst']}; "
            f"nats {res['nats_rss_kib_per_conn']} KiB/conn"
        )
        url = f"nats://127.0.0.1:{ports[0][0]}"
        tmo = max(20.0, n / 5000) if n < 500000 else 60.0
        big = n >= 500000
        rounds = 1 if quick else (3 if n < 100000 else 2)
        steps = res["steps"] = {}
        py = sys.executable

        def run(label: str, argv: list[str], limit: float, check: bool = True) -> dict:
            if left() < 30:
                steps[label] = {"skipped": "time budget"}
                say(f"  {label}: skipped (budget)")
                return steps[label]
            steps[label] = step(net, label, argv, limit, check)
            return steps[label]

        raw = run(
            "raw_count",
            [py, f"{HERE}/raw_count.py", url, str(n), "--rounds", str(rounds), "--timeout", str(tmo)],
            60 + rounds * tmo,
        )
        raw["result"] = last_json(raw.get("stdout_tail", ""))
        raw_median = (raw.get("result") or {}).get("median_s")
        # discovery windows (rpc --dt, measure --discovery-timeout) wait their whole length: size them from the broker
        dt = round(min(tmo, max(3.0, 3 * raw_median + 2)), 1) if raw_median else tmo
        res["discovery_window_s"] = dt
        ref = run(
            "ping_all",
            [py, f"{HERE}/ping_all.py", url, str(n), "--rounds", str(1 if big or quick else 2), "--timeout", str(tmo)],
            60 + 2 * tmo,
        )
        ref["result"] = last_json(ref.get("stdout_tail", ""))
        # "minus interpreter start": the venv's python doing nothing; and the ping command's own start (imports)
        start = [
            run(f"python_start_{i}", [py, "-c", "pass"], 30, False).get("wall_s", 0.0) for i in range(1 if quick else 3)
        ]
        res["interpreter_start_s"] = statistics.median(start)
        start = [
            run(f"ping_start_{i}", CLI + ["ping", "--help"], 30, False).get("wall_s", 0.0)
            for i in range(1 if quick else 3)
        ]
        res["ping_start_s"] = statistics.median(start)
        cpus = os.cpu_count() or 1
        # full decodes (rpc, measure) beyond ~60,000 replies/s need more than one process: share them out
        collectors = max(1, min(8, cpus // 2)) if n >= 100000 and cpus >= 4 else 1
        res["collectors"] = collectors
        pings = []
        for i in range(1 if quick else (2 if big else 3)):
            p = run(
                f"ping_{i}",
                CLI + ["ping", "--server", url, "--expect", str(n), "--timeout", str(tmo), "--quiet"],
                30 + tmo,
            )
            m = re.search(r"^(\d+) replies .* overhead: ([\d.]+) ms", p.get("stdout_tail", ""), re.M)
            if m:
                p["replies"], p["own_s"] = int(m.group(1)), float(m.group(2)) / 1000
            pings.append(p)
        d = run("discover", CLI + ["discover", "--server", url, "--expect", str(n), "--timeout", str(tmo)], 30 + tmo)
        d["found"] = d.get("stdout_lines")
        r = run(
            "rpc",
            CLI
            + [
                "rpc",
                "rpcutil",
                "ping",
                "--broadcast",
                "--server",
                url,
                "--dt",
                str(dt),
                "--timeout",
                str(tmo),
                "--collectors",
                str(collectors),
            ],
            60 + 2 * tmo,
        )
        m = re.search(r"Finished processing (\d+) / (\d+) hosts in ([\d.]+) ms: (\d+) OK", r.get("stdout_tail", ""))
        if m:
            r["responded"], r["discovered"], r["own_s"], r["ok"] = (
                int(m.group(1)),
                int(m.group(2)),
                float(m.group(3)) / 1000,
                int(m.group(4)),
            )
        mdir = os.path.join(work, "measure")
        mon = [a for _, mp, _ in ports[:8] for a in ("--monitor", f"http://127.0.0.1:{mp}")]
        ms = run(
            "measure",
            CLI
            + [
                "measure",
                "1" if quick else ("2" if big else "3"),
                str(n),
                f"scale {n}",
                mdir,
                "--server",
                url,
                "--size",
                "100",
                "--timeout",
                str(tmo),
                "--discovery-timeout",
                str(dt),
                "--no-events",
                "--json",
                "--emulator-monitor",
                f"http://127.0.0.1:{hp}",
                "--collectors",
                str(collectors),
            ]
            + mon,
            60 + 4 * tmo,
        )
        rep = None
        try:
            with open(os.path.join(mdir, "report.json")) as fh:
                rep = json.load(fh)
        except (OSError, ValueError):
            rep = None
        if rep:
            ms["report"] = {
                k: rep.get(k) for k in ("round_trip", "replies_per_second", "tests", "discovery", "cpu", "collectors")
            }
        ms.pop("stdout_tail", None)
        rss2, _ = rss_tree(emu.pid)
        res["emu_rss_kib_per_inst_after"] = round(rss2 / n, 2)
        res["nats_rss_kib_per_conn_after"] = round((sum(rss_tree(p.pid)[0] for p in procs[:-1]) - idle) / n, 1)
        res["health_after"] = net.health()
        return res
    except Exception as exc:  # one size failing must not stop the plan
        res["error"] = f"{type(exc).__name__}: {exc}"
        say(f"N={n}: {res['error']}")
        return res
    finally:
        stop(procs[::-1])
        shutil.rmtree(os.path.join(work, "measure"), ignore_errors=True)
        with open(os.path.join(OUT, "results.jsonl"), "a") as f:
            f.write(json.dumps(res) + "\n")


def main() -> None:
    # a timeout's SIGTERM ends the run like Ctrl-C: every size's finally stops its processes by PID
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    plan = [tuple(int(x) for x in s.split(":")) for s in ARGS.plan.split()]
    for n, s, w in plan:
        if left() < estimate(n):
            say(f"N={n}: skipped, {left():.0f} s left of the budget and the size needs about {estimate(n):.0f} s")
            with open(os.path.join(OUT, "results.jsonl"), "a") as f:
                f.write(json.dumps({"n": n, "servers": s, "workers": w, "skipped": "time budget"}) + "\n")
            continue
        one(n, s, w)
    say("done")


if __name__ == "__main__":
    main()
