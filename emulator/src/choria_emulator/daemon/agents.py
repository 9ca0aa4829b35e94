"""The agents every emulated instance answers: discovery, rpcutil, choria_util, emulatedN.

A handler takes the instance and the decoded request and returns the reply ``message`` text,
or ``None`` for no reply. Bodies that are the same for every instance (``pong``,
``emulatedN#generate``) are computed once per request and shared.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Callable

from .. import __version__, ddl
from ..protocol import RPCReply, StatusCode
from ..protocol.filter import lookup_fact
from .requests import DecodedRequest

if TYPE_CHECKING:
    from .instance import Instance

Handler = Callable[["Instance", DecodedRequest], "str | None"]
GENERATE_DEFAULT_SIZE = 20
GENERATE_MAX_SIZE = 10 * 1024 * 1024
_DIGITS = "0123456789"


def generate(size: int) -> str:
    """``size`` characters of the repeating ``0123456789`` (protocol.md §4.3)."""
    return (_DIGITS * (size // 10 + 1))[:size]


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
                shared = fail(StatusCode.INVALID_DATA, f"Validation failed: size should be between 0 and {GENERATE_MAX_SIZE}")
            else:
                shared = ok({"message": generate(size)})
        decoded.shared[agent] = shared
    return shared


def _agent_inventory(instance: Instance) -> list[dict[str, Any]]:
    inventory = []
    for name in instance.layout.agents:
        meta = ddl.metadata(name)
        inventory.append({"agent": name, **meta})
    return inventory


def _rpcutil_action(instance: Instance, action: str, data: dict[str, Any]) -> str:
    layout = instance.layout
    if action == "ping":
        return ok({"pong": int(time.time())})
    if action == "inventory":
        return ok(
            {
                "agents": list(layout.agents),
                "facts": instance.facts,
                "classes": list(instance.classes),
                "version": __version__,
                "main_collective": layout.collectives[0],
                "collectives": list(layout.collectives),
                "data_plugins": [],
                "machines": {},
                "upgradable": False,
            }
        )
    if action == "agent_inventory":
        return ok({"agents": _agent_inventory(instance)})
    if action == "collective_info":
        return ok({"main_collective": layout.collectives[0], "collectives": list(layout.collectives)})
    if action == "daemon_stats":
        counters = instance.worker.counters.instance(instance.slot)
        for ours in ("malformed", "registrations"):
            counters.pop(ours, None)
        return ok(
            {
                "threads": [],
                "agents": list(layout.agents),
                "pid": os.getpid(),
                "times": {},
                "starttime": int(instance.worker.started),
                "configfile": "",
                "version": __version__,
                **counters,
            }
        )
    if action == "get_fact":
        fact = data.get("fact")
        if not isinstance(fact, str) or not fact:
            return fail(StatusCode.MISSING_DATA, "Missing data for fact")
        found, value = lookup_fact(instance.facts, fact)
        return ok({"fact": fact, "value": value if found else None})
    if action == "get_facts":
        names = data.get("facts")
        if not isinstance(names, str) or not names.strip():
            return fail(StatusCode.MISSING_DATA, "Missing data for facts")
        values = {}
        for name in (n.strip() for n in names.split(",")):
            found, value = lookup_fact(instance.facts, name)
            values[name] = value if found else None
        return ok({"values": values})
    if action == "get_config_item":
        item = data.get("item")
        if not isinstance(item, str) or not item:
            return fail(StatusCode.MISSING_DATA, "Missing data for item")
        config = instance.worker.config_items(instance)
        if item not in config:
            return fail(StatusCode.ABORTED, f"Unknown config property {item}")
        return ok({"item": item, "value": config[item]})
    if action == "get_data":
        return fail(StatusCode.ABORTED, f"Data plugin {data.get('source')} is not available on emulated nodes")
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
    if body.action != "info":
        return fail(StatusCode.UNKNOWN_ACTION, f"Unknown action {body.action} for agent choria_util")
    worker = instance.worker
    connected = instance.connection.server.url if instance.connection is not None else ""
    return ok(
        {
            "security": "file" if worker.config.secure else "insecure",
            "secure_protocol": worker.config.secure,
            "connector": "nats",
            "connector_tls": worker.config.tls is not None,
            "path": os.environ.get("PATH", ""),
            "choria_version": __version__,
            "client_version": __version__,
            "client_flavour": "choria-emulator",
            "client_options": {},
            "connected_server": connected,
            "client_stats": {},
            "facter_domain": "",
            "facter_command": "",
            "srv_domain": "",
            "using_srv": False,
            "middleware_servers": [str(s) for s in worker.config.servers],
        }
    )


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
