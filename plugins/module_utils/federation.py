# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""A ``choria-emulator federation`` broker process on the target: command line, files, status.

Like ``emulator.py`` beside it: the target never imports the emulator package; the module
runs the command the ``setup_prereqs`` role installed and reads its ``/debug/vars``.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.chorialab.choria.plugins.module_utils.connection import ServerAddress
from ansible_collections.chorialab.choria.plugins.module_utils.emulator import (
    EmulatorFiles,
    command_files,
    read_debug_vars,
    server_arg,
    subcommand_args,
)


def default_files(params: dict[str, Any]) -> EmulatorFiles:
    return command_files(params, "federation")


def command_args(
    params: dict[str, Any],
    federation: list[ServerAddress],
    collectives: list[list[ServerAddress]],
    files: EmulatorFiles,
) -> list[str]:
    """The ``federation`` arguments for the module options, in a fixed order (compared to /proc)."""
    args = ["federation", "--name", params["name"]]
    for server in federation:
        args += ["--federation-server", server_arg(server)]
    for pool in collectives:
        args += ["--collective-server", ",".join(server_arg(s) for s in pool)]
    if params.get("identity"):
        args += ["--identity", params["identity"]]
    args += ["--http-port", str(params["monitor_port"]), "--http-bind", params["monitor_bind"]]
    args += ["--pid-file", files.pid_file, "--port-file", files.port_file]
    if params.get("tls"):
        args.append("--tls")
        if not params.get("tls_verify"):
            args.append("--no-verify")
    for option, flag in (
        ("tls_ca", "--tls-ca"),
        ("tls_cert", "--tls-cert"),
        ("tls_key", "--tls-key"),
        ("credentials", "--credentials"),
    ):
        if params.get(option):
            args += [flag, str(params[option])]
    return args


def _federation_args(argv: list[str]) -> list[str] | None:
    return subcommand_args(argv, "federation")


def debug_vars(url: str, timeout: float = 3.0) -> dict[str, Any]:
    return read_debug_vars(url, "requests", "a choria-emulator federation broker", timeout)


def status(data: dict[str, Any], pid: int, url: str | None) -> dict[str, Any]:
    """The broker's name, sides and go-choria style counters."""
    federation = data.get("federation") or {}
    return {
        "running": True,
        "pid": data.get("pid", pid),
        "connected": bool(data.get("connected")),
        "federation_url": federation.get("connected_url"),
        "collective_urls": [c.get("connected_url") for c in data.get("collectives") or []],
        "requests": data.get("requests") or {},
        "replies": data.get("replies") or {},
        "uptime": data.get("uptime"),
        "monitor_url": url,
    }
