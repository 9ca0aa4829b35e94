"""The worker's hot path in-process: a request that breaks a handler is counted, never raised; the cache stays bounded.

Unit tests in addition to the network tests: they reach code paths the protocol layer does
not produce today (an agent or filter that raises), with real encoded requests.
"""

from __future__ import annotations

from typing import Any

from choria_emulator.daemon.config import EmulatorConfig
from choria_emulator.daemon.registry import Agent
from choria_emulator.daemon.requests import MALFORMED, RequestCache
from choria_emulator.daemon.worker import Worker
from choria_emulator.natsproto import parse_server
from choria_emulator.protocol import Filter, Request
from choria_emulator.protocol.messages import encode_request
from choria_emulator.protocol.prepared import PreparedFilter


class RecordingConnection:
    """Stands in for a NatsConnection: records what an instance publishes."""

    max_payload = 1024 * 1024

    def __init__(self) -> None:
        self.published: list[tuple[bytes, bytes]] = []
        self.server = parse_server("nats://127.0.0.1:4222")

    def publish(self, subject: bytes, payload: bytes) -> bool:
        self.published.append((subject, payload))
        return True


def worker(instances: int = 3) -> tuple[Worker, list[RecordingConnection]]:
    config = EmulatorConfig(instances=instances, name="unit", servers=[parse_server("127.0.0.1:4222")], workers=1)
    w = Worker(config, range(instances))
    connections = []
    for instance in w.instances:
        conn = RecordingConnection()
        instance.connected_to(conn)  # type: ignore[arg-type]
        connections.append(conn)
    return w, connections


def ping_request(**kwargs: Any) -> bytes:
    request = Request("cGluZw==", "unit", "choria=unit.mcollective", "mcollective", "discovery", **kwargs)
    return encode_request(request, "mcollective.reply.unit", "unit")


def test_every_instance_answers_a_ping():
    w, connections = worker()
    payload = ping_request()
    for instance in w.instances:
        w.dispatch(instance, 2, payload)
    assert [len(c.published) for c in connections] == [1, 1, 1]
    assert w.counters.totals()["replies"] == 3


def test_a_handler_that_raises_is_counted_as_malformed_for_every_instance():
    w, connections = worker()
    calls = []

    def broken(instance, decoded):
        calls.append(instance.identity)
        raise TypeError("agent bug")

    w.layout.agent_for["discovery"] = Agent("discovery", {}, respond=broken)
    payload = ping_request()
    for instance in w.instances:
        w.dispatch(instance, 2, payload)  # must not raise
    totals = w.counters.totals()
    assert calls == ["unit-0"]  # the first failure poisons the request for the others
    assert totals["total"] == 3 and totals["malformed"] == 3 and totals["validated"] == 0
    assert totals["replies"] == 0 and not any(c.published for c in connections)
    assert w.request_errors == 1


def test_a_filter_that_raises_is_dropped(monkeypatch):
    w, _ = worker(2)

    def explode(self, identity):
        raise RecursionError("filter bug")

    monkeypatch.setattr(PreparedFilter, "identity_matches", explode)
    payload = ping_request(filter=Filter(identity=["/unit/"]))
    for instance in w.instances:
        w.dispatch(instance, 2, payload)
    assert w.counters.totals()["malformed"] == 2


def test_request_cache_is_bounded_in_entries_and_bytes():
    cache = RequestCache(None, limit=4, max_bytes=10_000)
    small = [ping_request() for _ in range(6)]
    for payload in small:
        assert cache.get(payload).status == 0
    assert len(cache) == 4
    big = [ping_request(filter=Filter(identity=["x" * 3000])) for _ in range(5)]
    for payload in big:
        cache.get(payload)
    assert cache.size_bytes <= 10_000 and len(cache) <= 3
    assert cache.get(b"garbage").status == MALFORMED and len(cache) <= 3  # garbage is never cached


def test_poison_returns_whether_it_had_validated():
    cache = RequestCache(None)
    payload = ping_request()
    cache.get(payload)
    assert cache.poison(payload) is True
    assert cache.get(payload).status == MALFORMED
    assert cache.poison(payload) is False
    assert cache.poison(b"never seen") is False


def test_garbage_is_decoded_once_per_worker_and_remembered_by_hash_only(monkeypatch):
    from choria_emulator.daemon import requests

    decoded: list[bytes] = []
    real = requests.decode

    def counting(raw: bytes, verifier: Any) -> Any:
        decoded.append(raw)
        return real(raw, verifier)

    monkeypatch.setattr(requests, "decode", counting)
    cache = RequestCache(None, garbage_limit=4)
    valid = ping_request()
    assert cache.get(valid).status == 0
    for _ in range(100):  # the same garbage reaching 100 instances: a new bytes object each time
        assert cache.get(bytes(bytearray(b"not a choria message"))).status == MALFORMED
    assert len(decoded) == 2 and cache.garbage == 1
    assert len(cache) == 1 and cache.size_bytes == len(valid)  # garbage keeps no payload
    for number in range(1000):  # distinct garbage never evicts the request
        cache.get(b"garbage %d" % number)
    assert cache.garbage == 4 and len(decoded) == 1002
    cache.get(bytes(bytearray(valid)))
    assert len(decoded) == 1002  # still cached
    cache.get(b"garbage 0")  # forgotten by the ring of 4: decoded again, as it should be
    assert len(decoded) == 1003


def test_the_audit_log_encodes_the_request_once_and_each_instance_adds_its_time_and_name(tmp_path, monkeypatch):
    import json

    from choria_emulator.daemon import audit
    from choria_emulator.protocol.rpc import RPCRequest

    config = EmulatorConfig(
        instances=3, name="unit", servers=[parse_server("127.0.0.1:4222")], workers=1, audit=str(tmp_path / "a.log")
    )
    w = Worker(config, range(3))
    for instance in w.instances:
        instance.connected_to(RecordingConnection())  # type: ignore[arg-type]
    encoded: list[Any] = []
    real = audit.gojson.dumps
    monkeypatch.setattr(audit.gojson, "dumps", lambda value: encoded.append(value) or real(value))
    data = {"size": 3, "pad": "x" * 100_000}
    body = RPCRequest("emulated0", "generate", data).encode()
    payload = encode_request(
        Request(body, "unit", "choria=unit.mcollective", "mcollective", "emulated0"), "mcollective.reply.unit", "unit"
    )
    for instance in w.instances:
        w.dispatch(instance, 2, payload)
    assert sum(1 for value in encoded if isinstance(value, dict) and "request_id" in value) == 1  # once
    lines = [json.loads(line) for line in (tmp_path / "a.log").read_text().splitlines()]
    assert [line["identity"] for line in lines] == ["unit-0", "unit-1", "unit-2"]
    assert [list(line) for line in lines] == [
        ["timestamp", "request_id", "request_time", "caller", "sender", "agent", "action", "data", "identity"]
    ] * 3
    assert all(line["data"] == data and line["action"] == "generate" for line in lines)
