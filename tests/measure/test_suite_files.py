"""``choria-emulator measure`` writes the original's files exactly, plus report.json and plots."""

from __future__ import annotations

import csv
import json

import pytest

from choria_emulator.measure import REQUESTS_HEADER, read_requests, read_times
from choria_emulator.measure.stats import time_buckets

from .conftest import measure, png_size

COUNT = 3


@pytest.fixture(scope="module")
def suite_dir(network, tmp_path_factory):
    outdir = tmp_path_factory.mktemp("suite") / "report"
    result = measure(
        str(COUNT),
        str(network.size),
        "files, exactly",
        str(outdir),
        "--server",
        network.nats.url,
        "--dt",
        "1",
        "--size",
        "25",
        "--monitor",
        network.nats.monitor,
        "--emulator-monitor",
        network.first.http,
        "--emulator-monitor",
        network.second.http,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return outdir, result


def test_requests_csv_has_the_original_twelve_columns(suite_dir):
    outdir, _ = suite_dir
    lines = (outdir / "requests.csv").read_text().split("\n")
    assert lines[0] == (
        "test,description,payload_bytes,expected,discovered,publish_duration,request_duration,"
        "failed,ok,noresponses,unexpected,responded"
    )
    assert len(REQUESTS_HEADER) == 12
    assert lines[-1] == "" and len(lines) == COUNT + 2  # header, a row per test, final newline (Go csv: \n)
    assert "\r" not in (outdir / "requests.csv").read_text()


def test_requests_rows_count_every_reply_in_nanoseconds(network, suite_dir):
    outdir, _ = suite_dir
    rows = read_requests(outdir)
    assert [r["test"] for r in rows] == list(range(1, COUNT + 1))
    for row in rows:
        assert row["description"] == "files, exactly"  # the comma is quoted, as Go's csv does
        assert (row["payload_bytes"], row["expected"], row["discovered"]) == (25, network.size, network.size)
        assert (row["ok"], row["responded"], row["failed"], row["noresponses"], row["unexpected"]) == (
            network.size,
            network.size,
            0,
            0,
            0,
        )
        assert 0 < row["publish_duration"] <= row["request_duration"] < 10 * 10**9  # ns, below the 10 s timeout
    assert '"files, exactly"' in (outdir / "requests.csv").read_text()


def test_times_csv_has_one_row_per_test_with_each_reply_in_ns(network, suite_dir):
    outdir, _ = suite_dir
    rows = read_times(outdir)
    requests = read_requests(outdir)
    assert len(rows) == COUNT
    for times, request in zip(rows, requests):
        assert len(times) == network.size
        assert all(0 < t <= request["request_duration"] for t in times)


def test_time_buckets_are_10ms_buckets_of_the_times(suite_dir):
    outdir, _ = suite_dir
    times = read_times(outdir)
    with open(outdir / "time_buckets.csv", newline="") as handle:
        buckets = [[int(v) for v in row] for row in csv.reader(handle)]
    assert len(buckets) == COUNT
    for row, test_times in zip(buckets, times):
        assert sum(row) == len(test_times)
        assert row == time_buckets([t / 1e9 for t in test_times])


def test_suite_json_fields_in_the_original_order(network, suite_dir):
    outdir, _ = suite_dir
    text = (outdir / "suite.json").read_text()
    suite = json.loads(text)
    assert list(suite) == [
        "description",
        "output_dir",
        "payload_size",
        "count",
        "rpc_timeout",
        "expected_nodes",
        "workers",
        "id",
    ]
    assert suite["rpc_timeout"] == 10 * 10**9  # a Go time.Duration: nanoseconds
    assert (suite["description"], suite["payload_size"], suite["count"], suite["expected_nodes"], suite["workers"]) == (
        "files, exactly",
        25,
        COUNT,
        network.size,
        1,
    )
    assert " " not in text.replace("files, exactly", "")  # compact, like encoding/json


def test_report_json_summarises_the_suite_and_the_broker(network, suite_dir):
    outdir, _ = suite_dir
    report = json.loads((outdir / "report.json").read_text())
    assert report["discovery"]["nodes"] == network.size
    assert report["tests"] == {
        **report["tests"],
        "count": COUNT,
        "complete": COUNT,
        "replies": COUNT * network.size,
        "noresponses": 0,
    }
    rt = report["round_trip"]
    assert rt["min"] <= rt["median"] <= rt["p95"] <= rt["p99"] <= rt["max"]
    assert report["replies_per_second"] > 0
    before, after = report["nats"]["before"][0], report["nats"]["after"][0]
    assert before["connections"] >= network.size and after["subscriptions"] > 0 and after["rss"] > 0
    assert report["nats"]["delta"][0]["out_msgs"] >= COUNT * network.size  # every generate request reached every node
    assert sorted(e["connected"] for e in report["emulators"]["after"]) == [20, 40]
    assert set(report["files"]) >= {
        "requests.csv",
        "times.csv",
        "time_buckets.csv",
        "suite.json",
        "report.json",
        "arrivals.png",
        "round_trips.png",
    }


def test_report_json_shows_the_client_and_broker_cpu_beside_the_round_trips(network, suite_dir):
    """Issue 16: a report says which side was the limit: the client's CPU and the broker's /varz cpu."""
    outdir, result = suite_dir
    cpu = json.loads((outdir / "report.json").read_text())["cpu"]
    assert cpu["client_cpu_seconds"] > 0 and cpu["client_processes"] >= 1 and cpu["collectors"] == 1
    assert [t["test"] for t in cpu["tests"]] == list(range(1, COUNT + 1))
    for test in cpu["tests"]:
        assert test["wall"] > 0 and test["client_cpu"] >= 0 and test["limit"] in ("client", "broker", "neither")
        (broker,) = test["brokers"]
        assert broker["url"] == network.nats.monitor and broker["samples"] >= 1 and broker["cpu_percent_max"] >= 0
    assert list(cpu["brokers_cpu_percent_max"]) == [network.nats.monitor]
    assert cpu["limit"] in ("client", "broker", "neither")
    assert any(line.startswith("client CPU ") and "limit: " in line for line in result.stdout.splitlines())


@pytest.mark.parametrize("name", ["arrivals.png", "round_trips.png"])
def test_plots_are_png_images(suite_dir, name):
    outdir, _ = suite_dir
    data = (outdir / name).read_bytes()
    assert png_size(data) == (1000, 500)
    assert len(data) > 10_000  # drawn, not an empty canvas


def test_console_shows_a_line_per_request_and_the_summary(network, suite_dir):
    _, result = suite_dir
    lines = result.stdout.splitlines()
    request_lines = [line for line in lines if "REQUEST #:" in line]
    assert len(request_lines) == COUNT
    assert all(f"OK: {network.size} / {network.size}" in line and line.endswith("✓") for line in request_lines)
    assert any(line.startswith(f"OK: {COUNT} FAILED: 0 MIN:") for line in lines)


def test_json_mode_prints_the_report_on_stdout(network, tmp_path):
    result = measure(
        "1", str(network.size), "json", str(tmp_path / "j"), "--server", network.nats.url, "--dt", "1", "--json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report == json.loads((tmp_path / "j" / "report.json").read_text())
    assert "REQUEST #: 1" in result.stderr
