"""playbooks/loadtest.yml end to end with the real ansible-playbook, in a venv the playbooks build."""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from choria_emulator.measure import REQUESTS_HEADER, read_requests

from .ansible_run import inventory, playbook, task_results
from .conftest import png_size


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Lab:
    base: Path
    inv: Path
    venv: Path

    def network(self, port: int) -> dict:
        """Variables of one single-host network on free ports, its files under ``base``."""
        return {
            "port": port,
            "servers": f"127.0.0.1:{port}",
            "nats_monitor_port": free_port(),
            "emulator_monitor_port": 0,
            "venv": str(self.venv),
            "run_dir": str(self.base / "run"),
        }


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Lab:
    """setup-prereqs.yml once: a fresh venv with choria-emulator (built from this checkout) and nats-server."""
    base = tmp_path_factory.mktemp("loadtest-lab")
    inv = inventory(base / "inventory.yml")
    code, doc, err = playbook("setup-prereqs.yml", inv, extra={"venv": str(base / "venv")}, timeout=900)
    assert code == 0, err + json.dumps(doc)[-3000:]
    return Lab(base, inv, base / "venv")


def processes_under(path: Path) -> list[str]:
    """Command lines of live processes that mention ``path`` (what the playbooks started there)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(path) in argv:
            found.append(argv)
    return found


def test_loadtest_builds_a_network_measures_fetches_the_report_and_stops(lab):
    report_dir = lab.base / "report-start"
    variables = {
        **lab.network(free_port()),
        "start": True,
        "instances": 60,
        "count": 2,
        "size": 30,
        "report_dir": str(report_dir),
    }
    code, doc, err = playbook("loadtest.yml", lab.inv, extra=variables, timeout=900)
    assert code == 0, err + json.dumps(doc)[-3000:]
    assert (report_dir / "requests.csv").read_text().splitlines()[0] == ",".join(REQUESTS_HEADER)
    rows = read_requests(report_dir)
    assert [(r["expected"], r["ok"], r["payload_bytes"], r["noresponses"]) for r in rows] == [(60, 60, 30, 0)] * 2
    report = json.loads((report_dir / "report.json").read_text())
    assert report["tests"]["complete"] == 2 and report["nats"]["after"][0]["connections"] >= 60
    assert png_size((report_dir / "arrivals.png").read_bytes()) == (1000, 500)
    figures = task_results(doc, "Show the figures")[0]["msg"]
    assert figures.startswith("2/2 requests got all 60 replies")
    assert processes_under(lab.base / "run") == []  # emulator and nats-server stopped again


def test_loadtest_against_a_running_network_counts_the_emulators(lab):
    variables = lab.network(free_port())
    try:
        for name, extra in (("start-nats.yml", {}), ("start-emulator.yml", {"instances": 40})):
            code, doc, err = playbook(name, lab.inv, extra={**variables, **extra})
            assert code == 0, err + json.dumps(doc)[-2000:]
        code, doc, _ = playbook(
            "loadtest.yml", lab.inv, extra={**variables, "count": 1, "expect": 41, "report_dir": str(lab.base / "r1")}
        )
        assert code != 0
        verdict = task_results(doc, "Fail when the suite did not get every reply")[0]["msg"]
        assert "exit 3" in verdict and "EXPECT is 41: no test was run" in verdict
        code, doc, err = playbook(
            "loadtest.yml",
            lab.inv,
            extra={**variables, "count": 1, "description": "running", "report_dir": str(lab.base / "r2")},
        )
        assert code == 0, err + json.dumps(doc)[-3000:]
        assert [(r["expected"], r["ok"], r["description"]) for r in read_requests(lab.base / "r2")] == [
            (40, 40, "running")
        ]
        assert processes_under(lab.base / "run")  # not started by loadtest.yml, so not stopped by it
    finally:
        for name in ("stop-emulator.yml", "stop-nats.yml"):
            playbook(name, lab.inv, extra=variables)
    assert processes_under(lab.base / "run") == []


def cluster_inventory(lab: Lab, path: Path) -> Path:
    """Three `nats` hosts forming one cluster by host vars, one emulator host; all on this machine."""
    ports = [(free_port(), free_port(), free_port()) for _ in range(3)]
    routes = [f"127.0.0.1:{cluster}" for _, _, cluster in ports]
    local = f"ansible_connection: local, ansible_host: 127.0.0.1, ansible_python_interpreter: {sys.executable}"
    lines = ["all:", "  children:", "    nats:", "      hosts:"]
    for index, (client, monitor, cluster) in enumerate(ports):
        lines.append(
            f"        n{index}: {{{local}, nats_port: {client}, nats_monitor_port: {monitor}, nats_name: n{index}, "
            f"nats_cluster: {{name: lab, port: {cluster}, routes: {json.dumps(routes)}}}}}"
        )
    lines += [
        "    emulators:",
        "      hosts:",
        f"        e0: {{{local}, emulator_instances: 90, emulator_monitor_port: 0}}",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_loadtest_on_a_nats_cluster_built_by_start_nats(lab):
    """Scale-out from Ansible: start-nats.yml forms a 3-server cluster, the instances spread over it."""
    inv = cluster_inventory(lab, lab.base / "cluster.yml")
    report_dir = lab.base / "report-cluster"
    variables = {
        "start": True,
        "count": 2,
        "setup_hosts": "n0",
        "venv": str(lab.venv),
        "run_dir": str(lab.base / "run-cluster"),
        "report_dir": str(report_dir),
    }
    code, doc, err = playbook("loadtest.yml", inv, extra=variables, timeout=900)
    assert code == 0, err + json.dumps(doc)[-3000:]
    assert [r["ok"] for r in read_requests(report_dir)] == [90, 90]
    report = json.loads((report_dir / "report.json").read_text())
    after = report["nats"]["after"]
    # 30 instances each, and the measure client's two connections (requests; its reply inbox) on one of them
    assert sorted(n["connections"] for n in after) == [30, 30, 32]
    assert all(n["num_routes"] >= 2 for n in after)
    assert processes_under(lab.base / "run-cluster") == []
