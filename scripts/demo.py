#!/usr/bin/env python3
"""`make demo`: the collection's playbooks stand up 1,000 emulated nodes here; ping and load-test them.

Runs ``setup-prereqs.yml`` (a venv under ``.cache/demo/``, no root), ``start-nats.yml`` (on ports
nats-server picks itself on 127.0.0.1) and ``start-emulator.yml`` against localhost, pings the network
with the client library, then runs a short suite of ``emulated0#generate`` requests through
``loadtest.yml`` (``choria-emulator measure``), printing counts, timings and where the report and its
plots are. ``stop-emulator.yml`` and ``stop-nats.yml`` run whatever happens, and anything they could not
stop is killed by PID.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from choria_emulator.client import ChoriaClient, ClientConfig, ping
from choria_emulator.testing.localnet import exit_on_termination, http_json, kill_pid_files

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "demo"
INSTANCES = 1000
REQUESTS = 5
SIZE = 100
PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
MSG = re.compile(r'^\s+"msg": "(.*)"\s*$')
SUITE_LINE = re.compile(r'^\s+"(\s*\d{4}-\d\d-\d\d.*REQUEST.*|OK: .*)",?\s*$')  # measure's console lines


def say(text: str = "") -> None:
    """print(), but a closed stdout (``make demo | head``) must not stop the clean-up."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # for the rest of the run


def broker_ports(run_dir: Path) -> tuple[int, int]:
    """Client and monitor ports nats-server picked (-1 asks it to; no race with other programs)."""
    (ports_file,) = run_dir.glob("nats-server_*.ports")
    ports = json.loads(ports_file.read_text())
    return int(ports["nats"][0].rsplit(":", 1)[1]), int(ports["monitoring"][0].rsplit(":", 1)[1])


def playbook(name: str, /, **extra: object) -> None:
    """Run playbooks/<name> on localhost; print its messages, or all of its output if it fails."""
    command = [str(PLAYBOOK), str(REPO / "playbooks" / name)]
    if extra:  # JSON: values with spaces stay whole, numbers stay numbers
        command += ["-e", json.dumps(extra, default=str)]
    env = dict(
        os.environ, ANSIBLE_DISPLAY_SKIPPED_HOSTS="false", ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false"
    )
    started = time.monotonic()
    proc = subprocess.run(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    took = time.monotonic() - started
    recap = next(
        (
            line.split(":", 1)[1].split()
            for line in proc.stdout.splitlines()
            if line.startswith("localhost ") and "ok=" in line
        ),
        [],
    )
    say(f"ansible-playbook playbooks/{name}: {' '.join(recap[:3]) or 'no recap'} in {took:.1f} s")
    for line in proc.stdout.splitlines():
        match = MSG.match(line) or SUITE_LINE.match(line)
        if match:
            say(f"    {match.group(1).strip()}")
    if proc.returncode != 0:
        say(proc.stdout)
        raise RuntimeError(f"playbooks/{name} failed with exit code {proc.returncode}")


async def drive(url: str) -> int:
    config = ClientConfig.load(servers=[url], search_default_files=False, identity="demo-client")
    async with ChoriaClient(config) as client:
        result = await ping(client, timeout=10, expect=INSTANCES)
    summary = result.summary()
    say(
        f"ping: {result.count}/{INSTANCES} replies in {result.duration * 1000:.0f} ms "
        f"(min {summary['min']:.1f} / median {summary['median']:.1f} / max {summary['max']:.1f} ms)"
    )
    return 0 if result.count == INSTANCES else 1


def show_report(report_dir: Path) -> None:
    plots = sorted(report_dir.glob("*.png"))
    say(f"load-test report: {report_dir} ({len(list(report_dir.iterdir()))} files)")
    for plot in plots:
        say(f"    plot: {plot}")


def main() -> int:
    exit_on_termination()  # a killed demo still runs the stop playbooks below
    started = time.monotonic()
    CACHE.mkdir(parents=True, exist_ok=True)
    venv = CACHE / "venv"
    run_dir = Path(tempfile.mkdtemp(prefix="choria-demo-"))
    common = {"venv": venv, "run_dir": run_dir}
    code = 1
    try:
        playbook("setup-prereqs.yml", venv=venv, setup_prereqs_wheel_cache=CACHE / "wheels")
        playbook("start-nats.yml", port=-1, monitor=-1, bind="127.0.0.1", **common)
        port, monitor = broker_ports(run_dir)
        playbook(
            "start-emulator.yml", instances=INSTANCES, servers=f"127.0.0.1:{port}", monitor=0, name="demo", **common
        )
        code = asyncio.run(drive(f"nats://127.0.0.1:{port}"))
        report_dir = REPO / "reports" / time.strftime("demo-%Y%m%d-%H%M%S")
        playbook(
            "loadtest.yml",
            servers=f"127.0.0.1:{port}",
            nats_monitor_port=monitor,
            expect=INSTANCES,
            count=REQUESTS,
            size=SIZE,
            report_dir=report_dir,
            description=f"make demo, {INSTANCES} nodes",
            **common,
        )
        show_report(report_dir)
        varz = http_json(f"http://127.0.0.1:{monitor}/varz")
        say(
            f"nats-server: {varz['connections']} connections, {varz['subscriptions']} subscriptions, "
            f"{varz['in_msgs']} msgs in, {varz['out_msgs']} msgs out"
        )
    except (RuntimeError, OSError) as exc:
        say(f"demo failed: {exc}")
    finally:
        try:
            for name, extra in (("stop-emulator.yml", {"name": "demo"}), ("stop-nats.yml", {"port": -1})):
                try:
                    playbook(name, **extra, **common)
                except (RuntimeError, OSError) as exc:
                    say(f"{exc}; killing by PID")
        finally:
            for pid in kill_pid_files(run_dir):
                say(f"killed pid {pid} that the stop playbooks left running")
            shutil.rmtree(run_dir, ignore_errors=True)
            say(f"demo took {time.monotonic() - started:.1f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
