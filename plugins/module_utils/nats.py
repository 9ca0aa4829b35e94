# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""nats-server on the target: its config file, its files on disk and its status from ``/varz``.

Shared by ``nats_server`` (which writes the config and runs the process) and
``nats_server_info`` (which only reads), so both agree on where a server's files are and
what "running" means.
"""

from __future__ import annotations

import glob
import json
import os
import re
from typing import Any, Callable, NamedTuple

from ansible_collections.chorialab.choria.plugins.module_utils.monitor import MonitorError, fetch_json
from ansible_collections.chorialab.choria.plugins.module_utils.processes import find_process

DEFAULT_CONFIG_DIR = "/tmp/choria-emulator"
DEFAULT_VENV = "/opt/choria-emulator"
BINARY_NAMES = ("nats-server", "gnatsd")
HEADER = "# Managed by Ansible (chorialab.choria.nats_server): local changes are overwritten.\n"
_ROUTE_RE = re.compile(r"^(?:(nats-route|nats|tls)://)?([^:/\s]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$")


class NatsConfigError(ValueError):
    """An option cannot be turned into a nats-server setting; the message names the option."""


class NatsFiles(NamedTuple):
    config_file: str
    pid_file: str
    log_file: str


def instance_key(name: str | None, port: int) -> str:
    """What tells two servers on one host apart in file names: the name, else the port."""
    if name:
        return re.sub(r"[^\w.-]", "_", name)
    return str(port) if port > 0 else "random"


def default_files(params: dict[str, Any]) -> NatsFiles:
    key = instance_key(params.get("name"), params["port"])
    base = os.path.join(params["config_dir"], "nats-server-%s" % key)
    return NatsFiles(
        params.get("config_file") or base + ".conf",
        params.get("pid_file") or base + ".pid",
        params.get("log_file") or base + ".log",
    )


def connect_host(bind: str) -> str:
    """Where to reach a server bound to ``bind`` from the same host."""
    if bind in ("", "0.0.0.0", "*"):
        return "127.0.0.1"
    if bind in ("::", "[::]"):
        return "::1"
    return bind


def url_host(host: str) -> str:
    return "[%s]" % host if ":" in host else host


def normalize_route(route: str) -> str:
    """``host:port``, ``nats://`` or ``nats-route://host:port`` → ``nats-route://host:port``."""
    match = _ROUTE_RE.match(route.strip())
    if not match or not 0 < int(match.group(3)) < 65536:
        raise NatsConfigError("cluster.routes: %r is not host:port or nats-route://host:port" % route)
    scheme = "tls" if match.group(1) == "tls" else "nats-route"
    return "%s://%s:%s" % (scheme, match.group(2), match.group(3))


def normalize_leaf_url(url: str) -> str:
    """``host:port``, ``nats-leaf://`` or ``tls://host:port`` → a leafnode remote URL (the hub)."""
    match = _ROUTE_RE.match(url.strip().replace("nats-leaf://", "nats://", 1))
    if not match or not 0 < int(match.group(3)) < 65536:
        raise NatsConfigError("leafnodes.remotes: %r is not host:port or nats-leaf://host:port" % url)
    scheme = "tls" if match.group(1) == "tls" else "nats-leaf"
    return "%s://%s:%s" % (scheme, match.group(2), match.group(3))


def build_config(params: dict[str, Any]) -> dict[str, Any]:
    """The nats-server settings for the module options, in a stable order."""
    bind = params["bind"]
    config: dict[str, Any] = {}
    block: dict[str, Any]
    if params.get("name"):
        config["server_name"] = params["name"]
    config["host"] = bind
    config["port"] = params["port"]
    config["http"] = "%s:%d" % (url_host(bind), params["monitor_port"])
    if params.get("max_connections") is not None:
        config["max_connections"] = params["max_connections"]
    if params.get("max_payload") is not None:
        config["max_payload"] = params["max_payload"]
    config["ports_file_dir"] = params["config_dir"]
    cluster = params.get("cluster")
    if cluster:
        block = {}
        if cluster.get("name"):
            block["name"] = cluster["name"]
        block["host"] = cluster.get("bind") or bind
        block["port"] = cluster["port"]
        block["routes"] = [normalize_route(route) for route in cluster.get("routes") or []]
        config["cluster"] = block
    tls = params.get("tls")
    if tls:
        block = {"cert_file": tls["cert"], "key_file": tls["key"]}
        if tls.get("ca"):
            block["ca_file"] = tls["ca"]
        block["verify"] = bool(tls.get("verify"))
        if tls.get("timeout") is not None:
            block["timeout"] = tls["timeout"]
        config["tls"] = block
    leafnodes = params.get("leafnodes")
    if leafnodes:
        block = {}
        if leafnodes.get("port") is not None:
            block["host"] = leafnodes.get("bind") or bind
            block["port"] = leafnodes["port"]
        if leafnodes.get("remotes"):
            remote: dict[str, Any] = {"urls": [normalize_leaf_url(url) for url in leafnodes["remotes"]]}
            if leafnodes.get("credentials"):
                remote["credentials"] = leafnodes["credentials"]
            block["remotes"] = [remote]
        config["leafnodes"] = block
    for key, value in (params.get("extra_config") or {}).items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = dict(config[key], **value)
        else:
            config[key] = value
    return config


def _value(value: Any, indent: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        inner = indent + "  "
        body = "".join("%s%s: %s\n" % (inner, key, _value(item, inner)) for key, item in value.items())
        return "{\n%s%s}" % (body, indent)
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        inner = indent + "  "
        return "[\n%s%s]" % ("".join("%s%s\n" % (inner, _value(item, inner)) for item in value), indent)
    return json.dumps(str(value))


def render_config(config: dict[str, Any]) -> str:
    """nats-server configuration text (the NATS conf format; strings JSON-quoted)."""
    return HEADER + "".join("%s: %s\n" % (key, _value(value, "")) for key, value in config.items())


def is_nats_server(config_file: str) -> Callable[[list[str]], bool]:
    """A matcher for ``find_process``: a nats-server (or gnatsd) run with this config file."""

    def matches(argv: list[str]) -> bool:
        return bool(argv) and os.path.basename(argv[0]).startswith(BINARY_NAMES) and config_file in argv[1:]

    return matches


def find_server(files: NatsFiles) -> int | None:
    return find_process(files.pid_file, is_nats_server(files.config_file))


def listening_ports(config_dir: str, pid: int) -> dict[str, list[str]]:
    """The ports file nats-server writes into ``ports_file_dir`` (real ports when -1 was asked)."""
    for path in glob.glob(os.path.join(config_dir, "*_%d.ports" % pid)):
        try:
            with open(path) as handle:
                data = json.load(handle)
            if isinstance(data, dict):
                return data
        except (OSError, ValueError):
            continue
    return {}


def _port_of(urls: list[str], default: int) -> int:
    for url in urls or []:
        tail = url.rsplit(":", 1)[-1].strip("/")
        if tail.isdigit():
            return int(tail)
    return default


def endpoints(params: dict[str, Any], pid: int | None) -> dict[str, Any]:
    """Client, monitor and cluster URLs of the running server (from its ports file if it has one)."""
    ports = listening_ports(params["config_dir"], pid) if pid else {}
    host = url_host(connect_host(params["bind"]))
    port = _port_of(ports.get("nats", []), params["port"])
    monitor = _port_of(ports.get("monitoring", []), params["monitor_port"])
    result: dict[str, Any] = {
        "port": port,
        "monitor_port": monitor,
        "url": "%s://%s:%d" % ("tls" if params.get("tls") else "nats", host, port),
        "monitor_url": "http://%s:%d" % (host, monitor),
        "cluster_url": None,
    }
    cluster = params.get("cluster")
    if cluster:
        cluster_port = _port_of(ports.get("cluster", []), cluster["port"])
        result["cluster_url"] = "nats-route://%s:%d" % (
            url_host(connect_host(cluster.get("bind") or params["bind"])),
            cluster_port,
        )
    return result


def varz(monitor_url: str, timeout: float = 3.0) -> dict[str, Any]:
    data = fetch_json(monitor_url.rstrip("/") + "/varz", timeout=timeout)
    if not isinstance(data, dict) or "server_id" not in data:
        raise MonitorError("%s/varz is not a nats-server monitoring endpoint" % monitor_url)
    return data


def log_error(tail: str) -> str | None:
    """The last fatal or error line nats-server logged, without its timestamp prefix."""
    for line in reversed(tail.splitlines()):
        for level in ("[FTL] ", "[ERR] "):
            if level in line:
                return line.split(level, 1)[1].strip()
    return None


def summarize_varz(data: dict[str, Any]) -> dict[str, Any]:
    """The figures a playbook checks after starting a broker or building a network."""
    keys = (
        "server_id",
        "server_name",
        "version",
        "connections",
        "total_connections",
        "subscriptions",
        "routes",
        "in_msgs",
        "out_msgs",
        "in_bytes",
        "out_bytes",
        "slow_consumers",
        "mem",
        "cpu",
        "max_connections",
        "max_payload",
        "uptime",
        "start",
    )
    return {key: data.get(key) for key in keys}
