"""Client connection settings: ``--server`` > config file (``--config``, ``~/.choriarc``,
``/etc/choria/client.conf``) > localhost."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from choria_emulator.client import ClientConfig, ClientConfigError
from choria_emulator.client import config as client_config

FULL = """\
# a Choria client config
plugin.choria.middleware_hosts = broker1.example.net:4222, nats://broker2.example.net:4223
collectives = mcollective, dev_collective
main_collective = dev_collective
identity = ops.example.net
discovery_timeout = 4.5
plugin.security.provider = file
plugin.security.certname = rip.mcollective
plugin.security.file.certificate = /ssl/rip.pem
plugin.security.file.key = /ssl/rip.key
plugin.security.file.ca = /ssl/ca.pem
plugin.nats.user = choria
plugin.nats.pass = secret
plugin.nats.credentials = /ssl/user.creds
plugin.choria.puppetdb_host = puppetdb.example.net
plugin.choria.puppetdb_port = 8085
some.unknown.key = ignored, as Choria does
"""


@pytest.fixture
def defaults(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """Point the default config locations at a temporary home and etc, and clear CHORIA_CONFIG."""
    home_rc, etc_conf = tmp_path / "home" / ".choriarc", tmp_path / "etc" / "client.conf"
    home_rc.parent.mkdir()
    etc_conf.parent.mkdir()
    monkeypatch.setattr(client_config, "DEFAULT_CONFIG_FILES", (str(home_rc), str(etc_conf)))
    monkeypatch.delenv("CHORIA_CONFIG", raising=False)
    return home_rc, etc_conf


def test_nothing_configured_means_localhost(defaults):
    config = ClientConfig.load()
    assert config.servers == ["nats://127.0.0.1:4222"]
    assert config.collectives == ["mcollective"] and config.main_collective == "mcollective"
    assert config.source == "defaults"
    assert config.tls is False and config.secure is False


def test_every_key_of_a_config_file(tmp_path, defaults):
    path = tmp_path / "client.conf"
    path.write_text(FULL)
    config = ClientConfig.load(config_file=str(path))
    assert config.servers == ["nats://broker1.example.net:4222", "nats://broker2.example.net:4223"]
    assert config.collectives == ["mcollective", "dev_collective"]
    assert config.main_collective == "dev_collective" and config.collective() == "dev_collective"
    assert config.identity == "ops.example.net"
    assert config.discovery_timeout == 4.5
    assert config.certname == "rip.mcollective" and config.callerid == "choria=rip.mcollective"
    assert (config.tls_cert, config.tls_key, config.tls_ca) == ("/ssl/rip.pem", "/ssl/rip.key", "/ssl/ca.pem")
    assert config.tls is True and config.secure is True and config.tls_verify is True
    assert (config.user, config.password, config.credentials) == ("choria", "secret", "/ssl/user.creds")
    assert (config.puppetdb_host, config.puppetdb_port) == ("puppetdb.example.net", 8085)
    assert config.source == str(path)


def test_main_collective_defaults_to_the_first_collective(tmp_path, defaults):
    path = tmp_path / "c.conf"
    path.write_text("collectives = one,two\n")
    assert ClientConfig.load(config_file=str(path)).main_collective == "one"


def test_puppet_security_provider_uses_the_ssl_dir(tmp_path, defaults):
    path = tmp_path / "c.conf"
    path.write_text(
        "plugin.security.provider = puppet\n"
        "plugin.choria.ssldir = /var/ssl\n"
        "plugin.security.certname = me.mcollective\n"
    )
    config = ClientConfig.load(config_file=str(path))
    assert config.tls_cert == "/var/ssl/certs/me.mcollective.pem"
    assert config.tls_key == "/var/ssl/private_keys/me.mcollective.pem"
    assert config.tls_ca == "/var/ssl/certs/ca.pem"
    assert config.tls is True


def test_server_flags_win_over_the_file(tmp_path, defaults):
    path = tmp_path / "client.conf"
    path.write_text(FULL)
    config = ClientConfig.load(servers=["127.0.0.1:5000", "nats://10.0.0.1:4222,tls://10.0.0.2"], config_file=str(path))
    assert config.servers == ["nats://127.0.0.1:5000", "nats://10.0.0.1:4222", "tls://10.0.0.2:4222"]
    assert config.identity == "ops.example.net"  # the rest of the file still applies
    assert config.source == f"--server and {path}"


def test_a_tls_url_means_tls_unless_a_flag_says_otherwise(defaults):
    assert ClientConfig.load(servers=["tls://10.0.0.2:4222"], search_default_files=False).tls is True
    assert ClientConfig.load(servers=["nats://10.0.0.2:4222"], search_default_files=False).tls is False
    assert ClientConfig.load(servers=["tls://10.0.0.2"], search_default_files=False, tls=False).tls is False


def test_flags_override_single_keys(tmp_path, defaults):
    path = tmp_path / "client.conf"
    path.write_text(FULL)
    config = ClientConfig.load(config_file=str(path), identity="cli-id", certname="cli.mcollective", tls_verify=False)
    assert (config.identity, config.certname, config.tls_verify) == ("cli-id", "cli.mcollective", False)
    unchanged = ClientConfig.load(config_file=str(path), identity=None)  # None means "not given"
    assert unchanged.identity == "ops.example.net"


def test_default_files_in_order(defaults, monkeypatch, tmp_path):
    home_rc, etc_conf = defaults
    etc_conf.write_text("plugin.choria.middleware_hosts = etc.example.net:4222\n")
    assert ClientConfig.load().servers == ["nats://etc.example.net:4222"]
    home_rc.write_text("plugin.choria.middleware_hosts = home.example.net:4222\n")
    assert ClientConfig.load().servers == ["nats://home.example.net:4222"]  # ~/.choriarc first
    env = tmp_path / "env.conf"
    env.write_text("plugin.choria.middleware_hosts = env.example.net:4222\n")
    monkeypatch.setenv("CHORIA_CONFIG", str(env))
    assert ClientConfig.load().servers == ["nats://env.example.net:4222"]
    explicit = tmp_path / "explicit.conf"
    explicit.write_text("plugin.choria.middleware_hosts = explicit.example.net:4222\n")
    assert ClientConfig.load(config_file=str(explicit)).servers == ["nats://explicit.example.net:4222"]
    assert ClientConfig.load(search_default_files=False).servers == ["nats://127.0.0.1:4222"]


def test_home_is_expanded(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CHORIA_CONFIG", raising=False)
    (tmp_path / ".choriarc").write_text("identity = from-home\n")
    assert ClientConfig.load().identity == "from-home"  # the real default list, with ~ expanded


@pytest.mark.parametrize(
    ("servers", "url"),
    [
        (["h"], "nats://h:4222"),
        (["h:1"], "nats://h:1"),
        (["nats://u:p@h:2"], "nats://u:p@h:2"),
        (["nats://tok@h:2"], "nats://tok@h:2"),
        (["tls://h"], "tls://h:4222"),
        ([" h:3 , "], "nats://h:3"),
    ],
)
def test_server_forms(servers, url, defaults):
    assert ClientConfig.load(servers=servers).servers == [url]


@pytest.mark.parametrize(
    ("servers", "message"),
    [
        (["h:port"], "invalid port"),
        (["h:99999"], "invalid port"),
        (["http://h:80"], "unsupported NATS server scheme"),
        (["nats://:4222"], "no host"),
    ],
)
def test_bad_servers_name_the_problem(servers, message, defaults):
    with pytest.raises(ClientConfigError, match=message):
        ClientConfig.load(servers=servers)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("just some words\n", r"c.conf:1: expected 'key = value'"),
        ("plugin.choria.middleware_hosts = host:notaport\n", "plugin.choria.middleware_hosts: .*invalid port"),
        ("plugin.choria.middleware_hosts = ,\n", "plugin.choria.middleware_hosts is empty"),
        ("discovery_timeout = soon\n", "discovery_timeout must be a number"),
        ("plugin.choria.puppetdb_port = https\n", "plugin.choria.puppetdb_port must be a port number"),
    ],
)
def test_bad_config_files_name_the_key(tmp_path, content, message, defaults):
    path = tmp_path / "c.conf"
    path.write_text(content)
    with pytest.raises(ClientConfigError, match=message):
        ClientConfig.load(config_file=str(path))


def test_missing_or_unreadable_config(tmp_path, defaults):
    with pytest.raises(
        ClientConfigError, match=f"cannot read Choria config {tmp_path / 'nope'}: No such file or directory"
    ):
        ClientConfig.load(config_file=str(tmp_path / "nope"))
    if os.geteuid() != 0:  # root reads everything
        locked = tmp_path / "locked.conf"
        locked.write_text("identity = x\n")
        locked.chmod(0)
        with pytest.raises(ClientConfigError, match="Permission denied"):
            ClientConfig.load(config_file=str(locked))


def test_signed_requests_need_a_key(defaults):
    with pytest.raises(ClientConfigError, match="signed requests need a certificate and key"):
        ClientConfig.load(secure=True).signer()


def test_unknown_override_is_an_error(defaults):
    with pytest.raises(ClientConfigError, match="unknown client setting colour"):
        ClientConfig.load(colour="blue")
