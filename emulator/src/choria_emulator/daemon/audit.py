"""``--audit PATTERN``: one JSON line per RPC request per instance, as Choria's JSON audit plugin.

Fields and their order as go-choria's ``mcorpc/audit`` message: ``timestamp`` (UTC,
``2006-01-02T15:04:05.000000-0700``), ``request_id``, ``request_time``, ``caller``, ``sender``,
``agent``, ``action``, ``data``; like go-choria only requests for an action the agent has are
audited. A ``%s`` in the pattern is replaced by the instance identity (one file per instance,
opened per write so 20,000 instances do not hold 20,000 descriptors); without it every
instance appends to one shared file, and each line also carries the instance's ``identity``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TextIO

from ..protocol import gojson

if TYPE_CHECKING:
    from .instance import Instance
    from .registry import AgentRegistry
    from .requests import DecodedRequest

log = logging.getLogger(__name__)


class AuditLog:
    def __init__(self, pattern: str, registry: AgentRegistry):
        self.pattern = pattern
        self.registry = registry
        self.per_instance = "%s" in pattern
        self._shared: TextIO | None = None
        self.errors = 0
        self._last: DecodedRequest | None = None  # the request whose fields _fields holds
        self._fields = ""

    def line(self, instance: Instance, decoded: DecodedRequest) -> str:
        request, body = decoded.request, decoded.rpc_body()
        assert request is not None and body is not None
        if self._last is not decoded:  # what every instance writes alike is encoded once per request
            fields = gojson.dumps(
                {
                    "request_id": request.requestid,
                    "request_time": request.time,
                    "caller": request.callerid,
                    "sender": request.senderid,
                    "agent": request.agent,
                    "action": body.action,
                    "data": body.data,
                }
            )
            self._last, self._fields = decoded, fields[1:-1]
        timestamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f%z")
        identity = "" if self.per_instance else ',"identity":' + gojson.dumps(instance.identity)  # who handled it
        return '{"timestamp":"' + timestamp + '",' + self._fields + identity + "}\n"

    def record(self, instance: Instance, decoded: DecodedRequest) -> None:
        """Append the audit line, if the request is for an action its agent has."""
        body = decoded.rpc_body()
        if (
            body is None
            or decoded.request is None
            or not self.registry.known_action(decoded.request.agent, body.action)
        ):
            return
        try:
            text = self.line(instance, decoded)
            if self.per_instance:
                with open(self.pattern.replace("%s", instance.identity), "a") as fh:
                    fh.write(text)
            else:
                if self._shared is None:
                    self._shared = open(self.pattern, "a", buffering=1)
                self._shared.write(text)
        except OSError as exc:
            self.errors += 1
            if self.errors in (1, 100) or self.errors % 10000 == 0:
                log.warning("cannot write audit log %s: %s (%d errors)", self.pattern, exc, self.errors)
