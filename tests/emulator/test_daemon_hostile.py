"""Hostile input (issue 12): no message may speak NATS protocol through an emulated node.

An attacker with publish rights on the broker sends requests whose transport ``reply-to`` (the
subject every instance replies to, outside the signature) carries CR/LF, spaces, tabs, NULs,
wildcards, nothing, or 100 KB. A wildcard subscriber watches the broker: no injected message may
appear, no subscription may be lost, and the drops are counted. Real nats-server, real emulator.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import pytest
from choria_wire import apoll, stable_counters

from choria_emulator.client import ChoriaClient, ClientConfig, ping, rpc
from choria_emulator.daemon.config import EmulatorConfig
from choria_emulator.daemon.requests import MALFORMED, OK, decode
from choria_emulator.natsproto import NatsConnection, parse_server
from choria_emulator.natsproto.subjects import MAX_SUBJECT, valid_subject

INSTANCES = 20
DISCOVERY = "mcollective.broadcast.agent.discovery"

# What a reply-to must never smuggle into a PUB line (the issue's probes first).
INJECTIONS = [
    "probe.ok 0\r\n\r\nPUB probe.injected 5\r\nhello\r\nPUB probe.tail",
    "probe.ok 0\r\n\r\n" + "".join(f"UNSUB {sid}\r\n" for sid in range(1, 9)) + "PUB probe.tail",
    "probe.ok\r\nPUB probe.injected 0\r\n\r\nPUB probe.tail",
    "probe.ok\nPUB probe.injected 0\n\nPUB probe.tail",
    "probe.cr\rx",
    "probe.lf\nx",
    "probe.space x",
    "probe.tab\tx",
    "probe.nul\x00x",
    "probe.*",
    "probe.>",
    "*",
    ">",
    "probe..double",
    ".probe",
    "probe.",
    "probe.\u00e9",
    "probe.\x7f",
    "p" * (MAX_SUBJECT + 1),
    "p" * 100_000,
]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def request_text(agent: str = "discovery", message: str = "cGluZw==", **envelope: Any) -> str:
    env = {
        "requestid": "a2b3c4d5e6f708192a3b4c5d6e7f8091",
        "senderid": "attacker",
        "callerid": "choria=attacker.mcollective",
        "collective": "mcollective",
        "agent": agent,
        "ttl": 60,
        "time": int(time.time()),
        "filter": {"fact": [], "cf_class": [], "agent": [], "identity": [], "compound": []},
        **envelope,
    }
    return json.dumps({"protocol": "choria:request:1", "message": message, "envelope": env})


def transport(text: str, reply_to: str | None, signature: str = "insecure", pubcert: str = "insecure") -> bytes:
    secure = json.dumps(
        {"protocol": "choria:secure:request:1", "message": text, "signature": signature, "pubcert": pubcert}
    )
    headers: dict[str, Any] = {"mc_sender": "attacker"}
    if reply_to is not None:
        headers["reply-to"] = reply_to
    return json.dumps({"protocol": "choria:transport:1", "data": b64(secure), "headers": headers}).encode()


# ---- units: the decoder drops, the writer refuses ----------------------------------------------------


@pytest.mark.parametrize("reply_to", INJECTIONS, ids=range(len(INJECTIONS)))
def test_a_reply_to_that_is_not_one_subject_makes_the_request_malformed(reply_to):
    decoded = decode(transport(request_text(), reply_to), None)
    assert decoded.status == MALFORMED and "reply-to" in decoded.error
    assert decoded.reply_to is None


def test_valid_reply_subjects_still_decode():
    for reply_to in ("mcollective.reply.rip.mcollective.1234.1", "choria.federation.x.y", "_INBOX.abc-1_2:3"):
        decoded = decode(transport(request_text(), reply_to), None)
        assert decoded.status == OK and decoded.reply_to == reply_to.encode()
    decoded = decode(transport(request_text(), ""), None)  # no reply-to: no reply, not an error
    assert decoded.status == OK and decoded.reply_to is None


class Recorder:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


@pytest.mark.parametrize("subject", INJECTIONS + [""], ids=range(len(INJECTIONS) + 1))
def test_publish_never_writes_a_subject_that_is_not_one(subject):
    conn = NatsConnection(owner=None, server=parse_server("127.0.0.1:4222"))  # type: ignore[arg-type]
    conn.transport = Recorder()  # type: ignore[assignment]
    assert conn.publish(subject.encode(errors="surrogateescape"), b"x") is False
    assert conn.publish(subject, b"x") is False
    assert conn.transport.written == []  # type: ignore[union-attr]
    assert conn.publish(b"mcollective.reply.ok", b"x") is True
    assert conn.transport.written == [b"PUB mcollective.reply.ok 1\r\nx\r\n"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "name, message",
    [
        ("n" * 201, "at most 200"),
        ("my\r\nnode", "cannot be part of a NATS subject"),
        ("tab\tname", "cannot be part of a NATS subject"),
        ("nul\x00", "cannot be part of a NATS subject"),
        ("n\u00e9", "cannot be part of a NATS subject"),
        ("", "empty"),
    ],
)
def test_names_that_cannot_be_subjects_are_refused(name, message):
    with pytest.raises(ValueError, match=message):
        EmulatorConfig(instances=1, name=name, servers=[parse_server("127.0.0.1:4222")])


def test_subject_rules():
    assert valid_subject("a.b-c_d/e:f") and valid_subject(b"x" * MAX_SUBJECT)
    assert not valid_subject(b"x" * (MAX_SUBJECT + 1)) and not valid_subject("")


# ---- on the broker ---------------------------------------------------------------------------------


class Watcher:
    """A wildcard subscriber that records every subject the broker delivers."""

    def __init__(self) -> None:
        self.subjects: list[str] = []

    async def record(self, msg: Any) -> None:
        self.subjects.append(msg.subject)

    def strangers(self, expected: set[str]) -> list[str]:
        return [s for s in self.subjects if s not in expected]


async def attack(client: ChoriaClient, emulator: Any, payloads: list[bytes], instances: int) -> dict[str, int]:
    """Publish every payload to the discovery broadcast; the counters once the workers counted them all."""
    start = await asyncio.to_thread(stable_counters, emulator)
    for payload in payloads:
        await client.nc.publish(DISCOVERY, payload)
    await client.nc.flush()
    total = start["total"] + instances * len(payloads)
    await apoll(lambda: emulator.debug_vars()["counters"]["total"] >= total, timeout=120, what=f"total {total}")
    after = await asyncio.to_thread(stable_counters, emulator)
    return {key: after[key] - start[key] for key in after}


async def still_whole(client: ChoriaClient, emulator: Any, name: str, instances: int) -> None:
    """Every instance answers on every kind of subscription; nothing reconnected or erred."""
    nodes = sorted(f"{name}-{i}" for i in range(instances))
    result = await ping(client, timeout=15, expect=instances)  # C.broadcast.agent.discovery
    assert sorted(result.times) == nodes
    result = await rpc(client, "rpcutil", "ping", targets=nodes, timeout=15)  # C.node.<identity>
    assert sorted(r["sender"] for r in result.replies) == nodes
    result = await rpc(client, "emulated0", "generate", targets=nodes, directed=False, timeout=15)  # broadcast
    assert sorted(r["sender"] for r in result.replies) == nodes
    status = emulator.debug_vars()
    assert status["connected"] == instances and status["reconnects"] == 0 and status["server_errors"] == 0


async def test_no_reply_to_injects_protocol_or_loses_a_subscription(nats_server, emulator_factory):
    emulator = await asyncio.to_thread(emulator_factory, nats_server.url, INSTANCES, "--workers", "2", name="inj")
    config = ClientConfig.load(servers=[nats_server.url], search_default_files=False, identity="attacker")
    async with ChoriaClient(config) as client:
        watcher = Watcher()
        await client.nc.subscribe(">", cb=watcher.record)
        payloads = [transport(request_text(), reply_to) for reply_to in INJECTIONS]
        counted = await attack(client, emulator, payloads, INSTANCES)
        assert counted["malformed"] == INSTANCES * len(INJECTIONS)
        assert counted["validated"] == 0 and counted["replies"] == 0
        # the other envelope fields never reach a protocol line: hostile values there are just data
        others = [
            transport(request_text(**{field: value}), "probe.reply")
            for field in ("senderid", "callerid", "collective", "agent")
            for value in INJECTIONS[:2] + ["x\r\ny", "*", ">"]
        ]
        await attack(client, emulator, others, INSTANCES)
        await client.nc.flush()
        await asyncio.sleep(0.5)
        assert watcher.strangers({DISCOVERY, "probe.reply"}) == []
        assert not any(s.startswith("probe.injected") or s == "probe.tail" for s in watcher.subjects)
        await still_whole(client, emulator, "inj", INSTANCES)
    assert "Traceback" not in emulator.log()


async def test_a_captured_signed_request_with_a_rewritten_reply_to_injects_nothing(
    nats_server, emulator_factory, tmp_path
):
    from choria_pki import CertAuthority

    from choria_emulator.protocol.security import X509Signer

    ca = CertAuthority.create(tmp_path / "ca")
    rip = ca.issue(tmp_path, "rip.mcollective")
    signer = X509Signer(rip.cert, rip.key)
    emulator = await asyncio.to_thread(
        emulator_factory, nats_server.url, 10, "--workers", "2", "--secure", "--ca", str(ca.cert), name="sinj"
    )
    text = request_text(callerid="choria=rip.mcollective")
    signature = signer.sign(text)
    config = ClientConfig.load(servers=[nats_server.url], search_default_files=False, identity="attacker")
    async with ChoriaClient(config) as client:
        watcher = Watcher()
        await client.nc.subscribe(">", cb=watcher.record)
        replies: list[bytes] = []

        async def on_reply(msg: Any) -> None:
            replies.append(msg.data)

        await client.nc.subscribe("probe.ok", cb=on_reply)
        rewritten = [transport(text, reply_to, signature, signer.pubcert) for reply_to in INJECTIONS[:4]]
        counted = await attack(client, emulator, rewritten, 10)
        assert counted["malformed"] == 10 * len(rewritten) and counted["validated"] == 0
        await asyncio.sleep(0.5)
        assert watcher.strangers({DISCOVERY}) == [] and replies == []
        # the same captured request with its genuine reply-to is still answered by all
        await attack(client, emulator, [transport(text, "probe.ok", signature, signer.pubcert)], 10)
        await apoll(lambda: len(replies) >= 10, timeout=30, what="10 replies")
    assert "Traceback" not in emulator.log()


# ---- signed mode: the certificate chain search is bounded ---------------------------------------------


def looping_intermediates(count: int, leaf_name: str = "rip.mcollective") -> tuple[str, Any]:
    """A pubcert of a leaf and ``count`` CA certificates that all issue each other (same subject and
    key, different serials), none of them from the real CA: the worst case for a naive path search."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    evil = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Looping CA")])
    now = datetime.datetime.now(datetime.timezone.utc)

    def cert(subject: x509.Name, public_key: Any, ca: bool) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(evil)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )

    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, leaf_name)]), leaf_key.public_key(), False)
    chain = [leaf] + [cert(evil, key.public_key(), True) for _ in range(count)]
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain).decode(), leaf_key


@pytest.fixture(scope="module")
def real_ca(tmp_path_factory):
    from choria_pki import CertAuthority

    return CertAuthority.create(tmp_path_factory.mktemp("hostile-ca"))


@pytest.mark.parametrize("count", [2, 5, 8])
def test_looping_intermediates_cost_a_bounded_number_of_signature_checks(real_ca, monkeypatch, count):
    from choria_emulator.protocol import security
    from choria_emulator.protocol.errors import SecurityError

    pubcert, _ = looping_intermediates(count)
    checks = []
    real_issued_by = security._issued_by

    def counting(cert: Any, issuer: Any) -> bool:
        checks.append(1)
        return real_issued_by(cert, issuer)

    monkeypatch.setattr(security, "_issued_by", counting)
    verifier = security.RequestVerifier(real_ca.cert)
    with pytest.raises(SecurityError, match="not signed by the CA"):
        verifier.verify_certificate(pubcert)
    # each intermediate is explored once: at most one check per (certificate, candidate) pair
    assert len(checks) <= min(security.MAX_ISSUER_CHECKS, (count + 1) * count)
    checks.clear()
    with pytest.raises(SecurityError):
        verifier.verify_certificate(pubcert)  # the verdict is remembered per pubcert
    assert checks == []


def test_a_pubcert_with_more_certificates_than_a_chain_is_refused_before_parsing(real_ca, monkeypatch):
    from choria_emulator.protocol import security
    from choria_emulator.protocol.errors import SecurityError

    block = real_ca.cert.read_text()
    parsed = []
    monkeypatch.setattr(security.x509, "load_pem_x509_certificates", lambda data: parsed.append(data) or [])
    pubcert = block * (1024 * 1024 // len(block))  # a pubcert as large as max_payload
    with pytest.raises(SecurityError, match="more than 9 certificates"):
        security._load_chain(pubcert)
    assert parsed == []


def test_a_real_chain_still_verifies_with_the_bounded_search(real_ca, tmp_path):
    from choria_pki import CertAuthority

    from choria_emulator.protocol import security

    first = CertAuthority.create(tmp_path / "i1", "Intermediate One", issuer=real_ca)
    second = CertAuthority.create(tmp_path / "i2", "Intermediate Two", issuer=first)
    leaf = second.issue(tmp_path, "deep.mcollective", include_chain=True)
    pubcert = leaf.cert.read_text() + first.cert.read_text()
    verifier = security.RequestVerifier(real_ca.cert)
    assert security.common_name(verifier.verify_certificate(pubcert)) == "deep.mcollective"


def test_collectives_from_a_server_config_may_have_dots_but_never_protocol():
    from choria_emulator.daemon.worker import Worker

    servers = [parse_server("127.0.0.1:4222")]
    config = EmulatorConfig(instances=1, name="c", servers=servers, workers=1, collective_names=("eu.web", "us"))
    worker = Worker(config, range(1))  # the layout accepts what the config accepted
    assert worker.layout.subjects("c-0")[0] == "eu.web.node.c-0"
    for bad in ("eu web", "eu\r\nPUB x 0", "eu.*", ""):
        with pytest.raises(ValueError, match="collective"):
            EmulatorConfig(instances=1, name="c", servers=servers, collective_names=(bad, "us"))
