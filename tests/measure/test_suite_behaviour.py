"""How a suite behaves: EXPECT, missing nodes, directed mode, CloudEvents, bad arguments."""

from __future__ import annotations

import asyncio
import json

import nats

from choria_emulator.client import ChoriaClient, ClientConfig
from choria_emulator.measure import Observer, SuiteOptions, read_requests, read_times, run_suite
from choria_emulator.testing.localnet import Emulator

from .conftest import measure


def test_expect_mismatch_aborts_before_any_test(network, tmp_path):
    outdir = tmp_path / "never"
    result = measure("5", str(network.size + 1), "too many", str(outdir), "--server", network.nats.url, "--dt", "0.5")
    assert result.returncode == 3
    assert f"discovered {network.size} nodes with the emulated0 agent" in result.stderr
    assert f"EXPECT is {network.size + 1}: no test was run" in result.stderr
    assert "Traceback" not in result.stderr
    assert "REQUEST #" not in result.stdout
    assert not outdir.exists()


def test_directed_suite_sends_one_request_per_node(network, tmp_path):
    before = network.nats.varz()["in_msgs"]
    result = measure(
        "2",
        str(network.size),
        "direct",
        str(tmp_path / "d"),
        "--server",
        network.nats.url,
        "--dt",
        "0.5",
        "--force-direct",
        "--no-events",
    )
    assert result.returncode == 0, result.stderr
    rows = read_requests(tmp_path / "d")
    assert [r["ok"] for r in rows] == [network.size, network.size]
    published = network.nats.varz()["in_msgs"] - before
    # discovery (1 + replies) and 2 × (one publish per node + replies)
    assert published >= 2 * 2 * network.size + network.size


def test_bad_arguments_name_the_field(network, tmp_path):
    cases = [
        (["0", "1", "d", str(tmp_path / "x")], "COUNT must be at least 1"),
        (["x", "1", "d", str(tmp_path / "x")], "COUNT must be a whole number"),
        (["1", "1", "d", str(tmp_path / "x"), "--size", "-1"], "--size must be at least 0"),
        (["1", "1", "d", str(tmp_path / "x"), "--timeout", "0"], "--timeout must be more than 0"),
        (["1", "1"], "expected COUNT EXPECT DESCRIPTION OUTDIR"),
    ]
    for args, message in cases:
        result = measure(*args, "--server", network.nats.url)
        assert result.returncode == 2, args
        assert message in result.stderr, (args, result.stderr)


class StopSecondAfterFirst(Observer):
    def __init__(self, emulator: Emulator):
        self.emulator = emulator

    def test_finished(self, result) -> None:  # type: ignore[no-untyped-def]
        if result.test == 1:
            self.emulator.stop()  # blocking on purpose: the next test starts with 20 nodes gone


async def test_emulator_stopped_mid_suite_gives_noresponses(tmp_path, network):
    """Needs its own second emulator: it is stopped during the suite."""
    extra = Emulator.start(network.nats.url, 15, "--workers", "1", name="gone", workdir=tmp_path / "emu")
    try:
        options = SuiteOptions(
            count=3,
            expect=network.size + 15,
            description="stop mid-suite",
            outdir=tmp_path / "r",
            timeout=1.0,
            discovery_timeout=1.0,
        )
        config = ClientConfig.load(servers=[network.nats.url], search_default_files=False, identity="measure-test")
        async with ChoriaClient(config) as client:
            suite = await asyncio.wait_for(run_suite(client, options, StopSecondAfterFirst(extra)), 60)
    finally:
        extra.stop()
    rows = read_requests(tmp_path / "r")
    assert [r["noresponses"] for r in rows] == [0, 15, 15]
    assert [r["ok"] for r in rows] == [network.size + 15, network.size, network.size]
    assert all(r["request_duration"] >= 10**9 for r in rows[1:])  # waited for the timeout, then stopped
    assert [len(t) for t in read_times(tmp_path / "r")] == [network.size + 15, network.size, network.size]
    assert not suite.complete
    assert suite.report["tests"]["complete"] == 1 and suite.report["tests"]["noresponses"] == 30


async def test_cloudevents_are_published_like_the_original(network, tmp_path):
    watcher = await nats.connect(network.nats.url)
    seen: list[tuple[str, dict]] = []

    async def collect(msg) -> None:  # type: ignore[no-untyped-def]
        seen.append((msg.subject, json.loads(msg.data)))

    await watcher.subscribe("io.choria.event.emulator.>", cb=collect)
    await watcher.flush()
    try:
        options = SuiteOptions(
            count=2, expect=network.size, description="events", outdir=tmp_path / "e", discovery_timeout=1.0
        )
        config = ClientConfig.load(servers=[network.nats.url], search_default_files=False, identity="measure-test")
        async with ChoriaClient(config) as client:
            suite = await run_suite(client, options)
        for _ in range(100):
            if len(seen) == 3:
                break
            await asyncio.sleep(0.02)
    finally:
        await watcher.close()
    assert [s for s, _ in seen] == [
        "io.choria.event.emulator.test_suite",
        "io.choria.event.emulator.test_result",
        "io.choria.event.emulator.test_result",
    ]
    suite_event, first = seen[0][1], seen[1][1]
    assert (suite_event["specversion"], suite_event["source"], suite_event["type"]) == (
        "1.0",
        "io.choria.choria-emulator.measure",
        "io.choria.event.emulator.test_suite",
    )
    assert suite_event["data"]["id"] == suite.id and suite_event["data"]["expected_nodes"] == network.size
    assert list(first["data"]) == [
        "suite_id",
        "instance",
        "time_buckets",
        "discovered",
        "publish_duration",
        "request_duration",
        "failed",
        "ok",
        "noresponses",
        "unexpected",
        "responded",
    ]
    assert (first["data"]["suite_id"], first["data"]["instance"], first["data"]["ok"]) == (suite.id, 1, network.size)
    assert sum(first["data"]["time_buckets"]) == network.size


def test_workers_share_a_directed_suite(network, tmp_path):
    result = measure(
        "3",
        str(network.size),
        "workers",
        str(tmp_path / "w"),
        "--server",
        network.nats.url,
        "--dt",
        "0.5",
        "--force-direct",
        "--workers",
        "2",
        "--no-events",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = read_requests(tmp_path / "w")
    assert [(r["ok"], r["responded"], r["discovered"], r["noresponses"]) for r in rows] == [
        (network.size, network.size, network.size, 0)
    ] * 3
    times = read_times(tmp_path / "w")
    assert all(len(t) == network.size and t == sorted(t) for t in times)
    assert all(max(t) <= r["request_duration"] for t, r in zip(times, rows))
    assert json.loads((tmp_path / "w" / "suite.json").read_text())["workers"] == 2
    assert "directed, 2 workers" in result.stdout


def test_workers_without_force_direct_is_refused(network, tmp_path):
    result = measure("1", str(network.size), "w", str(tmp_path / "w"), "--server", network.nats.url, "--workers", "2")
    assert result.returncode == 2
    assert "--workers needs --force-direct" in result.stderr
