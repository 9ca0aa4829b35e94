"""What the emulator tells the outside: audit logs, registration messages, stats file, /metrics, /debug/vars,
pid/port files."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import time
import urllib.error
import urllib.request

import pytest
from choria_wire import apoll, http_text, poll, stable_counters
from prometheus_client.parser import text_string_to_metric_families

from choria_emulator.client import ChoriaClient, ClientConfig, ping, rpc
from choria_emulator.daemon.stats import COUNTERS, Counters
from choria_emulator.protocol.messages import decode_request

GO_AUDIT_FIELDS = ["timestamp", "request_id", "request_time", "caller", "sender", "agent", "action", "data"]
GO_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+0000$")


def client_config(url: str) -> ClientConfig:
    return ClientConfig.load(
        servers=[url], search_default_files=False, identity="observer", certname="observer.mcollective"
    )


async def test_audit_one_line_per_request_per_instance(nats_server, emulator_factory, tmp_path):
    audit_dir = tmp_path / "audit"
    audit_dir.mkdir()
    emulator_factory(nats_server.url, 6, "--workers", "2", "--audit", str(audit_dir / "audit-%s.log"), name="aud")
    async with ChoriaClient(client_config(nats_server.url)) as client:
        await ping(client, timeout=5, expect=6)  # discovery is not audited
        first = await rpc(
            client, "emulated0", "generate", {"size": 3}, targets=[f"aud-{i}" for i in range(6)], timeout=10
        )
        second = await rpc(client, "rpcutil", "ping", {}, targets=["aud-2"], timeout=10)
        await rpc(client, "emulated0", "nosuch", {}, targets=["aud-2"], timeout=10)  # unknown actions are not audited
    assert first.stats.ok == 6 and second.stats.ok == 1
    files = poll(
        lambda: (f := sorted(audit_dir.glob("audit-*.log"))) and len(f) == 6 and f, what="one audit file per instance"
    )
    assert [f.name for f in files] == [f"audit-aud-{i}.log" for i in range(6)]
    lines = [json.loads(line) for line in (audit_dir / "audit-aud-2.log").read_text().splitlines()]
    assert len(lines) == 2
    generate, util = lines
    assert list(generate) == GO_AUDIT_FIELDS
    assert GO_TIMESTAMP.match(generate["timestamp"])
    assert generate["request_id"] == first.requestid and isinstance(generate["request_time"], int)
    assert generate["caller"] == "choria=observer.mcollective" and generate["sender"] == "observer"
    assert (generate["agent"], generate["action"], generate["data"]) == ("emulated0", "generate", {"size": 3})
    assert (util["agent"], util["action"], util["request_id"]) == ("rpcutil", "ping", second.requestid)
    assert len((audit_dir / "audit-aud-0.log").read_text().splitlines()) == 1


async def test_audit_to_one_shared_file_names_the_instance(nats_server, emulator_factory, tmp_path):
    audit = tmp_path / "audit.log"
    emulator_factory(nats_server.url, 4, "--workers", "2", "--audit", str(audit), name="shared")
    async with ChoriaClient(client_config(nats_server.url)) as client:
        result = await rpc(client, "emulated0", "generate", {}, targets=[f"shared-{i}" for i in range(4)], timeout=10)
    assert result.stats.ok == 4
    lines = poll(lambda: (t := audit.read_text().splitlines()) and len(t) == 4 and t, what="4 audit lines")
    entries = [json.loads(line) for line in lines]
    assert sorted(e["identity"] for e in entries) == [f"shared-{i}" for i in range(4)]
    assert {e["request_id"] for e in entries} == {result.requestid}


async def test_registration_messages(nats_server, emulator_factory):
    config = client_config(nats_server.url)
    async with ChoriaClient(config) as client:
        received: list[bytes] = []

        async def on_message(msg):
            received.append(msg.data)

        sub = await client.nc.subscribe("mcollective.broadcast.agent.registration", cb=on_message)
        await client.nc.flush()
        emulator = await asyncio.to_thread(
            emulator_factory,
            nats_server.url,
            10,
            "--workers",
            "2",
            "--registration-interval",
            "1",
            "--registration-size",
            "100",
            name="reg",
        )
        received.clear()  # count from when all are connected
        window_start = time.monotonic()
        await asyncio.sleep(6)
        window = time.monotonic() - window_start
        count = len(received)
        await sub.unsubscribe()
    expected = 10 * window / 1.0
    assert 0.4 * expected <= count <= 1.5 * expected + 10, (count, expected)
    senders = set()
    for raw in received:
        incoming = decode_request(raw)
        request = incoming.request
        assert request.agent == "registration" and request.collective == "mcollective"
        assert incoming.transport.reply_to is None
        assert request.callerid == f"choria={request.senderid}"
        body = json.loads(request.message)
        assert body["Size"] == 100 and body["Data"] == ("0123456789" * 10)
        senders.add(request.senderid)
    assert senders == {f"reg-{i}" for i in range(10)}
    await apoll(lambda: emulator.debug_vars()["counters"]["registrations"] >= count, what="registrations counted")


async def test_stats_file(nats_server, emulator_factory, tmp_path):
    stats = tmp_path / "stats.json"
    emulator = emulator_factory(
        nats_server.url, 5, "--workers", "1", "--stats-file", str(stats), "--stats-interval", "0.5", name="stats"
    )
    first = await apoll(lambda: stats.exists() and json.loads(stats.read_text()), what="stats file")
    assert first["name"] == "stats" and first["instances"] == 5
    async with ChoriaClient(client_config(nats_server.url)) as client:
        assert (await ping(client, timeout=5, expect=5)).count == 5
    later = await apoll(
        lambda: (d := json.loads(stats.read_text()))["counters"]["replies"] >= 5 and d, what="replies in the stats file"
    )
    assert later["time"] >= first["time"] and later["connected"] == 5
    assert set(later["counters"]) >= {
        "total",
        "validated",
        "unvalidated",
        "passed",
        "filtered",
        "replies",
        "ttlexpired",
        "malformed",
    }
    emulator.process.send_signal(signal.SIGTERM)
    assert emulator.process.wait(20) == 0
    final = json.loads(stats.read_text())  # written once more at exit, with the final counters
    assert final["counters"]["replies"] >= 5 and not (tmp_path / "stats.json.tmp").exists()


def test_metrics_are_valid_prometheus_text(small_network, nats_server):
    asyncio.run(_ping(nats_server.url))
    text = http_text(f"{small_network.http}/metrics")
    families = {family.name: family for family in text_string_to_metric_families(text)}
    samples = {sample.name: sample for family in families.values() for sample in family.samples}
    assert families["choria_emulator_connected_instances"].type == "gauge"
    assert families["choria_emulator_replies"].type == "counter"
    assert samples["choria_emulator_connected_instances"].value == 10
    assert samples["choria_emulator_instances"].value == 10
    assert samples["choria_emulator_subscriptions_per_instance"].value == 2 * 6
    assert samples["choria_emulator_workers"].value == 2
    assert samples["choria_emulator_replies_total"].labels == {"name": "emu"}
    counters = stable_counters(small_network)
    text = http_text(f"{small_network.http}/metrics")
    samples = {s.name: s for f in text_string_to_metric_families(text) for s in f.samples}
    for name in ("total", "validated", "passed", "filtered", "replies", "ttlexpired", "malformed", "unvalidated"):
        assert samples[f"choria_emulator_{name}_total"].value == counters[name], name
    assert samples["choria_emulator_replies_total"].value >= 10
    with urllib.request.urlopen(f"{small_network.http}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")


async def _ping(url: str) -> None:
    async with ChoriaClient(client_config(url)) as client:
        await ping(client, timeout=5, expect=10)


def test_debug_vars(nats_server, emulator_factory):
    emulator = emulator_factory(nats_server.url, 5, "--agents", "2", "--collectives", "3", "--workers", "2", name="dv")
    data = emulator.debug_vars()
    # protocol.md §7 item 17, plus the E1 TLS fields the management agent reads
    assert data["name"] == "dv"
    assert data["config"] == {
        "instances": 5,
        "agents": 2,
        "collectives": 3,
        "pid": emulator.pid,
        "TLS": 0,
        "tlsVerify": 0,
    }
    assert data["memstats"]["Sys"] > 0
    assert "emulate" in data["cmdline"]
    assert data["connected"] == 5 and data["instances"] == 5
    assert data["subscriptions_per_instance"] == 3 * (1 + 2 + 3)
    assert set(data["counters"]) >= {
        "total",
        "validated",
        "unvalidated",
        "passed",
        "filtered",
        "replies",
        "ttlexpired",
        "malformed",
        "registrations",
    }
    assert [w["id"] for w in data["workers"]] == [0, 1]
    assert sum(w["instances"] for w in data["workers"]) == 5
    assert all(w["alive"] and w["restarts"] == 0 and w["tasks"] > 0 for w in data["workers"])
    assert data["all_connected_after"] is not None and data["uptime"] >= data["all_connected_after"]


def test_http_errors_and_head(small_network):
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{small_network.http}/nope", timeout=5)
    assert missing.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as post:
        urllib.request.urlopen(
            urllib.request.Request(f"{small_network.http}/debug/vars", data=b"x", method="POST"), timeout=5
        )
    assert post.value.code == 405
    head = urllib.request.Request(f"{small_network.http}/debug/vars", method="HEAD")
    with urllib.request.urlopen(head, timeout=5) as response:
        assert response.status == 200 and response.read() == b""
    # a client that does not speak HTTP does not disturb the endpoint
    port = int(small_network.http.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"\x00\xff garbage\r\n\r\n")
        sock.recv(100)
    assert small_network.debug_vars()["connected"] == 10


def test_pid_and_port_files(nats_server, emulator_factory, tmp_path):
    pid_file = tmp_path / "run" / "emulator.pid"
    pid_file.parent.mkdir()
    emulator = emulator_factory(nats_server.url, 3, "--pid-file", str(pid_file), "--workers", "1")
    assert int(pid_file.read_text()) == emulator.pid
    # the port file that Emulator.start waited for is the one the emulator wrote
    port = int((emulator.workdir / "http.port").read_text())
    assert emulator.http.endswith(f":{port}")
    emulator.stop()
    assert not pid_file.exists() and not (emulator.workdir / "http.port").exists()


def test_every_counter_is_an_array_the_type_checker_knows():
    """Counters declares its arrays by name for mypy; COUNTERS orders /debug/vars and /metrics."""
    assert list(Counters.__annotations__) == list(COUNTERS)
    counters = Counters(3)
    for name in COUNTERS:
        assert list(getattr(counters, name)) == [0, 0, 0], name
