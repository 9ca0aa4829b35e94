"""The fixtures themselves: each starts what it says, and the real mco reaches it."""

from __future__ import annotations


def test_real_mco_pings_the_shared_network(network, mco):
    result = mco(network.broker.url, "ping", "--dt", "1", insecure=True)
    assert result.rc == 0, result
    assert "12 replies" in result.stdout, result


def test_real_daemon_on_the_tls_broker(tls_broker, daemons, mco):
    daemons.start(tls_broker, "real-0", tls=True)
    result = mco(tls_broker.url, "rpc", "rpcutil", "ping", "-I", "real-0", "--json", tls=True)
    assert result.rc == 0, result
    assert [r["sender"] for r in result.json] == ["real-0"]
