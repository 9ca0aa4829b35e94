# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""A ``choria-emulator emulate`` process on the target: its command line, files and status.

Shared by ``emulator`` (starts and stops it) and ``emulator_info`` (reads it). The target
never imports the emulator package: everything goes through the command line the
``setup_prereqs`` role installed and the ``/debug/vars`` endpoint it serves. What any
``choria-emulator`` sub-command shares (files, recognising its process, its monitor URL) is
here too; ``federation.py`` beside it adds the broker's command line and status.
"""

from __future__ import annotations

import os
import re
import socket
from typing import Any, NamedTuple

from ansible_collections.chorialab.choria.plugins.module_utils.connection import ServerAddress
from ansible_collections.chorialab.choria.plugins.module_utils.monitor import MonitorError, fetch_json
from ansible_collections.chorialab.choria.plugins.module_utils.nats import connect_host, url_host
from ansible_collections.chorialab.choria.plugins.module_utils.processes import cmdline, find_process, is_running

NAME_RE = re.compile(r"^[\w.-]{1,128}$")
SCRIPT_NAMES = ("choria-emulator", "choria_emulator")


class EmulatorFiles(NamedTuple):
    pid_file: str
    log_file: str
    port_file: str


def default_name() -> str:
    """What the emulator itself defaults to: the short host name."""
    return socket.gethostname().split(".")[0] or "emulator"


def command_files(params: dict[str, Any], prefix: str) -> EmulatorFiles:
    """``<state_dir>/<prefix>-<name>.pid|.log|.port``, unless the PID or log file is given."""
    base = os.path.join(params["state_dir"], "%s-%s" % (prefix, params["name"]))
    return EmulatorFiles(
        params.get("pid_file") or base + ".pid", params.get("log_file") or base + ".log", base + ".port"
    )


def default_files(params: dict[str, Any]) -> EmulatorFiles:
    return command_files(params, "emulator")


def find_executable(venv: str, explicit: str | None) -> str:
    return explicit or os.path.join(venv, "bin", "choria-emulator")


def server_arg(server: ServerAddress) -> str:
    """A server as the command line takes it: ``host:port``, with the scheme only for ``tls://``."""
    return server.url if server.scheme == "tls" else str(server)


def command_args(params: dict[str, Any], servers: list[ServerAddress], files: EmulatorFiles) -> list[str]:
    """The ``emulate`` arguments for the module options, in a fixed order (compared to /proc)."""
    args = [
        "emulate",
        "--instances",
        str(params["instances"]),
        "--agents",
        str(params["agents"]),
        "--collectives",
        str(params["collectives"]),
        "--name",
        params["name"],
    ]
    for server in servers:
        args += ["--server", server_arg(server)]
    args += ["--http-port", str(params["monitor_port"]), "--http-bind", params["monitor_bind"]]
    args += ["--pid-file", files.pid_file, "--port-file", files.port_file]
    optional = (
        ("workers", "--workers"),
        ("start_index", "--start-index"),
        ("name_format", "--name-format"),
        ("tls_ca", "--tls-ca"),
        ("tls_cert", "--tls-cert"),
        ("tls_key", "--tls-key"),
        ("ca", "--ca"),
        ("credentials", "--credentials"),
        ("facts", "--facts"),
        ("audit", "--audit"),
        ("scenario", "--scenario"),
        ("seed", "--seed"),
    )
    for option, flag in optional:
        if params.get(option) not in (None, ""):
            args += [flag, str(params[option])]
    for ddl in params.get("ddl") or []:
        args += ["--ddl", str(ddl)]
    if params.get("lifecycle"):
        args.append("--lifecycle")
    for pattern in params.get("allowed_callers") or []:
        args += ["--allowed-callers", pattern]
    for option, flag in (("tls", "--tls"), ("tls_verify", "--verify"), ("secure", "--secure")):
        if params.get(option):
            args.append(flag)
    return args + [str(arg) for arg in params.get("extra_args") or []]


def subcommand_args(argv: list[str], subcommand: str) -> list[str] | None:
    """``[script, subcommand, ...]`` when ``argv`` runs ``choria-emulator <subcommand>`` (script or ``-m``)."""
    for index, arg in enumerate(argv[:-1]):
        if argv[index + 1] == subcommand and os.path.basename(arg).startswith(SCRIPT_NAMES):
            return argv[index:]
        if arg == "-m" and argv[index + 1] == "choria_emulator" and subcommand in argv:
            return argv[index + 1 :]
    return None


def running_args(pid: int, subcommand: str = "emulate") -> list[str] | None:
    """``[script, subcommand, ...]`` from the command line of ``pid`` if it is that choria-emulator."""
    return subcommand_args(cmdline(pid), subcommand)


def find_subcommand(pid_file: str, subcommand: str) -> int | None:
    """The PID in ``pid_file`` if that process runs ``choria-emulator <subcommand>``."""
    return find_process(pid_file, lambda argv: subcommand_args(argv, subcommand) is not None)


def find_emulator(files: EmulatorFiles) -> int | None:
    return find_subcommand(files.pid_file, "emulate")


def monitor_url(params: dict[str, Any], files: EmulatorFiles) -> str | None:
    """``http://host:port`` of /debug/vars: the port file has the real port when 0 was asked."""
    port = params["monitor_port"]
    try:
        with open(files.port_file) as handle:
            text = handle.read().strip()
        if text.isdigit():
            port = int(text)
    except OSError:
        pass
    return endpoint(params["monitor_bind"], port)


def endpoint(bind: str, port: int | None) -> str | None:
    if port is None or port <= 0:
        return None
    return "http://%s:%d" % (url_host(connect_host(bind)), port)


def read_debug_vars(url: str, section: str, what: str, timeout: float = 3.0) -> dict[str, Any]:
    """``/debug/vars`` below ``url``, if it has the dict ``section`` that marks ``what`` it is."""
    data = fetch_json(url.rstrip("/") + "/debug/vars", timeout=timeout)
    if not isinstance(data, dict) or not isinstance(data.get(section), dict):
        raise MonitorError("%s/debug/vars is not %s" % (url, what))
    return data


def debug_vars(url: str, timeout: float = 3.0) -> dict[str, Any]:
    return read_debug_vars(url, "config", "a choria-emulator status endpoint", timeout)


def pid_from_debug_vars(url: str) -> int | None:
    """The original stop action's way: ``config.pid`` from /debug/vars, if it is an emulator."""
    try:
        pid = debug_vars(url).get("config", {}).get("pid")
    except MonitorError:
        return None
    if isinstance(pid, int) and is_running(pid) and running_args(pid) is not None:
        return pid
    return None


def locate(params: dict[str, Any], files: EmulatorFiles) -> tuple[int | None, str | None]:
    """The emulator's PID and /debug/vars URL: by its PID file, else like the original stop action."""
    pid = find_emulator(files)
    url = monitor_url(params, files) if pid else endpoint(params["monitor_bind"], params["monitor_port"])
    if pid is None and url:
        pid = pid_from_debug_vars(url)
    return pid, url


def status(data: dict[str, Any], pid: int | None, url: str | None) -> dict[str, Any]:
    """What the original ``emulator_status`` action returned, plus the live counters.

    The keys are the daemon's (``daemon/supervisor.py``): tests/emulator/test_debug_vars_contract.py holds
    them equal to the sample in tests/unit/plugins/module_utils/fixtures/debug_vars.json.
    """
    config = data.get("config") or {}
    memstats = data.get("memstats") or {}
    workers = data.get("workers")
    return {
        "name": data.get("name"),
        "running": True,
        "pid": config.get("pid", pid),
        "tls": config.get("TLS") == 1,
        "tls_verify": config.get("tlsVerify") == 1,
        "memory": memstats.get("Sys", data.get("rss")),
        "instances": config.get("instances"),
        "connected": data.get("connected"),
        "agents": config.get("agents"),
        "collectives": config.get("collectives"),
        "counters": data.get("counters") or {},
        "reconnects": data.get("reconnects"),
        "workers": len(workers) if isinstance(workers, list) else workers,
        "servers": data.get("servers"),
        "subscriptions_per_instance": data.get("subscriptions_per_instance"),
        "version": data.get("version"),
        "uptime": data.get("uptime"),
        "all_connected_after": data.get("all_connected_after"),
        "monitor_url": url,
    }
