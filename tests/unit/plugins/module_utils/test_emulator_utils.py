# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from ansible_collections.chorialab.choria.plugins.module_utils.connection import parse_servers
from ansible_collections.chorialab.choria.plugins.module_utils.emulator import (
    command_args,
    debug_vars,
    default_files,
    monitor_url,
    status,
    subcommand_args,
)
from ansible_collections.chorialab.choria.plugins.module_utils.monitor import MonitorError, fetch_json, poll

# What /debug/vars serves, shared with tests/emulator/test_debug_vars_contract.py, which holds its shape
# equal to a real emulator's: the values are this file's, the keys and types are the daemon's.
DEBUG_VARS = json.loads((Path(__file__).parent / "fixtures" / "debug_vars.json").read_text())


def params(**overrides):
    base = dict(
        name="emu1",
        instances=750,
        agents=10,
        collectives=2,
        monitor_port=8080,
        monitor_bind="127.0.0.1",
        state_dir="/run/emu",
        pid_file=None,
        log_file=None,
        tls=False,
        tls_verify=False,
        secure=False,
    )
    base.update(overrides)
    return base


def test_command_line_follows_the_original_flags():
    p = params(
        workers=4,
        tls=True,
        tls_verify=True,
        tls_ca="/ca.pem",
        credentials="/u.creds",
        allowed_callers=["^ops$"],
        extra_args=["--registration-interval", 300],
    )
    args = command_args(p, parse_servers(["b1:4300,tls://b2:4443"]), default_files(p))
    assert args == [
        "emulate",
        "--instances",
        "750",
        "--agents",
        "10",
        "--collectives",
        "2",
        "--name",
        "emu1",
        "--server",
        "b1:4300",
        "--server",
        "tls://b2:4443",
        "--http-port",
        "8080",
        "--http-bind",
        "127.0.0.1",
        "--pid-file",
        "/run/emu/emulator-emu1.pid",
        "--port-file",
        "/run/emu/emulator-emu1.port",
        "--workers",
        "4",
        "--tls-ca",
        "/ca.pem",
        "--credentials",
        "/u.creds",
        "--allowed-callers",
        "^ops$",
        "--tls",
        "--verify",
        "--registration-interval",
        "300",
    ]


def test_emulate_args_are_found_in_console_script_and_module_forms():
    script = ["/venv/bin/python3", "/venv/bin/choria-emulator", "emulate", "--instances", "5"]
    assert subcommand_args(script, "emulate") == script[1:]
    module = ["/usr/bin/python3", "-m", "choria_emulator", "emulate", "-i", "5"]
    assert subcommand_args(module, "emulate") == module[2:]
    assert subcommand_args(["/usr/bin/sleep", "emulate"], "emulate") is None
    assert subcommand_args([], "emulate") is None


def test_status_is_the_original_emulator_status_plus_counters():
    result = status(DEBUG_VARS, 1, "http://127.0.0.1:8080")
    assert result["name"] == "emu1" and result["running"] is True
    assert result["pid"] == 4242 and result["tls"] is True and result["tls_verify"] is False
    assert result["memory"] == 104857600
    assert (result["instances"], result["connected"], result["workers"]) == (750, 749, 2)
    assert result["counters"] == {"total": 12, "replies": 11}


def test_monitor_url_reads_the_real_port_from_the_port_file(tmp_path):
    p = params(monitor_port=0, state_dir=str(tmp_path))
    assert monitor_url(p, default_files(p)) is None
    (tmp_path / "emulator-emu1.port").write_text("41234\n")
    assert monitor_url(p, default_files(p)) == "http://127.0.0.1:41234"
    assert (
        monitor_url(params(monitor_bind="0.0.0.0", state_dir=str(tmp_path / "x")), default_files(params()))
        == "http://127.0.0.1:8080"
    )


class _Handler(BaseHTTPRequestHandler):
    routes = {"/debug/vars": json.dumps(DEBUG_VARS).encode(), "/varz": b'{"server_id": "N1"}', "/text": b"<html>"}

    def do_GET(self):  # http.server's naming
        body = self.routes.get(self.path)
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args):
        pass


@pytest.fixture
def http_url():
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_debug_vars_over_real_http(http_url):
    assert debug_vars(http_url)["config"]["pid"] == 4242
    with pytest.raises(MonitorError, match="is not a choria-emulator status endpoint"):
        debug_vars(http_url + "/varz#")
    with pytest.raises(MonitorError, match="did not return JSON"):
        fetch_json(http_url + "/text")
    with pytest.raises(MonitorError, match="Not Found"):
        fetch_json(http_url + "/nothing")


def test_poll_stops_when_done_aborted_or_out_of_time():
    calls = []

    def fetch():
        calls.append(1)
        if len(calls) < 3:
            raise MonitorError("not yet")
        return len(calls)

    assert poll(fetch, lambda n: n >= 4, timeout=10, interval=0.01) == (True, 4, None)
    assert poll(lambda: 1, lambda n: False, timeout=10, interval=0.01, abort=lambda: "process exited") == (
        False,
        None,
        "process exited",
    )
    ok, last, reason = poll(lambda: 7, lambda n: False, timeout=0.05, interval=0.01)
    assert (ok, last, reason) == (False, 7, "timed out")
