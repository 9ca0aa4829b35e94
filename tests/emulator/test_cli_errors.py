"""Every command fails in ONE clear line with a non-zero exit, never a traceback."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from choria_wire import CLI, poll, run_cli

CLIENT_COMMANDS = [["ping"], ["discover"], ["rpc", "emulated0", "generate"]]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_line(result: subprocess.CompletedProcess, command: str) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"choria-emulator {command}: "), lines[0]
    return lines[0].split(": ", 1)[1]


@pytest.fixture
def no_default_config(tmp_path, monkeypatch):
    """A HOME without ~/.choriarc and no CHORIA_CONFIG, so nothing but the flags applies."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CHORIA_CONFIG", raising=False)


@pytest.mark.parametrize("command", CLIENT_COMMANDS, ids=lambda c: c[0])
def test_unreachable_broker(command, no_default_config):
    port = closed_port()
    result = run_cli(*command, "--server", f"127.0.0.1:{port}", timeout=60)
    assert result.returncode == 1
    assert one_line(result, command[0]) == f"cannot connect to nats://127.0.0.1:{port}: connection refused"


@pytest.mark.parametrize("command", CLIENT_COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("127.0.0.1:notaport", "invalid port in NATS server address '127.0.0.1:notaport'"),
        ("http://127.0.0.1:4222", "unsupported NATS server scheme"),
        ("nats://:4222", "no host in NATS server address"),
    ],
)
def test_bad_server_address(command, server, message, no_default_config):
    assert message in one_line(run_cli(*command, "--server", server, timeout=60), command[0])


@pytest.mark.parametrize("command", CLIENT_COMMANDS, ids=lambda c: c[0])
def test_missing_config_file(command, tmp_path, no_default_config):
    result = run_cli(*command, "--config", str(tmp_path / "missing.conf"), timeout=60)
    assert (
        one_line(result, command[0])
        == f"cannot read Choria config {tmp_path / 'missing.conf'}: No such file or directory"
    )


@pytest.mark.parametrize("command", CLIENT_COMMANDS, ids=lambda c: c[0])
def test_broken_config_file(command, tmp_path, no_default_config):
    config = tmp_path / "client.conf"
    config.write_text("identity = me\nthis line has no equals sign\n")
    message = one_line(run_cli(*command, "--config", str(config), timeout=60), command[0])
    assert message == f"{config}:2: expected 'key = value', got 'this line has no equals sign'"


def test_default_config_in_home_is_used(tmp_path, no_default_config):
    port = closed_port()
    (tmp_path / ".choriarc").write_text(f"plugin.choria.middleware_hosts = 127.0.0.1:{port}\n")
    assert (
        one_line(run_cli("ping", timeout=60), "ping")
        == f"cannot connect to nats://127.0.0.1:{port}: connection refused"
    )


@pytest.mark.parametrize("command", CLIENT_COMMANDS, ids=lambda c: c[0])
def test_bad_filter_fails_before_connecting(command, no_default_config):
    port = closed_port()  # would be "connection refused" if it connected first
    message = one_line(
        run_cli(*command, "--server", f"127.0.0.1:{port}", "-F", "no operator here", timeout=60), command[0]
    )
    assert "could not parse fact" in message


def test_bad_rpc_argument(no_default_config):
    message = one_line(run_cli("rpc", "emulated0", "generate", "size", "--server", "127.0.0.1:1", timeout=60), "rpc")
    assert message == "action input 'size' is not KEY=VALUE"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["-i", "0"], "--instances must be at least 1"),
        (["-i", "2", "--collectives", "0"], "--collectives >= 1"),
        (["-i", "2", "--server", "127.0.0.1:notaport"], "bad --server: invalid port"),
        (["-i", "2", "--workers", "0"], "--workers must be between 1 and"),
        (["-i", "2", "--workers", "100000"], "--workers must be between 1 and"),
        (["-i", "2", "--connect-concurrency", "0"], "--connect-concurrency must be at least 1"),
        (["-i", "2", "--http-port", "70000"], "--http-port 70000: use 1-65535, 0 for any free port, -1 for none"),
        (["-i", "2", "--http-port", "-5"], "--http-port -5: use 1-65535"),
        (["-i", "2", "--name", "n" * 5000], "--name is 5000 characters long; at most 200"),
        (["-i", "2", "--name", "tab\tname"], "cannot be part of a NATS subject"),
        (["-i", "2", "--registration-interval", "-1"], "must not be negative"),
        (["-i", "2", "--audit", "/nonexistent/dir/audit-%s.log"], "--audit: directory /nonexistent/dir does not exist"),
        (["-i", "2", "--stats-file", "/nonexistent/stats.json"], "--stats-file: directory /nonexistent does not exist"),
        (["-i", "2", "--pid-file", "/nonexistent/emu.pid"], "--pid-file: directory /nonexistent does not exist"),
        (["-i", "2", "--secure"], "--secure needs --ca"),
        (["-i", "2", "--tls-cert", "/x.pem", "--tls"], "--tls-cert: file not found: /x.pem"),
        (["-i", "2", "--name-format", "e3", "--start-index", "-1"], "--start-index must not be negative"),
        (["-i", "25000", "--workers", "1"], "open files"),
        (["-i", "2", "--name", "my node"], "cannot be part of a NATS subject"),
        (["-i", "2", "--name", "a..b"], "cannot be part of a NATS subject"),
        (["-i", "2", "--name", "emu>"], "cannot be part of a NATS subject"),
    ],
)
def test_emulate_refuses_unusable_setups(flags, message):
    result = run_cli("emulate", "--http-port", "0", *flags, timeout=60)
    assert result.returncode == 2
    assert message in one_line(result, "emulate")


def test_emulate_names_the_worker_count_that_fits_the_open_files_limit():
    import resource

    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]  # the hard limit: the soft one is raised to it
    result = run_cli("emulate", "--http-port", "0", "-i", str(limit * 3), "--workers", "1", timeout=60)
    message = one_line(result, "emulate")
    assert f"more than the {limit} open files a process may have" in message
    workers = int(message.rsplit("--workers ", 1)[1].split()[0])
    assert workers >= 3 and (limit * 3) / workers + 200 <= limit


def test_emulate_suggests_a_higher_open_files_limit_not_absurd_worker_counts():
    """With ``ulimit -Hn 256`` a million instances would need ~18,000 workers: say raise the limit."""
    import resource

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    result = run_cli("emulate", "--http-port", "0", "-i", "1000000", "--workers", "2", preexec_fn=low_limit)
    message = one_line(result, "emulate")
    assert result.returncode == 2
    assert message == (
        "500000 instances per worker need more than the 256 open files a process may have; "
        "raise the hard open-files limit (ulimit -Hn; LimitNOFILE= for a service; open_files in Ansible) "
        "to at least 500200"
    )


def test_emulate_raises_its_soft_open_files_limit_to_the_hard_one_and_says_so(tmp_path):
    """A stock VM's session has a soft limit of 1024: 1,500 instances in one worker still fit under the hard one."""
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard < 1700:
        pytest.fail(f"this test needs a hard open-files limit of at least 1700, not {hard}")

    def stock_vm() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))

    log = tmp_path / "emulator.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [
                *CLI,
                "emulate",
                "--http-port",
                "0",
                "-i",
                "1500",
                "--workers",
                "1",
                "--server",
                f"127.0.0.1:{closed_port()}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            preexec_fn=stock_vm,
        )
    try:
        deadline = time.monotonic() + 60
        while "open files:" not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process.poll() is None, log.read_text()
        assert f"open files: raised the soft limit from 1024 to {hard} (the hard limit)" in log.read_text()
        limits = (Path("/proc") / str(process.pid) / "limits").read_text()
        assert re.search(rf"^Max open files\s+{hard}\s+{hard}\s", limits, re.M), limits
    finally:
        process.terminate()
        process.wait(30)


@pytest.mark.parametrize(
    "content", ["not a certificate\n", "", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"]
)
def test_emulate_refuses_a_ca_that_is_not_pem_before_starting_workers(tmp_path, content):
    ca = tmp_path / "ca.txt"
    ca.write_text(content)
    result = run_cli("emulate", "--http-port", "0", "-i", "2", "--secure", "--ca", str(ca), timeout=60)
    assert result.returncode == 2
    assert one_line(result, "emulate") == f"--ca: {ca} holds no PEM certificate"
    assert "Traceback" not in result.stderr


def test_emulate_keeps_retrying_an_unreachable_broker(tmp_path):
    """Like a Choria daemon: no broker yet is not fatal; it says so in one line per worker and keeps trying."""
    port = closed_port()
    log = tmp_path / "emulator.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [*CLI, "emulate", "-i", "4", "--workers", "2", "--http-port", "0", "--server", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            poll(lambda: log.read_text().count("retrying") >= 2, timeout=60, what="a warning from each worker")
            assert process.poll() is None  # still running, still trying
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    text = log.read_text()
    assert process.returncode == 0
    warnings = [line for line in text.splitlines() if "WARNING" in line]
    assert all(f"to 127.0.0.1:{port}" in w and "Connection refused" in w and "retrying" in w for w in warnings), (
        warnings
    )
    assert len(warnings) <= 4  # a summary per worker every 10 s, not a line per attempt
    assert "Traceback" not in text


@pytest.mark.parametrize("command", CLIENT_COMMANDS, ids=lambda c: c[0])
def test_missing_tls_file(command, tmp_path, no_default_config):
    message = one_line(
        run_cli(*command, "--server", "127.0.0.1:1", "--tls", "--tls-ca", str(tmp_path / "ca.pem"), timeout=60),
        command[0],
    )
    ca = tmp_path / "ca.pem"
    assert message == f"cannot load the TLS files (CA {ca}, certificate none, key none): No such file or directory"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ping", "--timeout", "nan"], "--timeout must be a positive number of seconds, got nan"),
        (["ping", "--timeout", "-1"], "--timeout must be a positive number of seconds, got -1.0"),
        (["ping", "--expect", "0"], "--expect must be at least 1, got 0"),
        (["discover", "--timeout", "inf"], "--timeout must be a positive number of seconds, got inf"),
        (["discover", "--expect", "-2"], "--expect must be at least 1, got -2"),
        (["rpc", "emulated0", "generate", "--timeout", "nan"], "--timeout must be a positive number of seconds"),
        (["rpc", "emulated0", "generate", "--dt", "nan"], "--discovery-timeout must be a positive number of seconds"),
        (["rpc", "emulated0", "generate", "--dt", "0"], "--discovery-timeout must be a positive number of seconds"),
        (["rpc", "emulated0", "generate", "--timeout", "-5"], "--timeout must be a positive number of seconds"),
        (["rpc", "emulated0", "generate", "--batch", "0"], "--batch must be at least 1, got 0"),
        (["rpc", "emulated0", "generate", "--batch", "-3"], "--batch must be at least 1, got -3"),
        (["rpc", "emulated0", "generate", "--batch-sleep", "nan"], "--batch-sleep must be a non-negative number"),
        (["rpc", "emulated0", "generate", "=5"], "action input '=5' has no key (KEY=VALUE)"),
        (["discover", "-S", "with("], "compound filter 'with(' does not compile: unexpected token 'EOF'"),
        (["ping", "-S", 'with("a") and'], "compound filter 'with(\"a\") and' does not compile"),
        (["discover", "-I", "/(/"], "identity filter '/(/' is not a valid regular expression: missing ): ("),
        (["rpc", "rpcutil", "ping", "-C", "/a**/"], "class filter '/a**/' is not a valid regular expression"),
        (["discover", "-A", "/[/"], "agent filter '/[/' is not a valid regular expression"),
        (["discover", "-F", "os=/(/"], "fact filter os=~/(/ is not a valid regular expression"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_bad_client_arguments_are_one_line_before_connecting(args, message, nats_server, no_default_config):
    """Against a live broker with no nodes: before these checks NaN waited forever, the others exited 0 or
    1 with nothing on stderr (issue 12 item 5)."""
    result = run_cli(*args, "--server", nats_server.url, timeout=30)
    assert result.returncode == 2
    assert message in one_line(result, args[0])
    assert result.stdout == ""
