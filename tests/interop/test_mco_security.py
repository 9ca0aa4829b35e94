"""Signed mode of issue 11 part 1: ``emulate --secure`` with the harness CA and the real client's x509 signatures.

The real ``mco`` signs every request (RSA PKCS#1 v1.5 SHA-256 over the secure ``message``,
base64 wrapped at 60 columns, its PEM in ``pubcert``). A ``--secure`` network answers it; the
same client with a certificate of another CA, with a valid certificate of someone else under
its callerid, or sending ``insecure`` requests gets no reply from any node, and every refusal
is counted ``unvalidated``. An insecure network answers signed requests too (it ignores them).
"""

from __future__ import annotations

import time

import pytest
from realchoria import concurrently, foreign_state, impostor_state, mco

SIZE = 6


@pytest.fixture(scope="module")
def secure_network(brokers, emulators):
    own = brokers.start()
    network = emulators.start(own, SIZE, name="sec", secure=True)
    yield network
    network.stop()
    own.stop()


@pytest.fixture(scope="module")
def refused(secure_network, tmp_path_factory):
    """Each refused client: broadcast discovery (``mco ping``) and a directed RPC, side by side."""
    url = secure_network.broker.url
    base = tmp_path_factory.mktemp("pki")
    clients = {
        "foreign CA": {"state": foreign_state(base / "foreign")},
        "callerid of another cert": {"state": impostor_state(base / "impostor")},
        "insecure": {"insecure": True},
    }
    before = secure_network.counters()
    calls = {}
    for who, kwargs in clients.items():
        calls[(who, "ping")] = lambda kwargs=kwargs: mco(url, "ping", **kwargs)
        calls[(who, "rpc")] = lambda kwargs=kwargs: mco(
            url, "rpc", "rpcutil", "ping", "-I", "sec-1", "--timeout", "4", "--json", **kwargs
        )
    calls[("rip", "ping")] = lambda: mco(url, "ping")
    results = concurrently(calls, workers=4)
    return before, results


def test_signed_requests_are_verified_and_answered(refused):
    _, results = refused
    result = results[("rip", "ping")]
    assert result.rc == 0, result
    assert f"{SIZE} replies" in result.stdout, result


@pytest.mark.parametrize("who", ["foreign CA", "callerid of another cert", "insecure"])
def test_refused_clients_get_no_reply(refused, who):
    _, results = refused
    ping, rpc = results[(who, "ping")], results[(who, "rpc")]
    assert "No responses received" in ping.stdout + ping.stderr, ping
    assert "time=" not in ping.stdout, ping
    assert rpc.rc == 4 and rpc.json == [], rpc  # mco: nodes did not answer


def test_refusals_are_counted_unvalidated(secure_network, refused):
    before, _ = refused
    # 3 refused clients x (discovery to 6 instances + 1 directed request)
    expected = before["unvalidated"] + 3 * (SIZE + 1)
    deadline = time.monotonic() + 15
    while True:
        counters = secure_network.counters()
        if counters["unvalidated"] >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert counters["unvalidated"] == expected, counters
    assert counters["malformed"] == 0, counters


def test_an_insecure_network_answers_signed_requests(network, mco):
    """What the coordinator tried first: the default (signed) mco against a plain emulator."""
    result = mco(network.broker.url, "ping")
    assert result.rc == 0, result
    assert f"{network.instances} replies" in result.stdout, result
