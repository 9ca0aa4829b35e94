"""``emulate -c FILE``: a Choria server config supplies defaults, flags override them (issue 14)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from choria_pki import CertAuthority, tls_server_config
from choria_wire import run_cli

from choria_emulator.cli import emulate
from choria_emulator.client import ChoriaClient, ClientConfig, ping
from choria_emulator.testing.localnet import Emulator, NatsServer


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    emulate.register(parser.add_subparsers())
    return parser.parse_args(["emulate", *argv])


def server_conf(directory: Path, text: str) -> Path:
    path = directory / "server.conf"
    path.write_text(text)
    return path


FULL = """\
# a go-choria server.conf
identity = web1.example.net
collectives = mcollective, production
main_collective = production
plugin.choria.middleware_hosts = nats1.example.net:4222, nats2.example.net:4223
plugin.nats.user = choria
plugin.nats.pass = s3cret
plugin.security.provider = file
plugin.security.file.certificate = /etc/choria/web1.pem
plugin.security.file.key = /etc/choria/web1.key
plugin.security.file.ca = /etc/choria/ca.pem
plugin.nats.credentials = /etc/choria/web1.creds
plugin.choria.security.certname_whitelist = \\.mcollective$, ^admin\\.
plugin.yaml = /etc/choria/facts.yaml
registration = inventory_content
registerinterval = 120
loglevel = warn
"""


def test_a_server_config_gives_every_setting_it_has(tmp_path):
    from choria_emulator.daemon import server_config

    settings = server_config.load(str(server_conf(tmp_path, FULL)))
    assert settings.servers == ["choria:s3cret@nats1.example.net:4222", "choria:s3cret@nats2.example.net:4223"]
    assert settings.identity == "web1.example.net"
    assert settings.collectives == ["production", "mcollective"]
    assert (settings.tls, settings.tls_cert, settings.tls_key, settings.tls_ca) == (
        True,
        "/etc/choria/web1.pem",
        "/etc/choria/web1.key",
        "/etc/choria/ca.pem",
    )
    assert settings.credentials == "/etc/choria/web1.creds"
    assert settings.allowed_callers == [r"\.mcollective$", r"^admin\."]
    assert settings.facts == "/etc/choria/facts.yaml"
    assert settings.registration_interval == 120.0


def test_the_puppet_provider_finds_the_certificate_in_the_ssl_dir(tmp_path):
    from choria_emulator.daemon import server_config

    conf = server_conf(
        tmp_path,
        f"plugin.security.provider = puppet\nplugin.choria.ssldir = {tmp_path}/ssl\nidentity = node7.example.net\n",
    )
    settings = server_config.load(str(conf))
    assert settings.tls and settings.tls_cert == f"{tmp_path}/ssl/certs/node7.example.net.pem"
    assert settings.tls_key == f"{tmp_path}/ssl/private_keys/node7.example.net.pem"
    assert settings.tls_ca == f"{tmp_path}/ssl/certs/ca.pem"


def test_the_file_fills_what_no_flag_gives(tmp_path):
    conf = server_conf(
        tmp_path,
        "identity = web1\ncollectives = mcollective,production\nmain_collective = production\n"
        "plugin.choria.middleware_hosts = 127.0.0.1:4299\nregistration = file_content\nregisterinterval = 30\n",
    )
    config = emulate.config_from_args(parse("-i", "2", "-c", str(conf)))
    assert [(s.host, s.port) for s in config.servers] == [("127.0.0.1", 4299)]
    assert config.name == "web1" and config.identity(0) == "web1-0"
    assert config.collective_list == ["production", "mcollective"] and config.collectives == 2
    assert config.subscriptions_per_instance == 2 * (1 + len(config.agent_list))
    assert config.registration_interval == 30.0 and config.tls is None


def test_flags_override_the_file(tmp_path):
    ca = CertAuthority.create(tmp_path / "ca")
    theirs, mine = ca.issue(tmp_path, "web1.example.net"), ca.issue(tmp_path, "mine.example.net")
    facts = tmp_path / "facts.yaml"
    facts.write_text("country: mt\n")
    conf = server_conf(
        tmp_path,
        "identity = web1\ncollectives = mcollective,production\nmain_collective = production\n"
        "plugin.choria.middleware_hosts = nats1.example.net:4222\nregistration = file_content\n"
        "plugin.security.provider = file\n"
        f"plugin.security.file.certificate = {theirs.cert}\nplugin.security.file.key = {theirs.key}\n"
        f"plugin.security.file.ca = {ca.cert}\nplugin.yaml = {facts}\n"
        "plugin.choria.security.certname_whitelist = \\.mcollective$, ^admin\\.\n",
    )
    defaults = emulate.config_from_args(parse("-i", "2", "-c", str(conf)))
    assert defaults.registration_interval == 300.0  # registerinterval's default in go-choria
    assert (defaults.tls.cert, defaults.tls.key, defaults.tls.ca) == (str(theirs.cert), str(theirs.key), str(ca.cert))
    assert defaults.facts == str(facts)
    config = emulate.config_from_args(
        parse(
            "-i",
            "2",
            "-c",
            str(conf),
            "--server",
            "127.0.0.1:4300",
            "--name",
            "emu",
            "--collectives",
            "3",
            "--registration-interval",
            "0",
            "--tls-cert",
            str(mine.cert),
            "--tls-key",
            str(mine.key),
        )
    )
    assert [(s.host, s.port) for s in config.servers] == [("127.0.0.1", 4300)]
    assert config.name == "emu"
    assert config.collective_list == ["mcollective", "collective1", "collective2"]
    assert config.registration_interval == 0.0
    assert (config.tls.cert, config.tls.key, config.tls.ca) == (str(mine.cert), str(mine.key), str(ca.cert))
    assert config.tls.verify
    assert config.allowed_callers == (r"\.mcollective$", r"^admin\.")


def test_dev_null_changes_nothing():
    """What the original management agent passed."""
    with_file = emulate.config_from_args(parse("-i", "2", "--name", "n", "-c", "/dev/null"))
    without = emulate.config_from_args(parse("-i", "2", "--name", "n"))
    assert (with_file.servers, with_file.collective_list, with_file.tls) == (
        without.servers,
        without.collective_list,
        without.tls,
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("identity web1\n", "server.conf:1: expected 'key = value', got 'identity web1'"),
        ("plugin.choria.middleware_hosts = nats://:0\n", "plugin.choria.middleware_hosts: "),
        ("registration = file_content\nregisterinterval = soon\n", "registerinterval must be a number"),
        ("collectives = a b\n", "collective 'a b' cannot be part of a NATS subject"),
    ],
)
def test_a_bad_file_is_one_line_naming_the_file_and_key(tmp_path, text, message):
    conf = server_conf(tmp_path, text)
    result = run_cli("emulate", "-i", "1", "--http-port", "0", "-c", str(conf), timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr, result.stderr


def test_a_missing_file_is_named(tmp_path):
    result = run_cli("emulate", "-i", "1", "-c", str(tmp_path / "nope.conf"), timeout=60)
    assert result.returncode == 2
    assert f"-c: cannot read Choria config {tmp_path / 'nope.conf'}" in result.stderr


async def test_instances_join_the_files_broker_and_collectives(tmp_path, nats_server: NatsServer):
    host_port = nats_server.url.removeprefix("nats://")
    conf = server_conf(
        tmp_path,
        f"plugin.choria.middleware_hosts = {host_port}\ncollectives = mcollective,production\n"
        "main_collective = production\n",
    )
    emulator = Emulator.start([], 3, "-c", str(conf), name="cfgnode", workdir=tmp_path / "emu")
    try:
        for collective in ("production", "mcollective"):
            config = ClientConfig.load(
                servers=[nats_server.url], search_default_files=False, main_collective=collective
            )
            async with ChoriaClient(config) as client:
                result = await ping(client, timeout=10, expect=3)
            assert sorted(result.times) == ["cfgnode-0", "cfgnode-1", "cfgnode-2"], collective
    finally:
        emulator.stop()


async def test_tls_files_of_the_file_get_through_a_broker_that_verifies_clients(tmp_path):
    ca = CertAuthority.create(tmp_path / "ca")
    node = ca.issue(tmp_path, "web1.example.net")
    broker = NatsServer.start("-c", str(tls_server_config(tmp_path / "broker", ca, verify_clients=True)))
    try:
        host_port = broker.url.split("://", 1)[1]
        conf = server_conf(
            tmp_path,
            f"plugin.choria.middleware_hosts = 127.0.0.1:{host_port.rsplit(':', 1)[1]}\n"
            "plugin.security.provider = file\n"
            f"plugin.security.file.certificate = {node.cert}\nplugin.security.file.key = {node.key}\n"
            f"plugin.security.file.ca = {ca.cert}\n",
        )
        emulator = Emulator.start([], 2, "-c", str(conf), name="tlsnode", workdir=tmp_path / "emu")
        try:
            client = ca.issue(tmp_path, "client.mcollective")
            config = ClientConfig.load(
                servers=[f"tls://127.0.0.1:{host_port.rsplit(':', 1)[1]}"],
                search_default_files=False,
                tls_ca=str(ca.cert),
                tls_cert=str(client.cert),
                tls_key=str(client.key),
            )
            async with ChoriaClient(config) as choria:
                result = await ping(choria, timeout=10, expect=2)
            assert sorted(result.times) == ["tlsnode-0", "tlsnode-1"]
        finally:
            emulator.stop()
    finally:
        broker.stop()
