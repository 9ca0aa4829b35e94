"""The agents every emulated instance answers: discovery, rpcutil, choria_util, emulatedN.

A handler takes the instance and the decoded request and returns the reply ``message`` text,
or ``None`` for no reply. Bodies that are the same for every instance (``pong``,
``emulatedN#generate``) are computed once per request and shared.
"""

from __future__ import annotations

import os
import platform
import time
from typing import TYPE_CHECKING, Any, Callable

from .. import __version__, ddl
from ..protocol import RPCReply, StatusCode
from ..protocol.matching import lookup_fact
from .config import RECONNECT_MAX
from .requests import DecodedRequest

if TYPE_CHECKING:
    from .instance import Instance

Handler = Callable[["Instance", DecodedRequest], "str | None"]
GENERATE_DEFAULT_SIZE = 20
GENERATE_MAX_SIZE = 10 * 1024 * 1024
_DIGITS = "0123456789"
METADATA_KEYS = ("license", "author", "timeout", "name", "version", "url", "description")  # go-choria agents.Metadata


def generate(size: int) -> str:
    """``size`` characters of the repeating ``0123456789`` (protocol.md §4.3)."""
    return (_DIGITS * (size // 10 + 1))[:size]


def reply_bytes(size: int) -> int:
    """An upper bound of the transport bytes of a ``generate`` reply: base64 of the JSON layers around it."""
    return (size + 1024) * 4 // 3 + 512


def ok(data: Any) -> str:
    return RPCReply(data=data).encode()


def fail(code: StatusCode, message: str) -> str:
    return RPCReply.error(code, message).encode()


def discovery(instance: Instance, decoded: DecodedRequest) -> str | None:
    """Go and E1: reply ``pong`` when the payload contains ``ping``; anything else gets no reply."""
    if b"ping" not in decoded.payload:
        return None
    decoded.shared["discovery"] = "pong"
    return "pong"


def _rpc_preamble(decoded: DecodedRequest, agent: str) -> tuple[str | None, Any]:
    body = decoded.rpc_body()
    if body is None:
        return fail(StatusCode.INVALID_DATA, f"Could not process request: {decoded.rpc_error}"), None
    if body.agent != agent:
        return fail(StatusCode.INVALID_DATA, f"Could not process request: body is for agent {body.agent}"), None
    return None, body


def emulated(instance: Instance, decoded: DecodedRequest) -> str | None:
    agent = decoded.request.agent  # type: ignore[union-attr]
    shared = decoded.shared.get(agent)
    if shared is None:
        error, body = _rpc_preamble(decoded, agent)
        if error is not None:
            shared = error
        elif body.action != "generate":
            shared = fail(StatusCode.UNKNOWN_ACTION, f"Unknown action {body.action} for agent {agent}")
        else:
            size = body.data.get("size", GENERATE_DEFAULT_SIZE)
            if size is None:
                size = GENERATE_DEFAULT_SIZE
            if isinstance(size, bool) or not isinstance(size, int):
                shared = fail(StatusCode.INVALID_DATA, "Validation failed: size should be an integer")
            elif not 0 <= size <= GENERATE_MAX_SIZE:
                shared = fail(
                    StatusCode.INVALID_DATA, f"Validation failed: size should be between 0 and {GENERATE_MAX_SIZE}"
                )
            elif instance.connection is not None and reply_bytes(size) > instance.connection.max_payload:
                # Go would fail to publish and stay silent; every instance encoding megabytes it cannot
                # send would stall the worker, so say why instead
                limit = instance.connection.max_payload
                shared = fail(
                    StatusCode.INVALID_DATA,
                    f"Validation failed: a reply with {size} characters does not fit the broker's max_payload of {limit} bytes",
                )
            else:
                shared = ok({"message": generate(size)})
        decoded.shared[agent] = shared
    return shared


def _agent_inventory(instance: Instance) -> list[dict[str, Any]]:
    """go-choria ``AgentInventoryInfoReply``: ``agent`` then the metadata in Go's field order."""
    inventory = []
    for name in instance.layout.known_agents:
        meta = ddl.metadata(name)
        inventory.append({"agent": name, **{key: meta.get(key, "") for key in METADATA_KEYS}})
    return inventory


def _daemon_stats(instance: Instance) -> dict[str, Any]:
    """go-choria ``DaemonStatsReply`` key order, plus ``events`` from the newer DDL."""
    layout, worker = instance.layout, instance.worker
    counters = worker.counters
    slot = instance.slot
    return {
        "agents": list(layout.known_agents),
        "configfile": "",
        "filtered": counters.filtered[slot],
        "pid": os.getpid(),
        "passed": counters.passed[slot],
        "threads": [f"Python {platform.python_version()} emulating {len(worker.instances)} instances"],
        "replies": counters.replies[slot],
        "starttime": int(worker.started),
        "ttlexpired": counters.ttlexpired[slot],
        "times": {"cstime": 0, "cutime": 0, "stime": 0, "utime": 0},
        "total": counters.total[slot],
        "unvalidated": counters.unvalidated[slot],
        "validated": counters.validated[slot],
        "version": __version__,
        "events": counters.events[slot],
    }


def _inventory(instance: Instance) -> dict[str, Any]:
    """go-choria ``InventoryReply`` key order, plus ``upgradable`` from the newer DDL."""
    layout = instance.layout
    return {
        "agents": list(layout.known_agents),
        "classes": list(instance.classes),
        "collectives": list(layout.collectives),
        "data_plugins": [],
        "facts": instance.facts,
        "machines": [],
        "main_collective": layout.collectives[0],
        "version": __version__,
        "upgradable": False,
    }


def _string_input(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) and value else None


def _rpcutil_action(instance: Instance, action: str, data: dict[str, Any]) -> str:
    """The rpcutil actions with go-choria's reply shapes and status messages."""
    layout = instance.layout
    if action == "ping":
        return ok({"pong": int(time.time())})
    if action == "inventory":
        return ok(_inventory(instance))
    if action == "agent_inventory":
        return ok({"agents": _agent_inventory(instance)})
    if action == "collective_info":
        return ok({"main_collective": layout.collectives[0], "collectives": list(layout.collectives)})
    if action == "daemon_stats":
        return ok(_daemon_stats(instance))
    if action == "get_fact":
        fact = _string_input(data, "fact")
        if fact is None:
            return fail(StatusCode.MISSING_DATA, "Missing data for fact: a non-empty string is required")
        found, value = lookup_fact(instance.facts, fact)
        return ok({"fact": fact, "value": value if found else None})
    if action == "get_facts":
        names = _string_input(data, "facts")
        if names is None:
            return fail(StatusCode.MISSING_DATA, "Missing data for facts: a comma separated list of facts is required")
        values = {}
        for name in (n.strip() for n in names.split(",")):
            found, value = lookup_fact(instance.facts, name)
            values[name] = value if found else None
        return ok({"values": values})
    if action == "get_config_item":
        item = _string_input(data, "item")
        if item is None:
            return fail(StatusCode.MISSING_DATA, "Missing data for item: a non-empty string is required")
        config = instance.worker.config_items(instance)
        if item not in config:
            return fail(StatusCode.ABORTED, "Unknown key")
        return ok({"item": item, "value": config[item]})
    if action == "get_data":
        return fail(StatusCode.ABORTED, "Unknown data plugin")  # emulated nodes have no data plugins
    return fail(StatusCode.UNKNOWN_ACTION, f"Unknown action {action} for agent rpcutil")


def rpcutil(instance: Instance, decoded: DecodedRequest) -> str | None:
    error, body = _rpc_preamble(decoded, "rpcutil")
    if error is not None:
        return error
    return _rpcutil_action(instance, body.action, body.data)


def choria_util(instance: Instance, decoded: DecodedRequest) -> str | None:
    error, body = _rpc_preamble(decoded, "choria_util")
    if error is not None:
        return error
    if body.action == "info":
        return _choria_info(instance)
    # Emulated nodes run no Autonomous Agents: go-choria's answers for a server without machines
    if body.action == "machine_states":
        return ok({"machine_ids": [], "machine_names": [], "states": {}})
    if body.action == "machine_state":
        if not any(body.data.get(key) for key in ("name", "path", "instance")):
            return fail(StatusCode.ABORTED, "No search criteria given")
        return fail(StatusCode.ABORTED, "No running machines")
    if body.action == "machine_transition":
        return fail(
            StatusCode.ABORTED,
            f"Could not perform {body.data.get('transition', '')} transition: no machines are running",
        )
    return fail(StatusCode.UNKNOWN_ACTION, f"Unknown action {body.action} for agent choria_util")


def _choria_info(instance: Instance) -> str:
    """go-choria ``choria_util#info``, with the emulator's connection details."""
    worker = instance.worker
    config = worker.config
    connected = instance.connection.server.url if instance.connection is not None else ""
    slot = instance.slot
    servers = [str(s) for s in config.servers]
    return ok(
        {
            "security": "file" if config.secure else "insecure",
            "connector": "nats",
            "client_version": __version__,
            "client_flavour": f"choria-emulator natsproto python {platform.python_version()}",
            "client_options": {
                "servers": [s.url for s in config.servers],
                "dont_randomize_servers": True,
                "name": instance.identity,
                "pedantic": False,
                "secure": config.tls is not None,
                "allow_reconnect": True,
                "max_reconnect_attempts": -1,
                "reconnect_time_wait": RECONNECT_MAX,
                "connect_timeout": 10.0,
                "ping_interval": 0.0,
                "max_outstanding_pings": 0,
            },
            "client_stats": {
                "in_msgs": worker.counters.total[slot],
                "out_msgs": worker.counters.replies[slot] + worker.counters.registrations[slot],
                "in_bytes": 0,
                "out_bytes": 0,
                "reconnects": instance.reconnects,
            },
            "connected_server": connected,
            "facter_domain": "",
            "facter_command": "",
            "srv_domain": "",
            "using_srv": False,
            "middleware_servers": servers,
            "path": os.environ.get("PATH", ""),
            "choria_version": f"choria-emulator {__version__}",
            "secure_protocol": config.secure,
            "connector_tls": config.tls is not None,
        }
    )


ACTIONS = {
    "rpcutil": frozenset(
        {
            "ping",
            "inventory",
            "agent_inventory",
            "collective_info",
            "daemon_stats",
            "get_fact",
            "get_facts",
            "get_config_item",
            "get_data",
        }
    ),
    "choria_util": frozenset({"info", "machine_states", "machine_state", "machine_transition"}),
    "emulated": frozenset({"generate"}),
}


def known_action(agent: str, action: str) -> bool:
    """Whether ``agent`` implements ``action`` (go-choria audits only those)."""
    actions = ACTIONS.get("emulated" if agent.startswith("emulated") else agent)
    return actions is not None and action in actions


def handler_for(agent: str) -> Handler | None:
    if agent == "discovery":
        return discovery
    if agent == "rpcutil":
        return rpcutil
    if agent == "choria_util":
        return choria_util
    if agent.startswith("emulated") and agent[8:].isdigit():
        return emulated
    return None
