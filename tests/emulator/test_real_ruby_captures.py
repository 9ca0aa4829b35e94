"""What the real Ruby ``mco`` and ``mcollectived`` put on the wire, decoded and answered by our stack.

``fixtures/real-choria/raw.jsonl`` holds every NATS message of one ``run-demo.sh --save`` run of
``../shared/real-choria`` (Debian mcollective 2.12.5 + mcollective-choria 0.19.0 + nats-pure 0.6.2,
three real daemons node1..node3): the golden vectors of issue 11. Ruby writes
``Base64.encode64`` (a newline every 60 characters), JSON-quoted ``"ping"`` bodies, signed
requests with the PEM certificate, and discovery filters with a sixth ``collective`` key. Before
these tests the emulator counted every such request as malformed. The live checks against the
running Ruby code are in ``tests/interop``.
"""

from __future__ import annotations

import base64
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from choria_pki import CertAuthority
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from choria_emulator.daemon import worker as worker_module
from choria_emulator.daemon.config import EmulatorConfig
from choria_emulator.daemon.instance import Instance, NodeKinds
from choria_emulator.daemon.replies import sender_headers
from choria_emulator.natsproto.connection import parse_server
from choria_emulator.protocol import Request, RPCReply, SecureRequest, gobase64
from choria_emulator.protocol.errors import SecurityError
from choria_emulator.protocol.messages import decode_reply, decode_request
from choria_emulator.protocol.security import RequestVerifier, X509Signer

RAW = Path(__file__).parent / "fixtures" / "real-choria" / "raw.jsonl"
MESSAGES = [json.loads(line) for line in RAW.read_text().splitlines() if line.strip()]
REQUESTS = [m for m in MESSAGES if ".reply." not in m["subject"]]
REPLIES = [m for m in MESSAGES if ".reply." in m["subject"]]
# the facts and classes run-demo.sh gave the three real daemons
NODES = {
    "node1": ({"role": "web"}, ("webserver",)),
    "node2": ({"role": "web"}, ("webserver",)),
    "node3": ({"role": "db"}, ("database",)),
}


def ruby_base64(data: bytes) -> str:
    """Ruby ``Base64.encode64``: standard alphabet, a newline after every 60 characters and at the end."""
    text = base64.b64encode(data).decode()
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))


def _ids(messages: list[dict[str, Any]]) -> list[str]:
    return [f"{i}:{m['subject']}" for i, m in enumerate(messages)]


def test_fixture_is_ruby_shaped():
    """Guard the fixture itself: 34 messages, Ruby's 60-column wrapping in every transport."""
    assert len(REQUESTS) == 12 and len(REPLIES) == 22
    for message in MESSAGES:
        data = json.loads(message["payload"])["data"]
        lines = data.split("\n")
        assert data.endswith("\n") and all(len(line) == 60 for line in lines[:-2]), message["subject"]


@pytest.mark.parametrize("message", REQUESTS, ids=_ids(REQUESTS))
def test_every_captured_request_decodes(message):
    incoming = decode_request(message["payload"])
    request = incoming.request
    assert incoming.transport.reply_to == message["reply"]  # Ruby sets the NATS reply and the header alike
    assert incoming.transport.sender == "rip.mcollective"
    assert request.callerid == "choria=rip.mcollective" and request.certname == "rip.mcollective"
    assert message["subject"].startswith(request.collective + ".")
    if request.agent == "discovery":
        assert request.message == '"ping"'  # JSON.dump("ping"): quoted
        assert b"ping" in request.payload  # what the discovery agent looks for
    else:
        body = json.loads(request.message)
        assert body["agent"] == request.agent and body["caller"] == "choria=rip.mcollective"
        assert body["data"]["process_results"] is True


@pytest.mark.parametrize("message", REPLIES, ids=_ids(REPLIES))
def test_every_captured_reply_decodes_with_a_valid_hash(message):
    incoming = decode_reply(message["payload"], verify_hash=True)
    assert incoming.sender == incoming.reply.senderid  # mc_sender is the bare identity
    assert incoming.sender in NODES
    envelope = json.loads(incoming.secure.message)["envelope"]
    assert list(envelope) == ["senderid", "requestid", "agent", "time"]  # Ruby hash order


def test_captured_discovery_filters_carry_a_sixth_key_and_decode():
    """``mco find``/``mco rpc`` discovery adds ``"collective"`` to the filter; it is ignored."""
    six = []
    for message in REQUESTS:
        incoming = decode_request(message["payload"])
        raw_filter = json.loads(incoming.secure.message)["envelope"]["filter"]
        if "collective" in raw_filter:
            six.append(incoming.request.filter)
    assert six, "the capture has no 6-key filter"
    assert all(f.agent == ["rpcutil"] for f in six)


def test_captured_signatures_verify_with_the_embedded_certificate():
    """RSA PKCS#1 v1.5 SHA-256 over the exact ``message``, base64 wrapped at 60 columns with ``\\n``."""
    for message in REQUESTS:
        secure = decode_request(message["payload"]).secure
        assert "\n" in secure.signature and not secure.signature.endswith("\n")  # encode64(...).chomp
        cert = x509.load_pem_x509_certificate(secure.pubcert.encode())
        cert.public_key().verify(  # raises InvalidSignature on mismatch
            gobase64.decode_std(secure.signature), secure.message.encode(), padding.PKCS1v15(), hashes.SHA256()
        )


def test_verifier_accepts_a_ruby_wrapped_signature(tmp_path):
    """Our ``--secure`` daemons verify a signature written the Ruby way (wrapped), and still refuse a forged one."""
    ca = CertAuthority.create(tmp_path, "Wrap CA")
    rip = ca.issue(tmp_path, "rip.mcollective")
    request = Request('"ping"', "rip.mcollective", "choria=rip.mcollective", "mcollective", "discovery")
    secure = X509Signer(rip.cert, rip.key).secure(request.encode(), "discovery")
    secure.signature = ruby_base64(base64.b64decode(secure.signature)).rstrip("\n")
    assert "\n" in secure.signature
    verifier = RequestVerifier(ca.cert)
    verifier.verify(secure, request)
    tampered = Request('"ping"', "rip.mcollective", "choria=rip.mcollective", "collective1", "discovery")
    with pytest.raises(SecurityError, match="did not pass validation"):
        verifier.verify(SecureRequest(tampered.encode(), secure.signature, secure.pubcert), tampered)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cGluZw==", b"ping"),
        ("cGlu\nZw==\n", b"ping"),  # Ruby encode64
        ("cGlu\r\nZw==", b"ping"),  # Go skips CR too
        ("\n", b""),
    ],
)
def test_go_base64_skips_line_breaks(text, expected):
    assert gobase64.decode_std(text) == expected
    assert gobase64.decode_std(text.encode()) == expected


@pytest.mark.parametrize("text", ["cGlu Zw==", "cGluZw", "cGluZw=", "cGlu\tZw==", "cGluZw==\x00", "cGl-Zw=="])
def test_go_base64_refuses_what_go_refuses(text):
    with pytest.raises(ValueError):
        gobase64.decode_std(text)


class _Clock:
    """The ``time`` module as the worker sees it, stopped at the capture's second."""

    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class _Connection:
    def __init__(self, sent: list[tuple[bytes, bytes]]):
        self.sent = sent

    def publish(self, subject: bytes, payload: bytes) -> bool:
        self.sent.append((subject, payload))
        return True


def test_emulated_daemons_answer_every_captured_request_like_the_real_ones(monkeypatch):
    """The captured bytes, unmodified, dispatched to emulated node1..node3 with the real daemons'
    facts and classes: per request the same set of nodes answers as answered the real ``mco``,
    to the ``reply-to`` subject, in replies the real ``mco`` accepts (README table)."""
    config = EmulatorConfig(instances=3, name="node", servers=[parse_server("127.0.0.1:4222")], agents=2, collectives=2)
    worker = worker_module.Worker(config, range(3))
    sent: list[tuple[bytes, bytes]] = []
    worker.instances = []
    for slot, (identity, (facts, classes)) in enumerate(NODES.items()):
        instance = Instance(worker, slot, slot, identity, facts, classes)
        instance.connection = _Connection(sent)  # type: ignore[assignment]
        instance.headers_json = sender_headers(identity, None)
        worker.instances.append(instance)
    worker.kinds = NodeKinds(worker.instances)  # the real daemons' facts and classes, as filters group them
    expected: dict[str, set[str]] = defaultdict(set)
    for message in REPLIES:
        reply = decode_reply(message["payload"]).reply
        expected[reply.requestid].add(reply.senderid)
    answered: dict[str, set[str]] = defaultdict(set)
    for message in REQUESTS:
        monkeypatch.setattr(worker_module, "time", _Clock(message["t"]))
        request = decode_request(message["payload"]).request
        kind, _, target = message["subject"].partition(".node.")
        targets = [i for i in worker.instances if not target or i.identity == target]
        sent.clear()
        for instance in targets:
            worker.dispatch(instance, 1, message["payload"].encode())
        for subject, payload in sent:
            assert subject.decode() == message["reply"]
            incoming = decode_reply(payload)
            reply = incoming.reply
            assert reply.requestid == request.requestid and reply.agent == request.agent
            envelope = json.loads(incoming.secure.message)["envelope"]
            assert list(envelope) == ["requestid", "senderid", "agent", "time"]  # exactly 4 keys
            assert isinstance(json.loads(payload)["headers"], dict)  # a missing one crashes mco
            if request.agent != "discovery":
                body = RPCReply.decode(reply.message)
                assert body.statuscode == 0, body
            answered[reply.requestid].add(reply.senderid)
        senders = [decode_reply(payload).reply.senderid for _, payload in sent]
        assert len(senders) == len(set(senders)), "one reply per node"
    counters = worker.counters.totals()
    assert counters["malformed"] == 0 and counters["unvalidated"] == 0
    assert dict(answered) == dict(expected)
