"""TLS to NATS and NATS authentication, for the emulated instances and the client, against real nats-servers.

Certificates come from a test CA made with ``cryptography``; the ``.creds`` file from an
operator/account/user JWT chain made with ``nkeys`` (see choria_pki.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from choria_pki import CertAuthority, operator_setup, tls_server_config
from choria_wire import run_cli

from choria_emulator.client import ChoriaClient, ClientConfig, ClientError, ping


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("pki")
    ca = CertAuthority.create(directory / "ca")
    other = CertAuthority.create(directory / "other", name="Other CA")
    client = ca.issue(directory, "client.mcollective")
    return {
        "dir": directory,
        "ca": ca.cert,
        "other_ca": other.cert,
        "client_cert": client.cert,
        "client_key": client.key,
        "conf": tls_server_config(directory, ca),
        "mtls_conf": _mtls(directory, ca),
    }


def _mtls(directory: Path, ca: CertAuthority) -> Path:
    sub = directory / "mtls"
    sub.mkdir()
    return tls_server_config(sub, ca, verify_clients=True)


@pytest.fixture(scope="module")
def tls_nats(tmp_path_factory, pki):
    from choria_emulator.testing.localnet import NatsServer

    server = NatsServer.start("-c", str(pki["conf"]), workdir=tmp_path_factory.mktemp("tls-nats"))
    yield server
    server.stop()


def one_error(result) -> str:
    """The single ERROR line of an emulator that gave up, checking there is no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, result.stderr
    return errors[0]


async def names(url: str, count: int, **settings) -> set[str]:
    config = ClientConfig.load(servers=[url], search_default_files=False, **settings)
    async with ChoriaClient(config) as client:
        return set((await ping(client, timeout=10, expect=count)).times)


async def test_tls_without_verification(tls_nats, pki, emulator_factory):
    emulator = await asyncio.to_thread(emulator_factory, tls_nats.url, 6, "--tls", "--workers", "2", name="tls")
    vars_ = emulator.debug_vars()
    assert (vars_["config"]["TLS"], vars_["config"]["tlsVerify"]) == (1, 0)
    assert tls_nats.varz()["connections"] >= 6
    assert await names(tls_nats.url, 6, tls=True, tls_ca=str(pki["ca"])) == {f"tls-{i}" for i in range(6)}


async def test_tls_scheme_implies_tls(tls_nats, emulator_factory):
    host = tls_nats.url.split("://", 1)[1]
    emulator = await asyncio.to_thread(emulator_factory, f"tls://{host}", 2, name="scheme")
    assert emulator.debug_vars()["config"]["TLS"] == 1


async def test_tls_with_verification(tls_nats, pki, emulator_factory):
    emulator = await asyncio.to_thread(
        emulator_factory, tls_nats.url, 4, "--tls", "--verify", "--tls-ca", str(pki["ca"]), name="vtls"
    )
    assert emulator.debug_vars()["config"]["tlsVerify"] == 1
    # the client without verification, and the CLI with the CA
    assert await names(tls_nats.url, 4, tls=True, tls_verify=False) >= {f"vtls-{i}" for i in range(4)}
    result = run_cli(
        "ping",
        "--server",
        tls_nats.url,
        "--tls",
        "--tls-ca",
        str(pki["ca"]),
        "-I",
        "/^vtls-/",
        "--expect",
        "4",
        "--timeout",
        "20",
    )
    assert result.returncode == 0, result.stderr
    assert "4 replies" in result.stdout


def test_wrong_ca_with_verify_fails_clearly(tls_nats, pki):
    result = run_cli(
        "emulate",
        "-i",
        "3",
        "--server",
        tls_nats.url,
        "--http-port",
        "0",
        "--tls",
        "--verify",
        "--tls-ca",
        str(pki["other_ca"]),
        timeout=120,
    )
    assert result.returncode == 1
    line = one_error(result)
    assert f"cannot connect to 127.0.0.1:{tls_nats.port}: TLS certificate verification failed" in line
    # the client says the same in one line
    result = run_cli("ping", "--server", tls_nats.url, "--tls", "--tls-ca", str(pki["other_ca"]))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"choria-emulator ping: cannot connect to {tls_nats.url}: TLS certificate verification failed: "
        f"{result.stderr.split('TLS certificate verification failed: ', 1)[1].strip()}"
    ]
    assert "certificate" in result.stderr


def test_plain_emulator_against_tls_server(tls_nats):
    plain = tls_nats.url.replace("tls://", "nats://")  # the tls:// scheme alone would turn TLS on
    result = run_cli("emulate", "-i", "2", "--server", plain, "--http-port", "0", timeout=120)
    assert result.returncode == 1
    assert f"cannot connect to 127.0.0.1:{tls_nats.port}: the server requires TLS (use --tls)" in one_error(result)


def test_tls_emulator_against_plain_server(nats_server):
    result = run_cli("emulate", "-i", "2", "--server", nats_server.url, "--http-port", "0", "--tls", timeout=120)
    assert result.returncode == 1
    assert f"cannot connect to 127.0.0.1:{nats_server.port}: the server does not offer TLS (drop --tls)" in one_error(
        result
    )


def test_missing_tls_files_are_named(nats_server, tmp_path):
    result = run_cli(
        "emulate", "-i", "2", "--server", nats_server.url, "--tls", "--tls-ca", str(tmp_path / "ca.pem"), timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"choria-emulator emulate: --tls-ca: file not found: {tmp_path / 'ca.pem'}"
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    result = run_cli("emulate", "-i", "2", "--server", nats_server.url, "--tls", "--tls-ca", str(bad), timeout=60)
    assert (
        result.returncode == 2
        and "cannot load the TLS files" in result.stderr
        and len(result.stderr.strip().splitlines()) == 1
    )


async def test_mutual_tls_with_client_certificates(tmp_path, pki, fresh_nats, emulator_factory):
    server = fresh_nats("-c", str(pki["mtls_conf"]))
    flags = [
        "--tls",
        "--verify",
        "--tls-ca",
        str(pki["ca"]),
        "--tls-cert",
        str(pki["client_cert"]),
        "--tls-key",
        str(pki["client_key"]),
    ]
    await asyncio.to_thread(emulator_factory, server.url, 3, *flags, name="mtls")
    got = await names(
        server.url, 3, tls=True, tls_ca=str(pki["ca"]), tls_cert=str(pki["client_cert"]), tls_key=str(pki["client_key"])
    )
    assert got == {"mtls-0", "mtls-1", "mtls-2"}


# ---- NATS authentication -----------------------------------------------------------------------
async def test_user_and_password(fresh_nats, emulator_factory, tmp_path):
    server = fresh_nats("--user", "choria", "--pass", "s3cret")
    host = server.url.split("://", 1)[1]
    await asyncio.to_thread(emulator_factory, f"nats://choria:s3cret@{host}", 4, name="auth")
    assert await names(f"nats://choria:s3cret@{host}", 4) == {f"auth-{i}" for i in range(4)}
    # the client config keys for the same
    config = tmp_path / "client.conf"
    config.write_text(
        f"plugin.choria.middleware_hosts = {host}\nplugin.nats.user = choria\nplugin.nats.pass = s3cret\n"
    )
    result = run_cli("ping", "--config", str(config), "--expect", "4", "--timeout", "20")
    assert result.returncode == 0 and "4 replies" in result.stdout, result.stderr
    # wrong password: one line each, password not shown
    result = run_cli("emulate", "-i", "2", "--server", f"nats://choria:wrong@{host}", "--http-port", "0", timeout=120)
    assert result.returncode == 1 and "Authorization Violation" in one_error(result)
    assert "wrong" not in result.stderr
    result = run_cli("ping", "--server", f"nats://choria:wrong@{host}")
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"choria-emulator ping: cannot connect to nats://choria:***@{host}: nats: 'Authorization Violation'"
    )


async def test_token(fresh_nats, emulator_factory):
    server = fresh_nats("--auth", "t0ken")
    host = server.url.split("://", 1)[1]
    await asyncio.to_thread(emulator_factory, f"nats://t0ken@{host}", 3, name="tok")
    assert await names(f"nats://t0ken@{host}", 3) == {"tok-0", "tok-1", "tok-2"}
    result = run_cli("emulate", "-i", "2", "--server", f"nats://wrong@{host}", "--http-port", "0", timeout=120)
    assert result.returncode == 1 and "Authorization Violation" in one_error(result)


async def test_credentials_file_with_operator_jwts(tmp_path, fresh_nats, emulator_factory):
    setup = operator_setup(tmp_path / "operator")
    server = fresh_nats("-c", str(setup.server_config))
    await asyncio.to_thread(emulator_factory, server.url, 4, "--credentials", str(setup.creds), name="creds")
    assert await names(server.url, 4, credentials=str(setup.creds)) == {f"creds-{i}" for i in range(4)}
    result = run_cli(
        "ping", "--server", server.url, "--credentials", str(setup.creds), "--expect", "4", "--timeout", "20"
    )
    assert result.returncode == 0, result.stderr
    # a user the server does not trust
    result = run_cli(
        "emulate",
        "-i",
        "2",
        "--server",
        server.url,
        "--http-port",
        "0",
        "--credentials",
        str(setup.wrong_creds),
        timeout=120,
    )
    assert result.returncode == 1 and "Authorization Violation" in one_error(result)
    with pytest.raises(ClientError, match="Authorization Violation"):
        await names(server.url, 1, credentials=str(setup.wrong_creds))
    # no credentials at all
    result = run_cli("ping", "--server", server.url)
    assert result.returncode == 1 and "Authorization Violation" in result.stderr


def test_bad_credentials_file_is_one_line(nats_server, tmp_path):
    creds = tmp_path / "bad.creds"
    creds.write_text("not a creds file")
    result = run_cli("emulate", "-i", "2", "--server", nats_server.url, "--credentials", str(creds), timeout=60)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"choria-emulator emulate: {creds} is not a NATS credentials file (need a user JWT and an nkey seed)"
    )
