# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

from ansible_collections.chorialab.choria.plugins.module_utils.connection import parse_server, parse_servers
from ansible_collections.chorialab.choria.plugins.module_utils.federation import (
    _federation_args,
    command_args,
    default_files,
    status,
)


def params(**overrides):
    base = dict(
        name="NET",
        state_dir="/run/fed",
        pid_file=None,
        log_file=None,
        monitor_port=0,
        monitor_bind="127.0.0.1",
        identity=None,
        tls=False,
        tls_verify=False,
        tls_ca=None,
        tls_cert=None,
        tls_key=None,
        credentials=None,
    )
    base.update(overrides)
    return base


def test_one_collective_flag_per_network_with_its_pool():
    p = params()
    collectives = [[parse_server("east1:4222"), parse_server("east2:4222")], [parse_server("tls://west:4443")]]
    args = command_args(p, parse_servers(["fed1:4222,fed2"]), collectives, default_files(p))
    assert args[:3] == ["federation", "--name", "NET"]
    assert args[3:7] == ["--federation-server", "fed1:4222", "--federation-server", "fed2:4222"]
    assert args[7:11] == ["--collective-server", "east1:4222,east2:4222", "--collective-server", "tls://west:4443"]
    assert args[11:] == [
        "--http-port",
        "0",
        "--http-bind",
        "127.0.0.1",
        "--pid-file",
        "/run/fed/federation-NET.pid",
        "--port-file",
        "/run/fed/federation-NET.port",
    ]


def test_tls_without_verify_is_the_original_default():
    p = params(tls=True, tls_ca="/ca.pem")
    args = command_args(p, parse_servers(["fed:4222"]), [[parse_server("c:4222")]], default_files(p))
    assert args[-4:] == ["--tls", "--no-verify", "--tls-ca", "/ca.pem"]
    args = command_args(
        params(tls=True, tls_verify=True), parse_servers(["fed:4222"]), [[parse_server("c:4222")]], default_files(p)
    )
    assert "--no-verify" not in args and "--tls" in args


def test_a_broker_is_recognised_by_its_command_line():
    argv = ["/opt/v/bin/python", "/opt/v/bin/choria-emulator", "federation", "--name", "NET"]
    assert _federation_args(argv) == argv[1:]
    assert _federation_args(["python", "-m", "choria_emulator", "federation", "--name", "NET"]) == [
        "choria_emulator",
        "federation",
        "--name",
        "NET",
    ]
    assert _federation_args(["/opt/v/bin/choria-emulator", "emulate", "--instances", "5"]) is None


def test_status_reports_both_sides_and_the_counters():
    data = {
        "pid": 7,
        "connected": True,
        "federation": {"connected_url": "nats://f:4222"},
        "collectives": [{"connected_url": "nats://a:4222"}, {"connected_url": "nats://b:4222"}],
        "requests": {"received": 2, "published": 4, "errors": 0},
        "replies": {"received": 9, "published": 9, "errors": 1},
        "uptime": 3.5,
    }
    result = status(data, 7, "http://127.0.0.1:9000")
    assert result["federation_url"] == "nats://f:4222" and result["collective_urls"] == [
        "nats://a:4222",
        "nats://b:4222",
    ]
    assert (
        result["requests"]["published"] == 4
        and result["replies"]["errors"] == 1
        and result["running"]
        and result["connected"]
    )
