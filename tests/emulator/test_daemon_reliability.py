"""The emulator survives the broker going away, stops cleanly on signals and restarts dead workers.

Every test runs against real nats-server and emulator processes and waits by polling, never by
fixed sleeps, so it holds on a busy machine.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from choria_wire import CLI, poll, run_cli

from choria_emulator.client import ChoriaClient, ClientConfig, ping
from choria_emulator.testing.localnet import http_json

# 2 agents, 1 collective: node + discovery, rpcutil, choria_util, emulated0, emulated1
SUBS_PER_INSTANCE = 6
# a log record at INFO or below, as the emulator formats them (not an error)
INFO_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO) ")


def running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


async def ping_all(url: str, count: int, timeout: float = 15.0) -> set[str]:
    config = ClientConfig.load(servers=[url], search_default_files=False, identity="reliability-test")
    async with ChoriaClient(config) as client:
        result = await ping(client, timeout=timeout, expect=count)
    return set(result.times)


def subscriptions(server) -> int:
    return server.varz()["subscriptions"]


async def test_broker_restart_on_the_same_port(fresh_nats, emulator_factory):
    server = fresh_nats()
    baseline = subscriptions(server)
    port = server.port
    emulator = emulator_factory(server.url, 40, "--agents", "2", "--workers", "2")
    names = {f"emu-{i}" for i in range(40)}
    poll(lambda: subscriptions(server) == baseline + 40 * SUBS_PER_INSTANCE, what="subscriptions on the broker")
    tasks_before = [w["tasks"] for w in emulator.debug_vars()["workers"]]

    for cycle in range(2):
        server.kill()
        poll(lambda: emulator.debug_vars()["connected"] == 0, what="instances noticing the broker is gone")
        server = fresh_nats(port=port)
        assert server.port == port
        vars_ = emulator.wait_connected(timeout=90)
        assert vars_["reconnects"] >= 40 * (cycle + 1)
        # every instance resubscribed: exactly its subscriptions again, on the new broker
        poll(lambda server=server: subscriptions(server) == baseline + 40 * SUBS_PER_INSTANCE, what="resubscriptions")
        got = await ping_all(server.url, 40)
        assert got == names, (emulator.debug_vars(), server.varz())

    # a reconnect storm leaves no tasks behind in the workers
    assert [w["tasks"] for w in emulator.debug_vars()["workers"]] == tasks_before
    assert emulator.process.poll() is None


async def test_failover_to_the_live_server(fresh_nats, emulator_factory):
    first, second = fresh_nats(), fresh_nats()
    emulator = emulator_factory([first.url, second.url], 20, "--workers", "2")
    # instances are spread over both servers (i % 2, unless a connect attempt failed and moved on)
    poll(
        lambda: (a := first.varz()["connections"]) > 0 and a + second.varz()["connections"] == 20,
        what="instances spread over both servers",
    )
    first.kill()
    poll(lambda: second.varz()["connections"] == 20, timeout=90, what="every instance on the live server")
    emulator.wait_connected(timeout=30)
    assert await ping_all(second.url, 20) == {f"emu-{i}" for i in range(20)}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signals_stop_cleanly(nats_server, emulator_factory, tmp_path, signum):
    pid_file = tmp_path / "emulator.pid"
    emulator = emulator_factory(nats_server.url, 20, "--workers", "2", "--pid-file", str(pid_file))
    workers = [w["pid"] for w in emulator.debug_vars()["workers"]]
    assert len(workers) == 2 and all(running(pid) for pid in workers)
    assert pid_file.read_text().strip() == str(emulator.pid)
    emulator.process.send_signal(signum)
    assert emulator.process.wait(timeout=20) == 0
    poll(lambda: not any(running(pid) for pid in workers), timeout=10, what="workers gone")
    assert not pid_file.exists()
    assert "stopping 2 worker(s)" in emulator.log()
    assert "Traceback" not in emulator.log()


async def test_killed_worker_is_restarted_and_counters_carry_over(nats_server, emulator_factory):
    emulator = emulator_factory(nats_server.url, 20, "--workers", "2", name="restart")
    names = {f"restart-{i}" for i in range(20)}
    assert await ping_all(nats_server.url, 20) == names
    before = emulator.debug_vars()
    poll(lambda: emulator.debug_vars()["counters"]["replies"] >= 20, what="reply counters reported")
    replies_before = emulator.debug_vars()["counters"]["replies"]
    victim = before["workers"][0]["pid"]
    os.kill(victim, signal.SIGKILL)

    def restarted():
        vars_ = emulator.debug_vars()
        worker = vars_["workers"][0]
        return worker["pid"] != victim and worker["restarts"] == 1 and vars_["connected"] == 20 and vars_

    vars_ = poll(restarted, timeout=60, what="worker restarted and reconnected")
    assert not running(victim)
    assert vars_["counters"]["replies"] >= replies_before  # counters never go backwards
    assert await ping_all(nats_server.url, 20) == names
    assert "worker 0" in emulator.log() and "restarting it" in emulator.log()


def test_workers_exit_when_the_supervisor_is_killed(nats_server, emulator_factory):
    emulator = emulator_factory(nats_server.url, 10, "--workers", "2")
    workers = [w["pid"] for w in emulator.debug_vars()["workers"]]
    emulator.process.kill()
    emulator.process.wait(10)
    poll(lambda: not any(running(pid) for pid in workers), timeout=20, what="orphaned workers exiting by themselves")


def test_http_port_in_use_is_one_clear_error(nats_server, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        result = run_cli("emulate", "-i", "3", "--server", nats_server.url, "--http-port", str(port), timeout=60)
    assert result.returncode == 2
    # the log may say what it did before (the open-files limit raised); the error itself is one line
    lines = [line for line in result.stderr.strip().splitlines() if not INFO_LOG_LINE.match(line)]
    assert lines == [
        f"choria-emulator emulate: cannot listen on 127.0.0.1:{port} for /debug/vars: Address already in use "
        "(pick another --http-port, 0 for any free one, -1 for none)"
    ], result.stderr
    assert time.monotonic() - started < 60


def test_http_endpoint_can_be_off(nats_server, emulator_factory, tmp_path):
    # --http-port -1: no endpoint; the emulator still runs and answers
    process = subprocess.Popen(
        [*CLI, "emulate", "-i", "3", "--name", "nohttp", "--server", nats_server.url, "--http-port", "-1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        poll(
            lambda: asyncio.run(_ping_names(nats_server.url)) >= {"nohttp-0", "nohttp-1", "nohttp-2"},
            timeout=60,
            what="instances without HTTP",
        )
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0


async def _ping_names(url: str) -> set[str]:
    config = ClientConfig.load(servers=[url], search_default_files=False)
    async with ChoriaClient(config) as client:
        return set((await ping(client, timeout=1)).times)


def test_debug_vars_answers_while_the_broker_is_down(fresh_nats, emulator_factory):
    server = fresh_nats()
    emulator = emulator_factory(server.url, 5, "--workers", "1")
    server.kill()
    vars_ = poll(
        lambda: (v := http_json(f"{emulator.http}/debug/vars")) and v["connected"] == 0 and v,
        what="connected drops to 0",
    )
    assert vars_["config"]["instances"] == 5
    assert emulator.process.poll() is None
