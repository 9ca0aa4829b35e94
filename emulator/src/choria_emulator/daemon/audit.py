"""``--audit PATTERN``: one JSON line per RPC request per instance, as Choria's JSON audit plugin.

Fields as go-choria's ``mcorpc/audit`` message: ``timestamp``, ``request_id``, ``request_time``,
``caller``, ``sender``, ``agent``, ``action``, ``data``. A ``%s`` in the pattern is replaced
by the instance identity (one file per instance, opened per write so 20,000 instances do not
hold 20,000 descriptors); without it every instance appends to one shared file.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TextIO

from ..protocol import gojson

if TYPE_CHECKING:
    from .instance import Instance
    from .requests import DecodedRequest

log = logging.getLogger(__name__)


class AuditLog:
    def __init__(self, pattern: str):
        self.pattern = pattern
        self.per_instance = "%s" in pattern
        self._shared: TextIO | None = None
        self.errors = 0

    def line(self, instance: Instance, decoded: DecodedRequest) -> str:
        request = decoded.request
        assert request is not None
        body = decoded.rpc_body()
        return gojson.dumps(
            {
                "timestamp": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
                "request_id": request.requestid,
                "request_time": request.time,
                "caller": request.callerid,
                "sender": request.senderid,
                "agent": request.agent,
                "action": body.action if body else "",
                "data": body.data if body else {},
                "identity": instance.identity,
            }
        ) + "\n"

    def record(self, instance: Instance, decoded: DecodedRequest) -> None:
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
