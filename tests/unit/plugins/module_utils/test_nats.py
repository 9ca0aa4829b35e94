# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import subprocess

import pytest
from ansible_collections.chorialab.choria.plugins.module_utils.nats import (
    HEADER,
    NatsConfigError,
    build_config,
    connect_host,
    default_files,
    endpoints,
    instance_key,
    log_error,
    normalize_route,
    render_config,
)


def params(**overrides):
    base = dict(
        port=4222,
        monitor_port=8222,
        bind="0.0.0.0",
        name=None,
        cluster=None,
        tls=None,
        max_connections=None,
        max_payload=None,
        extra_config=None,
        leafnodes=None,
        config_dir="/tmp/choria-emulator",
        config_file=None,
        pid_file=None,
        log_file=None,
    )
    base.update(overrides)
    return base


def test_single_broker_config_is_stable_nats_conf():
    text = render_config(build_config(params(port=4300, monitor_port=8300)))
    assert text == HEADER + (
        'host: "0.0.0.0"\nport: 4300\nhttp: "0.0.0.0:8300"\nports_file_dir: "/tmp/choria-emulator"\n'
    )


def test_cluster_limits_and_tls_blocks():
    config = build_config(
        params(
            name="n1",
            max_connections=100000,
            max_payload=2097152,
            cluster=dict(name="choria", port=6222, bind=None, routes=["n2:6222", "nats://n3:6222"]),
            tls=dict(cert="/c.pem", key="/k.pem", ca=None, verify=True, timeout=10.0),
        )
    )
    text = render_config(config)
    assert 'server_name: "n1"\n' in text
    assert "max_connections: 100000\nmax_payload: 2097152\n" in text
    assert (
        'cluster: {\n  name: "choria"\n  host: "0.0.0.0"\n  port: 6222\n  routes: [\n'
        '    "nats-route://n2:6222"\n    "nats-route://n3:6222"\n  ]\n}\n'
    ) in text
    assert 'tls: {\n  cert_file: "/c.pem"\n  key_file: "/k.pem"\n  verify: true\n  timeout: 10.0\n}\n' in text


def test_extra_config_merges_into_blocks_and_adds_keys():
    config = build_config(
        params(
            cluster=dict(name="c", port=6222, bind="127.0.0.1", routes=[]),
            extra_config={"cluster": {"pool_size": 3}, "leafnodes": {"port": 7422}, "port": 4999},
        )
    )
    assert config["cluster"] == {"name": "c", "host": "127.0.0.1", "port": 6222, "routes": [], "pool_size": 3}
    assert config["leafnodes"] == {"port": 7422}
    assert config["port"] == 4999


@pytest.mark.parametrize("route", ["n2", "n2:", "n2:99999", "http://n2:6222", "n 2:6222"])
def test_bad_routes_name_the_option(route):
    with pytest.raises(NatsConfigError, match="cluster.routes"):
        normalize_route(route)


def test_routes_keep_tls_and_ipv6():
    assert normalize_route("tls://[::1]:6222") == "tls://[::1]:6222"
    assert normalize_route("nats-route://10.0.0.2:6222") == "nats-route://10.0.0.2:6222"


def test_files_are_named_after_the_name_else_the_port():
    assert default_files(params(name="n1")).config_file == "/tmp/choria-emulator/nats-server-n1.conf"
    assert default_files(params(port=4300)).pid_file == "/tmp/choria-emulator/nats-server-4300.pid"
    assert default_files(params(port=-1)).log_file == "/tmp/choria-emulator/nats-server-random.log"
    assert default_files(params(config_file="/etc/nats.conf")).config_file == "/etc/nats.conf"
    assert instance_key("a/b c", 1) == "a_b_c"


def test_endpoints_prefer_the_ports_file(tmp_path):
    (tmp_path / "nats-server_4242.ports").write_text(
        '{"nats":["nats://127.0.0.1:41000"],"monitoring":["http://127.0.0.1:42000"],"cluster":["nats://127.0.0.1:43000"]}'
    )
    urls = endpoints(params(port=-1, monitor_port=-1, config_dir=str(tmp_path), cluster=dict(port=-1, bind=None)), 4242)
    assert urls == {
        "port": 41000,
        "monitor_port": 42000,
        "url": "nats://127.0.0.1:41000",
        "monitor_url": "http://127.0.0.1:42000",
        "cluster_url": "nats-route://127.0.0.1:43000",
    }
    fallback = endpoints(params(bind="::", config_dir=str(tmp_path)), 1)
    assert fallback["url"] == "nats://[::1]:4222" and fallback["monitor_url"] == "http://[::1]:8222"


def test_connect_host_turns_wildcards_into_loopback():
    assert [connect_host(h) for h in ("0.0.0.0", "", "::", "10.1.2.3")] == ["127.0.0.1", "127.0.0.1", "::1", "10.1.2.3"]


def test_log_error_finds_the_fatal_line():
    tail = (
        "[1] 2026/01/01 00:00:00.000000 [INF] Starting nats-server\n"
        '[1] 2026/01/01 00:00:00.000001 [FTL] Error listening on port: 0.0.0.0:4222, "address already in use"\n'
    )
    assert log_error(tail) == 'Error listening on port: 0.0.0.0:4222, "address already in use"'
    assert log_error("[1] [INF] fine\n") is None


def test_leafnodes_listen_and_connect_to_hubs_with_credentials():
    config = build_config(
        params(
            leafnodes=dict(
                port=7422,
                bind=None,
                remotes=["hub:7422", "tls://connect.ngs.global:7422"],
                credentials="/etc/ngs.creds",
            )
        )
    )
    assert config["leafnodes"] == {
        "host": "0.0.0.0",
        "port": 7422,
        "remotes": [
            {"urls": ["nats-leaf://hub:7422", "tls://connect.ngs.global:7422"], "credentials": "/etc/ngs.creds"}
        ],
    }
    assert 'remotes: [\n    {\n      urls: [\n        "nats-leaf://hub:7422"' in render_config(config)
    with pytest.raises(NatsConfigError, match="leafnodes.remotes"):
        build_config(params(leafnodes=dict(remotes=["hub"])))


def test_real_nats_server_accepts_what_we_render(tmp_path, nats_server_binary):
    config = build_config(
        params(
            name="n1",
            bind="127.0.0.1",
            port=-1,
            monitor_port=-1,
            config_dir=str(tmp_path),
            max_connections=1000,
            max_payload=4194304,
            cluster=dict(name="c", port=-1, bind=None, routes=["127.0.0.1:6222", "nats-route://127.0.0.2:6222"]),
            leafnodes=dict(port=-1, bind=None, remotes=["127.0.0.1:7422"], credentials=str(tmp_path / "ngs.creds")),
        )
    )
    path = tmp_path / "n1.conf"
    path.write_text(render_config(config))
    check = subprocess.run([nats_server_binary, "-t", "-c", str(path)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    path.write_text(render_config(dict(config, max_connections="many")))
    rejected = subprocess.run([nats_server_binary, "-t", "-c", str(path)], capture_output=True, text=True, check=False)
    assert rejected.returncode != 0
