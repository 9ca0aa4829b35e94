"""``choria-emulator ping|discover|rpc`` as subprocesses against a real emulated network."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time

import pytest
from choria_wire import CLI, run_cli

from choria_emulator.testing.localnet import Emulator

NODES = sorted(f"cli-{i}" for i in range(12))  # as the commands sort: cli-0, cli-1, cli-10, ...
FACTS = """\
facts: {role: web}
vary: {country: [mt, de, uk]}
vary_classes: [[apache], [mysql]]
"""


@pytest.fixture(scope="module")
def network(tmp_path_factory, nats_server):
    workdir = tmp_path_factory.mktemp("cli-network")
    (workdir / "facts.yaml").write_text(FACTS)
    emulator = Emulator.start(
        nats_server.url,
        12,
        "--agents",
        "2",
        "--collectives",
        "2",
        "--workers",
        "2",
        "--facts",
        str(workdir / "facts.yaml"),
        name="cli",
        workdir=workdir,
    )
    yield nats_server.url
    emulator.stop()


def cli(url: str, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    command, rest = args[0], args[1:]
    return run_cli(command, "--server", url, *rest, timeout=timeout)


# ---- ping ------------------------------------------------------------------------------------
def test_ping_lists_every_node_with_its_time_and_a_summary(network):
    result = cli(network, "ping", "--expect", "12", "--timeout", "30")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    rows = [re.match(r"^(\S+)\s+time=(\d+\.\d\d) ms$", line) for line in lines[:12]]
    assert all(rows), result.stdout
    assert sorted(r.group(1) for r in rows) == NODES
    times = [float(r.group(2)) for r in rows]
    assert times == sorted(times)  # fastest first, like choria ping
    assert lines[12] == "" and lines[13] == "---- ping statistics ----"
    summary = re.match(r"^12 replies max: (\S+) min: (\S+) avg: (\S+) median: \S+ overhead: \S+ ms$", lines[14])
    assert summary and float(summary.group(2)) == min(times) and float(summary.group(1)) == max(times)
    assert result.stderr == ""


def test_ping_expect_more_than_exist_fails(network):
    result = cli(network, "ping", "--expect", "13", "--timeout", "2", "-q")
    assert result.returncode == 1
    assert result.stderr.strip() == "expected 13 replies, got 12"
    assert "12 replies" in result.stdout and "time=" not in result.stdout  # -q: summary only


def test_ping_waits_the_whole_timeout_without_expect(network):
    result = cli(network, "ping", "--timeout", "1.5", "--json")
    data = json.loads(result.stdout)
    assert sorted(data["nodes"]) == NODES
    assert data["duration"] >= 1.4  # no --expect: it listens until the timeout, like mco ping
    assert set(data["summary"]) == {"replies", "min", "max", "avg", "median"}


def test_ping_with_filters(network):
    result = cli(network, "ping", "-I", "/^cli-1/", "--expect", "3", "--timeout", "30", "--json")
    assert sorted(json.loads(result.stdout)["nodes"]) == ["cli-1", "cli-10", "cli-11"]
    result = cli(network, "ping", "-F", "country=uk", "-T", "collective1", "--expect", "4", "--timeout", "30", "--json")
    assert sorted(json.loads(result.stdout)["nodes"]) == sorted(f"cli-{i}" for i in (2, 5, 8, 11))


def test_ping_without_answers_exits_1(network):
    result = cli(network, "ping", "-A", "nosuchagent", "--timeout", "1")
    assert result.returncode == 1 and "0 replies" in result.stdout


# ---- discover --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flags", "nodes"),
    [
        (["-I", "cli-3"], ["cli-3"]),  # exact identities skip the network, like go-choria
        (["-I", "/^cli-(1|2)$/"], ["cli-1", "cli-2"]),
        (["-A", "emulated1", "-A", "rpcutil"], NODES),
        (["-A", "emulated2"], []),
        (["-F", "country=mt"], [f"cli-{i}" for i in (0, 3, 6, 9)]),
        (["-C", "mysql"], [f"cli-{i}" for i in range(1, 12, 2)]),
        (["-F", "country=mt", "-C", "apache"], ["cli-0", "cli-6"]),
        (["-S", 'with("apache") and facts.country == "de"'], ["cli-4", "cli-10"]),
        (["-S", 'with("country=/^u/") or include(classes, "nothing")'], [f"cli-{i}" for i in (2, 5, 8, 11)]),
    ],
)
def test_discover_filters(network, flags, nodes):
    wait = ["--expect", str(len(nodes)), "--timeout", "30"] if nodes else ["--timeout", "1.5"]
    result = cli(network, "discover", *wait, *flags)
    assert result.returncode == (0 if nodes else 1), result.stderr
    assert result.stdout.split() == sorted(nodes)


def test_discover_sliding_window_stops_after_the_last_reply(network):
    started = time.monotonic()
    result = cli(network, "discover", "--sliding-window", "--timeout", "60", "--json")
    elapsed = time.monotonic() - started
    found = json.loads(result.stdout)
    # all of them as a rule; on a very busy machine a gap over 300 ms may close the window early
    assert found and set(found) <= set(NODES)
    assert elapsed < 50  # not the 60 s timeout: 300 ms after the last reply


def test_discover_in_the_second_collective(network):
    result = cli(network, "discover", "-T", "collective1", "--expect", "12", "--timeout", "30", "--json")
    assert json.loads(result.stdout) == NODES


# ---- rpc -------------------------------------------------------------------------------------
def rpc_json(url: str, *args: str, timeout: str = "30") -> dict:
    result = cli(url, "rpc", *args, "--json", "--discovery-timeout", "3", "--timeout", timeout)
    return {"rc": result.returncode, **json.loads(result.stdout)}


def test_rpc_directed_by_default(network):
    data = rpc_json(network, "emulated0", "generate", "size=5")
    assert data["rc"] == 0
    assert sorted(r["sender"] for r in data["replies"]) == NODES
    assert {r["data"]["message"] for r in data["replies"]} == {"01234"}
    assert all(list(r)[:6] == ["agent", "action", "sender", "statuscode", "statusmsg", "data"] for r in data["replies"])
    stats = data["stats"]
    assert (stats["discovered"], stats["responded"], stats["ok"], stats["failed"], stats["noresponses"]) == (
        12,
        12,
        12,
        0,
        0,
    )
    assert stats["success"] is True


def test_rpc_broadcast(network):
    data = rpc_json(network, "emulated1", "generate", "--broadcast", "-C", "apache")
    assert data["rc"] == 0
    assert sorted(r["sender"] for r in data["replies"]) == sorted(f"cli-{i}" for i in range(0, 12, 2))
    assert {len(r["data"]["message"]) for r in data["replies"]} == {20}


def test_rpc_batches(network):
    data = rpc_json(
        network, "emulated0", "generate", "--nodes", ",".join(NODES), "--batch", "5", "--batch-sleep", "0.6"
    )
    assert data["stats"]["ok"] == 12
    times = sorted(r["time_ms"] for r in data["replies"])
    # 3 batches (5, 5, 2), 0.6 s apart: the last two replies cannot come before 1.2 s
    assert times[-1] >= 1100 and times[-2] >= 1100


def test_rpc_named_nodes_and_missing_ones(network):
    data = rpc_json(network, "rpcutil", "ping", "--nodes", "cli-1,ghost-1", "--nodes", "cli-2", timeout="3")
    assert data["rc"] == 1
    assert sorted(r["sender"] for r in data["replies"]) == ["cli-1", "cli-2"]
    assert data["missing"] == ["ghost-1"]
    assert data["stats"]["noresponses"] == 1 and data["stats"]["success"] is False


def test_rpc_text_output(network):
    result = cli(network, "rpc", "emulated0", "nosuch", "--nodes", "cli-4,ghost", "--timeout", "3")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert re.match(r"^cli-4\s+Unknown action nosuch for agent emulated0 \(code 2\)$", lines[0])
    assert re.match(r"^ghost\s+no response$", lines[1])
    assert lines[-1].startswith("Finished processing 1 / 2 hosts in ") and lines[-1].endswith(
        "0 OK, 1 failed, 1 no response, 0 unexpected"
    )


def test_rpc_arguments_are_typed(network):
    data = rpc_json(network, "rpcutil", "get_fact", "fact=country", "--nodes", "cli-5")
    assert data["replies"][0]["data"] == {"fact": "country", "value": "uk"}
    data = rpc_json(network, "emulated0", "generate", 'size="7"', "--nodes", "cli-5")  # a JSON string is not a size
    assert data["replies"][0]["statuscode"] == 4


def test_rpc_with_nothing_discovered(network):
    result = cli(network, "rpc", "emulated0", "generate", "-F", "country=nowhere", "--discovery-timeout", "1")
    assert result.returncode == 1
    assert "No request sent, no nodes discovered" in result.stdout


# ---- terminal behaviour ----------------------------------------------------------------------
def run_with_tty_stderr(*args: str, timeout: float = 60.0) -> tuple[int, str, bytes]:
    """Run the CLI with stderr on a pseudo-terminal (what rich's progress needs) and stdout on a pipe."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    process = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    stdout = process.stdout.read().decode()
    os.close(master)
    return process.wait(timeout), stdout, b"".join(chunks)


def test_progress_only_on_a_terminal(network):
    code, stdout, tty = run_with_tty_stderr("ping", "--server", network, "--expect", "12", "--timeout", "30")
    assert code == 0
    assert b"ping" in tty and b"\x1b[" in tty  # rich drew a progress bar on the terminal
    assert "\x1b[" not in stdout and "12 replies" in stdout  # results stay clean
    result = cli(network, "ping", "--expect", "12", "--timeout", "30")
    assert result.stderr == ""  # no terminal, no progress


def test_output_into_a_closed_pipe(network):
    result = subprocess.run(
        ["bash", "-c", f"{' '.join(CLI)} discover --server {network} --timeout 2 | head -1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() in NODES
    assert "Traceback" not in result.stderr and "Broken pipe" not in result.stderr
