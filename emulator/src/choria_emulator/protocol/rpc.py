"""MCollective RPC bodies, the payload inside a request or reply ``message`` (protocol.md §2.7)."""

from __future__ import annotations

import json
from dataclasses import field
from enum import IntEnum
from typing import Any

from ..compat import slotted_dataclass
from . import gojson
from .errors import ProtocolError


class StatusCode(IntEnum):
    OK = 0
    ABORTED = 1
    UNKNOWN_ACTION = 2
    MISSING_DATA = 3
    INVALID_DATA = 4
    UNKNOWN_ERROR = 5


STATUS_MESSAGES = {
    StatusCode.OK: "OK",
    StatusCode.ABORTED: "Aborted",
    StatusCode.UNKNOWN_ACTION: "Unknown Action",
    StatusCode.MISSING_DATA: "Missing Data",
    StatusCode.INVALID_DATA: "Invalid Data",
    StatusCode.UNKNOWN_ERROR: "Unknown Error",
}


@slotted_dataclass
class RPCRequest:
    """``{"agent","action","data"}``; Ruby ``mco`` adds ``caller`` and ``data.process_results``."""

    agent: str
    action: str
    data: dict[str, Any] = field(default_factory=dict)
    caller: str | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"agent": self.agent, "action": self.action, "data": self.data}
        if self.caller:
            body["caller"] = self.caller
        return body

    def encode(self) -> str:
        return gojson.dumps(self.to_dict())

    @property
    def process_results(self) -> bool:
        """Ruby's fire-and-forget flag; Go daemons drop it from ``data``."""
        return self.data.get("process_results", True) is not False

    @classmethod
    def decode(cls, raw: bytes | str) -> RPCRequest:
        obj = gojson.loads_object(raw, "rpc request")
        agent, action, data = obj.get("agent"), obj.get("action"), obj.get("data", {})
        if not isinstance(agent, str) or not isinstance(action, str):
            raise ProtocolError("rpc request needs agent and action strings")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ProtocolError("rpc request data must be an object")
        caller = obj.get("caller")
        return cls(agent, action, data, caller if isinstance(caller, str) else None)


@slotted_dataclass
class RPCReply:
    statuscode: int = StatusCode.OK
    statusmsg: str = "OK"
    data: Any = field(default_factory=dict)
    action: str | None = None

    @property
    def ok(self) -> bool:
        return self.statuscode == StatusCode.OK

    @classmethod
    def error(cls, code: StatusCode, message: str, action: str | None = None) -> RPCReply:
        return cls(int(code), message, {}, action)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.action is not None:
            body["action"] = self.action
        body.update(statuscode=int(self.statuscode), statusmsg=self.statusmsg, data=self.data)
        return body

    def encode(self) -> str:
        return gojson.dumps(self.to_dict())

    @classmethod
    def decode(cls, raw: bytes | str) -> RPCReply:
        obj = gojson.loads_object(raw, "rpc reply")
        code = obj.get("statuscode")
        if not isinstance(code, int) or isinstance(code, bool):
            raise ProtocolError("rpc reply statuscode must be an integer")
        action = obj.get("action")
        return cls(
            code, str(obj.get("statusmsg", "")), obj.get("data", {}), action if isinstance(action, str) else None
        )


def parse_reply_payload(message: str) -> Any:
    """Like the Ruby client: JSON if it parses, else the raw string (so ``pong`` works)."""
    try:
        return json.loads(message)
    except ValueError:
        return message
