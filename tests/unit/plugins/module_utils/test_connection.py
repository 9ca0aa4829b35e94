# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import socket

import pytest
from ansible_collections.chorialab.choria.plugins.module_utils.connection import (
    CONNECTION_ARGUMENT_SPEC,
    AddressError,
    ServerAddress,
    connection_argument_spec,
    missing_files,
    parse_server,
    parse_servers,
    unreachable,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("broker", ServerAddress("nats", "broker", 4222)),
        ("broker:4300", ServerAddress("nats", "broker", 4300)),
        ("nats://user:secret@broker:4300", ServerAddress("nats", "broker", 4300)),
        ("tls://broker.example.net:4443/", ServerAddress("tls", "broker.example.net", 4443)),
        ("[::1]:4222", ServerAddress("nats", "::1", 4222)),
        ("  10.0.0.1:4222 ", ServerAddress("nats", "10.0.0.1", 4222)),
    ],
)
def test_parse_server_accepts_the_forms_nats_clients_take(text, expected):
    assert parse_server(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty NATS server address"),
        ("broker:0", "bad port '0'"),
        ("broker:99999", "bad port '99999'"),
        ("broker:http", "bad port 'http'"),
        ("http://broker:80", "unsupported scheme"),
        ("bro ker:4222", "bad host"),
    ],
)
def test_parse_server_names_what_is_wrong(text, message):
    with pytest.raises(AddressError, match=message):
        parse_server(text)


def test_parse_servers_splits_comma_lists_like_the_seed_servers_input():
    servers = parse_servers(["a:1,b:2", "c", ""])
    assert [str(s) for s in servers] == ["a:1", "b:2", "c:4222"]


def test_parse_servers_needs_at_least_one():
    with pytest.raises(AddressError, match="no NATS server"):
        parse_servers([" , "])


def test_server_address_str_and_url_keep_ipv6_brackets_and_scheme():
    address = ServerAddress("tls", "::1", 4443)
    assert str(address) == "[::1]:4443"
    assert address.url == "tls://[::1]:4443"


def test_unreachable_is_empty_for_a_listening_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert unreachable([ServerAddress("nats", "127.0.0.1", port)]) == []


def test_unreachable_names_a_refused_connection():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        problems = unreachable([ServerAddress("nats", "127.0.0.1", port)], timeout=2)
    assert problems == ["cannot connect to NATS server 127.0.0.1:%d: Connection refused" % port]


def test_unreachable_names_a_host_that_does_not_resolve():
    problems = unreachable([ServerAddress("nats", "no-such-host.invalid", 4222)])
    assert len(problems) == 1 and problems[0].startswith("cannot resolve host 'no-such-host.invalid'")


def test_missing_files_names_the_option(tmp_path):
    present = tmp_path / "ca.pem"
    present.write_text("x")
    problems = missing_files({"tls_ca": str(present), "credentials": str(tmp_path / "user.creds"), "tls_cert": None})
    assert problems == ["credentials: file not found: %s" % (tmp_path / "user.creds")]


def test_connection_argument_spec_is_a_copy():
    spec = connection_argument_spec()
    spec["servers"]["default"] = ["elsewhere:1"]
    assert CONNECTION_ARGUMENT_SPEC["servers"]["default"] == ["127.0.0.1:4222"]
    assert spec["tls_verify"]["aliases"] == ["verify"]
