"""Scale-out in miniature: a 3-server NATS cluster, instances spread across it, measured from one server."""

from __future__ import annotations

import json

import pytest

from choria_emulator.measure import read_requests
from choria_emulator.testing.cluster import LocalCluster, route_peers
from choria_emulator.testing.localnet import Emulator

from .conftest import measure

INSTANCES = 150


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = LocalCluster.start(3, workdir=tmp_path_factory.mktemp("cluster"))
    yield cluster
    cluster.stop()


def test_cluster_is_a_full_mesh(cluster):
    ids = [s.varz()["server_id"] for s in cluster.servers]
    for server, own in zip(cluster.servers, ids):
        assert route_peers(server) == set(ids) - {own}


def test_instances_are_spread_round_robin_and_measured_from_one_server(cluster, tmp_path):
    emulator = Emulator.start(cluster.urls, INSTANCES, "--workers", "2", name="c", workdir=tmp_path / "emu")
    try:
        connections = [v["connections"] for v in cluster.varz()]
        assert connections == [INSTANCES // 3] * 3
        outdir = tmp_path / "report"
        monitors = [arg for m in cluster.monitors for arg in ("--monitor", m)]
        result = measure(
            "2",
            str(INSTANCES),
            "cluster",
            str(outdir),
            "--server",
            cluster.urls[1],
            "--dt",
            "1",
            "--no-events",
            *monitors,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert [r["ok"] for r in read_requests(outdir)] == [INSTANCES, INSTANCES]
        report = json.loads((outdir / "report.json").read_text())
        assert [n["num_routes"] >= 2 for n in report["nats"]["after"]] == [True, True, True]
        # the server the client is on sends the broadcast over its routes; the others deliver it
        assert all(d["out_msgs"] >= 2 * INSTANCES // 3 for d in report["nats"]["delta"])
    finally:
        emulator.stop()


def test_emulate_refuses_more_instances_per_worker_than_open_files(cluster, tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "choria_emulator",
            "emulate",
            "--instances",
            "50000",
            "--workers",
            "2",
            "--server",
            cluster.urls[0],
            "--http-port",
            "-1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "open files" in result.stderr and "--workers" in result.stderr


def test_instances_on_leaf_nodes_answer_a_client_on_the_core(tmp_path):
    """The original's broker_leafnodes scenario: emulators on local leaf servers, the core holds only leaf links."""
    cluster = LocalCluster.start(1, leafnodes=2, workdir=tmp_path / "cluster")
    emulator = None
    try:
        emulator = Emulator.start(cluster.leaf_urls, 60, "--workers", "1", name="leaf", workdir=tmp_path / "emu")
        assert [leaf.varz()["connections"] for leaf in cluster.leaves] == [30, 30]
        core = cluster.servers[0].varz()
        assert core["leafnodes"] == 2 and core["connections"] == 0
        result = measure(
            "2", "60", "leafnodes", str(tmp_path / "r"), "--server", cluster.urls[0], "--dt", "1", "--no-events"
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert [r["ok"] for r in read_requests(tmp_path / "r")] == [60, 60]
    finally:
        if emulator is not None:
            emulator.stop()
        cluster.stop()
