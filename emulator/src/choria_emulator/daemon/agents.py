"""The agents every emulated instance answers: discovery, rpcutil, choria_util, emulatedN.

Each is an :class:`~.registry.Agent` whose actions are handlers ``(ctx, request) -> reply``
(see :mod:`.registry` for the contract); :func:`build_registry` puts them, and any plug-in
agents, into the one registry a worker dispatches from. Bodies that are the same for every
instance (``pong``, ``emulatedN#generate``) are computed once per request and shared.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Iterable
from typing import Any

from .. import __version__, ddl
from ..protocol import StatusCode
from ..protocol.gjson import lookup_fact
from .config import RECONNECT_MAX
from .registry import Action, Agent, AgentContext, AgentRegistry, Reply, RequestView, fail, ok

GENERATE_DEFAULT_SIZE = 20
GENERATE_MAX_SIZE = 10 * 1024 * 1024
_DIGITS = "0123456789"


def generate(size: int) -> str:
    """``size`` characters of the repeating ``0123456789`` (protocol.md §4.3)."""
    return (_DIGITS * (size // 10 + 1))[:size]


def reply_bytes(size: int) -> int:
    """An upper bound of the transport bytes of a ``generate`` reply: base64 of the JSON layers around it."""
    return (size + 1024) * 4 // 3 + 512


# ---- discovery ----------------------------------------------------------------------------------


def _discovery(ctx: AgentContext, request: RequestView) -> Reply:
    """Go and E1: reply ``pong`` when the payload contains ``ping``; anything else gets no reply."""
    if b"ping" not in request.payload:
        return None
    return request.share("pong")


# ---- emulatedN ----------------------------------------------------------------------------------


def _generate(ctx: AgentContext, request: RequestView) -> Reply:
    size = request.data.get("size", GENERATE_DEFAULT_SIZE)
    if size is None:
        size = GENERATE_DEFAULT_SIZE
    if isinstance(size, bool) or not isinstance(size, int):
        return fail(StatusCode.INVALID_DATA, "Validation failed: size should be an integer")
    if not 0 <= size <= GENERATE_MAX_SIZE:
        return fail(StatusCode.INVALID_DATA, f"Validation failed: size should be between 0 and {GENERATE_MAX_SIZE}")
    limit = ctx.max_payload
    if reply_bytes(size) > limit:
        # Go would fail to publish and stay silent; every instance encoding megabytes it cannot
        # send would stall the worker, so say why instead
        return fail(
            StatusCode.INVALID_DATA,
            f"Validation failed: a reply with {size} characters does not fit the broker's max_payload of {limit} bytes",
        )
    return ok({"message": generate(size)})


def emulated_agent(name: str) -> Agent:
    """``emulatedN``: one ``generate`` action whose reply is the same for every instance."""
    return Agent(name, {"generate": Action(_generate, shared=True)}, metadata=ddl.metadata(name))


# ---- rpcutil ------------------------------------------------------------------------------------


def _string_input(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) and value else None


def _daemon_stats(ctx: AgentContext) -> dict[str, Any]:
    """go-choria ``DaemonStatsReply`` key order, plus ``events`` from the newer DDL."""
    counters, settings = ctx.counters(), ctx.settings
    return {
        "agents": list(ctx.known_agents),
        "configfile": "",
        "filtered": counters["filtered"],
        "pid": os.getpid(),
        "passed": counters["passed"],
        "threads": [f"Python {platform.python_version()} emulating {settings.instances} instances"],
        "replies": counters["replies"],
        "starttime": int(settings.started),
        "ttlexpired": counters["ttlexpired"],
        "times": {"cstime": 0, "cutime": 0, "stime": 0, "utime": 0},
        "total": counters["total"],
        "unvalidated": counters["unvalidated"],
        "validated": counters["validated"],
        "version": __version__,
        "events": counters["events"],
    }


def _inventory(ctx: AgentContext) -> dict[str, Any]:
    """go-choria ``InventoryReply`` key order, plus ``upgradable`` from the newer DDL."""
    return {
        "agents": list(ctx.known_agents),
        "classes": list(ctx.classes),
        "collectives": list(ctx.collectives),
        "data_plugins": [],
        "facts": ctx.facts,
        "machines": [],
        "main_collective": ctx.collectives[0],
        "version": __version__,
        "upgradable": False,
    }


def config_items(ctx: AgentContext) -> dict[str, Any]:
    """Values ``rpcutil#get_config_item`` can return: Choria's key names and Go's value types."""
    settings = ctx.settings
    return {
        "identity": ctx.identity,
        "collectives": list(ctx.collectives),
        "main_collective": ctx.collectives[0],
        "plugin.choria.middleware_hosts": list(settings.servers),
        "plugin.security.provider": "file" if settings.secure else "insecure",
        "classesfile": "",
        "registerinterval": int(settings.registration_interval),
        "registration_collective": ctx.collectives[0],
    }


def _get_fact(ctx: AgentContext, request: RequestView) -> Reply:
    fact = _string_input(request.data, "fact")
    if fact is None:
        return fail(StatusCode.MISSING_DATA, "Missing data for fact: a non-empty string is required")
    found, value = lookup_fact(ctx.facts, fact)
    return ok({"fact": fact, "value": value if found else None})


def _get_facts(ctx: AgentContext, request: RequestView) -> Reply:
    names = _string_input(request.data, "facts")
    if names is None:
        return fail(StatusCode.MISSING_DATA, "Missing data for facts: a comma separated list of facts is required")
    values = {}
    for name in (n.strip() for n in names.split(",")):
        found, value = lookup_fact(ctx.facts, name)
        values[name] = value if found else None
    return ok({"values": values})


MAX_FACT_NAMES = 32  # per rpcutil#get_facts request: each name costs a lookup on every instance


def _check_fact_names(data: dict[str, Any]) -> str | None:
    """Once per request: a list of names that would cost every instance too much is refused (issue 12)."""
    names = data.get("facts")
    if isinstance(names, str) and names.count(",") >= MAX_FACT_NAMES:
        return fail(
            StatusCode.INVALID_DATA,
            f"Validation failed: at most {MAX_FACT_NAMES} facts per request, got {names.count(',') + 1}",
        )
    return None


def _get_config_item(ctx: AgentContext, request: RequestView) -> Reply:
    item = _string_input(request.data, "item")
    if item is None:
        return fail(StatusCode.MISSING_DATA, "Missing data for item: a non-empty string is required")
    items = config_items(ctx)
    if item not in items:
        return fail(StatusCode.ABORTED, "Unknown key")
    return ok({"item": item, "value": items[item]})


RPCUTIL = {
    "ping": Action(lambda ctx, request: ok({"pong": int(time.time())})),
    "inventory": Action(lambda ctx, request: ok(_inventory(ctx))),
    "agent_inventory": Action(lambda ctx, request: ok({"agents": ctx.agent_inventory()})),
    "collective_info": Action(
        lambda ctx, request: ok({"main_collective": ctx.collectives[0], "collectives": list(ctx.collectives)})
    ),
    "daemon_stats": Action(lambda ctx, request: ok(_daemon_stats(ctx))),
    "get_fact": Action(_get_fact),
    "get_facts": Action(_get_facts, validate=_check_fact_names),
    "get_config_item": Action(_get_config_item),
    # emulated nodes have no data plugins
    "get_data": Action(lambda ctx, request: fail(StatusCode.ABORTED, "Unknown data plugin"), shared=True),
}


# ---- choria_util --------------------------------------------------------------------------------


def _choria_info(ctx: AgentContext, request: RequestView) -> Reply:
    """go-choria ``choria_util#info``, with the emulator's connection details."""
    settings = ctx.settings
    counters = ctx.counters()
    return ok(
        {
            "security": "file" if settings.secure else "insecure",
            "connector": "nats",
            "client_version": __version__,
            "client_flavour": f"choria-emulator natsproto python {platform.python_version()}",
            "client_options": {
                "servers": list(settings.server_urls),
                "dont_randomize_servers": True,
                "name": ctx.identity,
                "pedantic": False,
                "secure": settings.tls,
                "allow_reconnect": True,
                "max_reconnect_attempts": -1,
                "reconnect_time_wait": RECONNECT_MAX,
                "connect_timeout": 10.0,
                "ping_interval": 0.0,
                "max_outstanding_pings": 0,
            },
            "client_stats": {
                "in_msgs": counters["total"],
                "out_msgs": counters["replies"] + counters["registrations"],
                "in_bytes": 0,
                "out_bytes": 0,
                "reconnects": ctx.reconnects,
            },
            "connected_server": ctx.connected_url,
            "facter_domain": "",
            "facter_command": "",
            "srv_domain": "",
            "using_srv": False,
            "middleware_servers": list(settings.servers),
            "path": os.environ.get("PATH", ""),
            "choria_version": f"choria-emulator {__version__}",
            "secure_protocol": settings.secure,
            "connector_tls": settings.tls,
        }
    )


def _machine_state(ctx: AgentContext, request: RequestView) -> Reply:
    if not any(request.data.get(key) for key in ("name", "path", "instance")):
        return fail(StatusCode.ABORTED, "No search criteria given")
    return fail(StatusCode.ABORTED, "No running machines")


def _machine_transition(ctx: AgentContext, request: RequestView) -> Reply:
    transition = request.data.get("transition", "")
    return fail(StatusCode.ABORTED, f"Could not perform {transition} transition: no machines are running")


# Emulated nodes run no Autonomous Agents: go-choria's answers for a server without machines
CHORIA_UTIL = {
    "info": Action(_choria_info),
    "machine_states": Action(
        lambda ctx, request: ok({"machine_ids": [], "machine_names": [], "states": {}}), shared=True
    ),
    "machine_state": Action(_machine_state, shared=True),
    "machine_transition": Action(_machine_transition, shared=True),
}


# ---- the registry -------------------------------------------------------------------------------


def builtin_agents(emulated: int) -> list[Agent]:
    """discovery, rpcutil, choria_util, emulated0 … emulated{emulated-1}, in subscription order."""
    return [
        Agent("discovery", {}, metadata=ddl.metadata("discovery"), respond=_discovery),
        Agent("rpcutil", RPCUTIL, metadata=ddl.metadata("rpcutil")),
        Agent("choria_util", CHORIA_UTIL, metadata=ddl.metadata("choria_util")),
        *(emulated_agent(f"emulated{i}") for i in range(emulated)),
    ]


def build_registry(emulated: int, plugins: Iterable[Agent] = ()) -> AgentRegistry:
    """The registry of one emulator: the built-in agents, then the plug-ins in the order given."""
    return AgentRegistry([*builtin_agents(emulated), *plugins])
