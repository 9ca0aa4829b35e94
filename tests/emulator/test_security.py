"""Signed requests (protocol.md §2.2): the verifier alone, then emulated daemons on a real nats-server.

A throw-away PKI is made per session (choria_pki). Daemons started with ``--secure --ca``
answer requests signed by certificates of that CA whose name matches the ``callerid``; every
other request gets no reply and is counted ``unvalidated`` in ``/debug/vars``.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from choria_pki import CertAuthority, CertFiles
from choria_wire import apoll, collect
from cryptography.x509.oid import ExtendedKeyUsageOID
from isolated_network import own_client, own_nats, start_network  # noqa: F401 - fixtures

from choria_emulator.protocol import Filter, Request, SecureRequest
from choria_emulator.protocol.messages import encode_request, reply_subject
from choria_emulator.protocol.secure import insecure_registration
from choria_emulator.protocol.security import (
    InsecureSigner,
    RequestVerifier,
    SecurityError,
    X509Signer,
)
from choria_emulator.protocol.transport import Transport


@dataclass
class PKI:
    ca: CertAuthority
    rip: CertFiles  # rip.mcollective, the usual client
    mallory: CertFiles  # a valid user who will try to act as rip
    admin: CertFiles  # admin.privileged.mcollective
    san: CertFiles  # CN "client" with DNS name sanuser.mcollective
    outsider: CertFiles  # rip.example.com: valid cert, name not on the allowed list
    foreign: CertFiles  # rip.mcollective signed by another CA
    expired: CertFiles  # rip.mcollective, expired yesterday
    future: CertFiles  # rip.mcollective, valid from tomorrow
    server_only: CertFiles  # rip.mcollective with serverAuth key usage only
    chained: CertFiles  # chained.mcollective issued by an intermediate, bundle includes it
    unchained: CertFiles  # same, without the intermediate in the bundle


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    d = tmp_path_factory.mktemp("pki")
    ca = CertAuthority.create(d, "Test Choria CA")
    intermediate = CertAuthority.create(d, "Intermediate CA", issuer=ca)
    return PKI(
        ca=ca,
        rip=ca.issue(d, "rip.mcollective"),
        mallory=ca.issue(d, "mallory.mcollective"),
        admin=ca.issue(d, "admin.privileged.mcollective"),
        san=ca.issue(d, "client", dns_names=("sanuser.mcollective",), file_name="san"),
        outsider=ca.issue(d, "rip.example.com"),
        foreign=CertAuthority.create(d / "other", "Other CA").issue(d / "other", "rip.mcollective"),
        expired=ca.issue(d, "rip.mcollective", days=(-30, -1), file_name="expired"),
        future=ca.issue(d, "rip.mcollective", days=(1, 30), file_name="future"),
        server_only=ca.issue(d, "rip.mcollective", usage=[ExtendedKeyUsageOID.SERVER_AUTH], file_name="server-only"),
        chained=intermediate.issue(d, "chained.mcollective", include_chain=True),
        unchained=intermediate.issue(d, "chained.mcollective", file_name="unchained"),
    )


def request(callerid: str = "choria=rip.mcollective", agent: str = "discovery", message: str = "cGluZw==") -> Request:
    return Request(message=message, senderid="security-test", callerid=callerid, collective="mcollective", agent=agent)


def signed(who: CertFiles, req: Request) -> SecureRequest:
    return X509Signer(who.cert, who.key).secure(req.encode(), req.agent)


def forged(pubcert_of: CertFiles, signed_by: CertFiles, req: Request) -> SecureRequest:
    """``pubcert_of``'s certificate with a signature made by ``signed_by``'s key."""
    text = req.encode()
    return SecureRequest(text, X509Signer(signed_by.cert, signed_by.key).sign(text), pubcert_of.cert.read_text())


def tampered(who: CertFiles, req: Request) -> SecureRequest:
    """Signed, then the request changed (an identity filter added) after signing."""
    secure = signed(who, req)
    secure.message = secure.message.replace('"identity":[]', '"identity":["emu-0"]')
    return secure


BAD_DER = "-----BEGIN CERTIFICATE-----\nMIIBAAAAAAAAAAAAAAAAAAAAAAAA\n-----END CERTIFICATE-----\n"

# ---- what is refused, and what is accepted -------------------------------------------------------


def refused_cases(p: PKI) -> dict[str, tuple[SecureRequest, Request]]:
    rip, bob = request(), request("choria=bob.mcollective")
    return {
        "unsigned": (SecureRequest(rip.encode()), rip),
        "forged-signature": (forged(p.rip, p.mallory, rip), rip),
        "tampered-message": (tampered(p.rip, rip), rip),
        "wrong-callerid": (signed(p.rip, bob), bob),
        "callerid-without-certname": (signed(p.rip, request("rip.mcollective")), request("rip.mcollective")),
        "certname-not-allowed": (
            signed(p.outsider, request("choria=rip.example.com")),
            request("choria=rip.example.com"),
        ),
        "other-ca": (signed(p.foreign, rip), rip),
        "expired-certificate": (signed(p.expired, rip), rip),
        "not-yet-valid-certificate": (signed(p.future, rip), rip),
        "server-auth-only-certificate": (signed(p.server_only, rip), rip),
        "missing-intermediate": (
            signed(p.unchained, request("choria=chained.mcollective")),
            request("choria=chained.mcollective"),
        ),
        "signature-not-base64": (SecureRequest(rip.encode(), "not base64!", p.rip.cert.read_text()), rip),
        "pubcert-not-pem": (SecureRequest(rip.encode(), signed(p.rip, rip).signature, "garbage"), rip),
        "pubcert-bad-der": (SecureRequest(rip.encode(), signed(p.rip, rip).signature, BAD_DER), rip),
        "insecure-registration": (
            insecure_registration(request(agent="registration").encode()),
            request(agent="registration"),
        ),
        "unsigned-aaa-signer": (SecureRequest(request(agent="aaa_signer").encode()), request(agent="aaa_signer")),
    }


def accepted_cases(p: PKI) -> dict[str, tuple[SecureRequest, Request]]:
    rip, bob = request(), request("choria=bob.mcollective")
    san = request("choria=sanuser.mcollective")
    chained = request("choria=chained.mcollective")
    return {
        "own-certificate": (signed(p.rip, rip), rip),
        "name-in-dns-san": (signed(p.san, san), san),
        "privileged-acts-for-anyone": (signed(p.admin, bob), bob),
        "intermediate-in-bundle": (signed(p.chained, chained), chained),
    }


REFUSED = [
    "unsigned", "forged-signature", "tampered-message", "wrong-callerid", "callerid-without-certname",
    "certname-not-allowed", "other-ca", "expired-certificate", "not-yet-valid-certificate",
    "server-auth-only-certificate", "missing-intermediate", "signature-not-base64", "pubcert-not-pem",
    "pubcert-bad-der",
    "insecure-registration", "unsigned-aaa-signer",
]  # fmt: skip
ACCEPTED = ["own-certificate", "name-in-dns-san", "privileged-acts-for-anyone", "intermediate-in-bundle"]


@pytest.fixture(scope="session")
def verifier(pki: PKI) -> RequestVerifier:
    return RequestVerifier(pki.ca.cert)


@pytest.mark.parametrize("case", REFUSED)
def test_verifier_refuses(pki: PKI, verifier: RequestVerifier, case: str):
    secure, req = refused_cases(pki)[case]
    with pytest.raises(SecurityError):
        verifier.verify(SecureRequest.decode(secure.encode()), Request.decode(secure.message))


@pytest.mark.parametrize("case", ACCEPTED)
def test_verifier_accepts(pki: PKI, verifier: RequestVerifier, case: str):
    secure, req = accepted_cases(pki)[case]
    verifier.verify(SecureRequest.decode(secure.encode()), Request.decode(secure.message))


def test_certificate_validity_is_checked_at_verification_time(pki: PKI, verifier: RequestVerifier):
    secure, req = accepted_cases(pki)["own-certificate"]
    verifier.verify(secure, req)
    with pytest.raises(SecurityError, match="expired"):
        verifier.verify(secure, req, now=datetime.now(timezone.utc) + timedelta(days=60))


def test_allowed_and_privileged_patterns_are_configurable(pki: PKI):
    outsider = request("choria=rip.example.com")
    RequestVerifier(pki.ca.cert, allowed=(r"/\.example\.com$/",)).verify(signed(pki.outsider, outsider), outsider)
    bob = request("choria=bob.mcollective")
    with pytest.raises(SecurityError):
        RequestVerifier(pki.ca.cert, privileged=(r"^nobody$",)).verify(signed(pki.admin, bob), bob)


def test_callerid_certname_is_ascii_like_gos_word_class(pki: PKI, verifier: RequestVerifier):
    assert request("choria=rïp.mcollective").certname == "r"
    assert request("choria=rip.mcollective").certname == "rip.mcollective"
    assert request("Choria=rip.mcollective").certname is None


def test_signer_leaves_aaa_signer_requests_unsigned(pki: PKI):
    signer = X509Signer(pki.rip.cert, pki.rip.key)
    assert signer.secure("{}", "aaa_signer").signature == "insecure"
    assert signer.secure("{}", "aaa_signer").pubcert == "insecure"
    secure = signer.secure("{}", "rpcutil")
    assert secure.pubcert == pki.rip.cert.read_text() and base64.b64decode(secure.signature)
    assert signer.certname == "rip.mcollective"


def test_insecure_registration_is_what_go_sends_without_a_certificate():
    secure = insecure_registration("{}")
    assert secure.pubcert == "insecure registration"
    assert base64.b64decode(secure.signature) == b"insecure registration"


def test_insecure_signer_writes_insecure_in_both_fields():
    """protocol.md §7 item 10."""
    secure = InsecureSigner().secure("{}", "discovery")
    assert (secure.signature, secure.pubcert) == ("insecure", "insecure")


# ---- end to end: --secure daemons on a real nats-server --------------------------------------------

INSTANCES = 3


@pytest.fixture(scope="module")
def secure_network(tmp_path_factory: pytest.TempPathFactory, own_nats, pki: PKI):
    emulator = start_network(
        own_nats, tmp_path_factory, INSTANCES, "--workers", "1", "--secure", "--ca", str(pki.ca.cert), name="sec"
    )
    yield emulator
    emulator.stop()


def cli(own_nats, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "choria_emulator", *args, "--server", own_nats.url, "--config", "/dev/null"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def signed_cli_flags(who: CertFiles, certname: str) -> list[str]:
    return ["--secure", "--tls-cert", str(who.cert), "--tls-key", str(who.key), "--certname", certname]


def test_cli_ping_with_a_signing_certificate_is_answered(secure_network, own_nats, pki: PKI):
    done = cli(
        own_nats,
        "ping",
        *signed_cli_flags(pki.rip, "rip.mcollective"),
        "--expect",
        str(INSTANCES),
        "--timeout",
        "10",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout)["nodes"]) == [f"sec-{i}" for i in range(INSTANCES)]


def test_cli_rpc_with_a_signing_certificate_is_answered(secure_network, own_nats, pki: PKI):
    done = cli(
        own_nats, "rpc", "emulated0", "generate", "size=5", *signed_cli_flags(pki.rip, "rip.mcollective"), "--json"
    )
    assert done.returncode == 0, done.stderr
    replies = json.loads(done.stdout)["replies"]
    assert sorted(r["sender"] for r in replies) == [f"sec-{i}" for i in range(INSTANCES)]
    assert {r["data"]["message"] for r in replies} == {"01234"}


def test_cli_ping_without_signing_gets_no_reply(secure_network, own_nats):
    done = cli(own_nats, "ping", "--timeout", "1", "--json")
    assert json.loads(done.stdout)["nodes"] == {}


async def answered_by(client, secure: SecureRequest, req: Request, wait: float) -> list[str]:
    """Publish one crafted request to its agent and return who answered within ``wait``."""
    inbox = reply_subject("mcollective", req.callerid, req.requestid)
    payload = Transport(secure.encode(), reply_to=inbox, sender="security-test").encode()
    replies = await collect(client.nc, f"mcollective.broadcast.agent.{req.agent}", payload, inbox, timeout=wait)
    return sorted(reply.sender for reply in replies)


E2E_REFUSED = [case for case in REFUSED if case not in ("insecure-registration", "unsigned-aaa-signer")]


async def test_refused_requests_get_no_reply_and_count_unvalidated(secure_network, own_client, pki: PKI):
    cases = refused_cases(pki)
    before = secure_network.debug_vars()["counters"]["unvalidated"]
    for name in E2E_REFUSED:
        secure, req = cases[name]
        assert await answered_by(own_client, secure, req, wait=0.3) == [], name
    expected = before + INSTANCES * len(E2E_REFUSED)
    await apoll(
        lambda: secure_network.debug_vars()["counters"]["unvalidated"] >= expected, timeout=10, what="unvalidated count"
    )
    assert secure_network.debug_vars()["counters"]["unvalidated"] == expected


async def test_accepted_requests_are_answered_by_every_instance(secure_network, own_client, pki: PKI):
    for name, (secure, req) in accepted_cases(pki).items():
        answered = await answered_by(own_client, secure, req, wait=1.0)
        assert answered == [f"sec-{i}" for i in range(INSTANCES)], name


async def test_signed_request_with_a_filter_is_verified_then_filtered(secure_network, own_client, pki: PKI):
    req = request()
    req.filter = Filter(identity=["sec-1"])
    secure = signed(pki.rip, req)
    assert await answered_by(own_client, secure, req, wait=1.0) == ["sec-1"]


async def test_the_same_bytes_signed_through_the_client_stack_validate(secure_network, own_client, pki: PKI):
    """encode_request with an X509Signer produces what the daemons accept (client and daemon agree)."""
    req = request()
    raw = encode_request(req, "unused", "security-test", signer=X509Signer(pki.rip.cert, pki.rip.key))
    secure = SecureRequest.decode(Transport.decode(raw).data)
    assert (await answered_by(own_client, secure, req, wait=1.0)) == [f"sec-{i}" for i in range(INSTANCES)]
