"""MCollective RPC: one action on many nodes, with discovery, batching and per-node results."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..protocol import Filter, ProtocolError, RPCReply, RPCRequest
from .core import ChoriaClient, ReplyRecord, RequestOutcome
from .discovery import discover
from .spec import RequestSpec


@dataclass
class RPCStats:
    discovered: int = 0
    responded: int = 0
    ok: int = 0
    failed: int = 0
    noresponses: int = 0
    unexpected: int = 0
    publish_duration: float = 0.0
    request_duration: float = 0.0
    discovery_duration: float = 0.0

    @property
    def success(self) -> bool:
        """The Choria playbook rule: no failures, no missing nodes, at least one OK."""
        return self.failed == 0 and self.noresponses == 0 and self.ok > 0


@dataclass
class RPCResult:
    agent: str
    action: str
    requestid: str
    replies: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    stats: RPCStats = field(default_factory=RPCStats)

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "action": self.action,
            "requestid": self.requestid,
            "replies": self.replies,
            "missing": self.missing,
            "stats": {**self.stats.__dict__, "success": self.stats.success},
        }


def decode_body(message: str) -> tuple[int, str, Any]:
    """An RPC reply's statuscode, statusmsg and data (status 5 when it does not decode)."""
    try:
        body = RPCReply.decode(message)
        return body.statuscode, body.statusmsg, body.data
    except ProtocolError as exc:
        return 5, f"could not decode reply: {exc}", {}


def reply_dict(
    agent: str, action: str, record: ReplyRecord, requestid: str, bodies: dict[str, tuple[int, str, Any]] | None = None
) -> dict[str, Any]:
    """A reply as the Go client shows it: agent, action, sender, statuscode, statusmsg, data.

    ``bodies`` caches decoded message texts: the replies of one request are mostly identical, and a
    million of them are decoded once each (replies with the same text then share one ``data`` object).
    """
    decoded = bodies.get(record.message) if bodies is not None else None
    if decoded is None:
        decoded = decode_body(record.message)
        if bodies is not None:
            bodies[record.message] = decoded
    code, msg, data = decoded
    return {
        "agent": agent,
        "action": action,
        "sender": record.sender,
        "statuscode": code,
        "statusmsg": msg,
        "data": data,
        "requestid": requestid,
        "time_ms": round(record.elapsed * 1000, 3),
    }


async def rpc(
    client: ChoriaClient,
    agent: str,
    action: str,
    data: dict[str, Any] | None = None,
    *,
    targets: list[str] | None = None,
    filter: Filter | None = None,
    collective: str | None = None,
    directed: bool = True,
    batch_size: int | None = None,
    batch_sleep: float = 0.0,
    timeout: float = 10.0,
    discovery_timeout: float | None = None,
    on_reply: Callable[[ReplyRecord], None] | None = None,
    federation: str | None = None,
) -> RPCResult:
    """Call ``agent#action`` on ``targets`` (or on what ``filter`` discovers).

    Directed by default like the Go client: one publish per node. ``directed=False`` publishes
    once to the broadcast subject and counts the discovered nodes as expected. Batching
    implies directed requests.
    """
    stats = RPCStats()
    if targets is None:
        loop_start = _now()
        targets = await discover(
            client, filter, agent=agent, collective=collective, timeout=discovery_timeout, federation=federation
        )
        stats.discovery_duration = _now() - loop_start
    targets = list(dict.fromkeys(targets))
    stats.discovered = len(targets)
    body = RPCRequest(agent, action, dict(data or {})).encode()
    result = RPCResult(agent, action, "")
    if not targets:
        return result
    spec = RequestSpec(
        agent,
        body,
        collective=collective,
        filter=filter or Filter(),
        targets=tuple(targets),
        directed=directed or bool(batch_size),
        timeout=timeout,
        batch_size=batch_size,
        batch_sleep=batch_sleep,
        federation=federation,
    )
    outcome: RequestOutcome = await client.request(spec, on_reply)
    result.requestid = outcome.requestid
    seen: set[str] = set()
    bodies: dict[str, tuple[int, str, Any]] = {}
    for record in outcome.replies:
        if record.sender in seen:
            continue
        seen.add(record.sender)
        reply = reply_dict(agent, action, record, outcome.requestid, bodies)
        result.replies.append(reply)
        if reply["statuscode"] == 0:
            stats.ok += 1
        else:
            stats.failed += 1
    result.missing = outcome.missing
    stats.responded = len(seen)
    stats.noresponses = len(result.missing)
    stats.unexpected = len(set(outcome.unexpected))
    stats.publish_duration = outcome.publish_duration
    stats.request_duration = outcome.request_duration
    result.stats = stats
    return result


def _now() -> float:
    return time.monotonic()
