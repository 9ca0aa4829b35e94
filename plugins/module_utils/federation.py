# -*- coding: utf-8 -*-
# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""A ``choria-emulator federation`` broker process on the target: command line, files, status.

Like ``emulator.py`` beside it: the target never imports the emulator package; the module
runs the command the ``setup_prereqs`` role installed and reads its ``/debug/vars``.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, NamedTuple, Optional

from ansible_collections.chorialab.choria.plugins.module_utils.connection import ServerAddress
from ansible_collections.chorialab.choria.plugins.module_utils.monitor import MonitorError, fetch_json
from ansible_collections.chorialab.choria.plugins.module_utils.processes import cmdline, find_process

SCRIPT_NAMES = ("choria-emulator", "choria_emulator")


class FederationFiles(NamedTuple):
    pid_file: str
    log_file: str
    port_file: str


def default_files(params: Dict[str, Any]) -> FederationFiles:
    base = os.path.join(params["state_dir"], "federation-%s" % params["name"])
    return FederationFiles(params.get("pid_file") or base + ".pid", params.get("log_file") or base + ".log", base + ".port")


def _server(address: ServerAddress) -> str:
    return address.url if address.scheme == "tls" else str(address)


def command_args(params: Dict[str, Any], federation: List[ServerAddress], collectives: List[List[ServerAddress]], files: FederationFiles) -> List[str]:
    """The ``federation`` arguments for the module options, in a fixed order (compared to /proc)."""
    args = ["federation", "--name", params["name"]]
    for server in federation:
        args += ["--federation-server", _server(server)]
    for pool in collectives:
        args += ["--collective-server", ",".join(_server(s) for s in pool)]
    if params.get("identity"):
        args += ["--identity", params["identity"]]
    args += ["--http-port", str(params["monitor_port"]), "--http-bind", params["monitor_bind"]]
    args += ["--pid-file", files.pid_file, "--port-file", files.port_file]
    if params.get("tls"):
        args.append("--tls")
        if not params.get("tls_verify"):
            args.append("--no-verify")
    for option, flag in (("tls_ca", "--tls-ca"), ("tls_cert", "--tls-cert"), ("tls_key", "--tls-key"), ("credentials", "--credentials")):
        if params.get(option):
            args += [flag, str(params[option])]
    return args


def _federation_args(argv: List[str]) -> Optional[List[str]]:
    for index, arg in enumerate(argv[:-1]):
        if argv[index + 1] == "federation" and os.path.basename(arg).startswith(SCRIPT_NAMES):
            return argv[index:]
        if arg == "-m" and argv[index + 1] == "choria_emulator" and "federation" in argv:
            return argv[index + 1:]
    return None


def running_args(pid: int) -> Optional[List[str]]:
    """``[script, "federation", ...]`` from the command line of ``pid`` if it is a broker."""
    return _federation_args(cmdline(pid))


def find_broker(files: FederationFiles) -> Optional[int]:
    return find_process(files.pid_file, lambda argv: _federation_args(argv) is not None)


def debug_vars(url: str, timeout: float = 3.0) -> Dict[str, Any]:
    data = fetch_json(url.rstrip("/") + "/debug/vars", timeout=timeout)
    if not isinstance(data, dict) or not isinstance(data.get("requests"), dict):
        raise MonitorError("%s/debug/vars is not a choria-emulator federation broker" % url)
    return data


def status(data: Dict[str, Any], pid: int, url: Optional[str]) -> Dict[str, Any]:
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
