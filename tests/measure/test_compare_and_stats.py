"""``measure compare`` over two real runs, and the statistics the reports use."""

from __future__ import annotations

import json

import pytest

from choria_emulator.measure.stats import go_round, percentile, summary, time_buckets

from .conftest import measure, png_size


@pytest.fixture(scope="module")
def two_runs(network, tmp_path_factory):
    base = tmp_path_factory.mktemp("compare")
    dirs = []
    for size in (10, 1000):
        outdir = base / f"size{size}"
        result = measure(
            "2",
            str(network.size),
            f"payload {size}",
            str(outdir),
            "--server",
            network.nats.url,
            "--dt",
            "0.5",
            "--size",
            str(size),
            "--no-events",
        )
        assert result.returncode == 0, result.stderr
        dirs.append(outdir)
    return base, dirs


def test_compare_prints_a_row_per_run_and_writes_a_plot(two_runs, network):
    base, dirs = two_runs
    plot = base / "cmp.png"
    result = measure("compare", *map(str, dirs), "--out", str(plot))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["run", "nodes", "payload"]
    rows = [line for line in lines if line.startswith("payload ")]
    assert len(rows) == 2
    assert rows[0].split()[2:4] == [str(network.size), "10"] and rows[1].split()[2:4] == [str(network.size), "1000"]
    assert png_size(plot.read_bytes()) == (1000, 500)


def test_compare_json_has_the_figures_of_each_run(two_runs, network):
    base, dirs = two_runs
    result = measure("compare", *map(str, dirs), "--out", str(base / "c2.png"), "--json")
    runs = json.loads(result.stdout)["runs"]
    assert [(r["label"], r["payload"], r["nodes"], r["tests"], r["complete"]) for r in runs] == [
        ("payload 10", 10, network.size, 2, 2),
        ("payload 1000", 1000, network.size, 2, 2),
    ]
    assert all(r["rt_min"] <= r["rt_median"] <= r["rt_p95"] <= r["rt_max"] for r in runs)


def test_compare_of_a_directory_without_report_is_one_clear_error(tmp_path):
    result = measure("compare", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"choria-emulator measure: {tmp_path} is not a measure report directory: "
        "cannot read report.json: No such file or directory"
    )


def test_time_buckets_round_half_away_from_zero_like_go():
    assert go_round(2.5) == 3 and go_round(0.5) == 1 and go_round(0.49) == 0
    # 5 ms and 15 ms sit exactly between buckets: Go puts them in the upper one
    assert time_buckets([0.005, 0.015, 0.0149, 0.031]) == [0, 2, 1, 1]
    assert time_buckets([]) == []


def test_percentiles_and_summary():
    values = sorted(float(v) for v in range(1, 101))
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50.0, 95.0, 99.0)
    s = summary([3.0, 1.0, 2.0])
    assert (s["count"], s["min"], s["median"], s["max"], s["mean"]) == (3, 1.0, 2.0, 3.0, 2.0)
    assert summary([])["count"] == 0


def test_worker_slices_cover_every_node_once():
    from choria_emulator.measure.workers import slices

    nodes = [f"n-{i}" for i in range(10)]
    parts = slices(nodes, 3)
    assert [len(p) for p in parts] == [4, 3, 3]
    assert [n for p in parts for n in p] == nodes
    assert slices(nodes[:2], 3) == [["n-0"], ["n-1"]]
