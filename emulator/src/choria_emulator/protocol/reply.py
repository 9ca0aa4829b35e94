"""``choria:reply:1``: a daemon's answer, addressed back by request id (protocol.md §2.5)."""

from __future__ import annotations

import time as _time
from dataclasses import field
from typing import Any

from ..compat import slotted_dataclass
from . import gojson
from .errors import ProtocolError

PROTOCOL = "choria:reply:1"


@slotted_dataclass
class Reply:
    message: str
    requestid: str
    senderid: str
    agent: str
    time: int = field(default_factory=lambda: int(_time.time()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": PROTOCOL,
            "message": self.message,
            "envelope": {
                "requestid": self.requestid,
                "senderid": self.senderid,
                "agent": self.agent,
                "time": self.time,
            },
        }

    def encode(self) -> str:
        """The JSON text that a secure reply embeds as its ``message``."""
        return gojson.dumps(self.to_dict())

    @classmethod
    def decode(cls, raw: bytes | str) -> Reply:
        obj = gojson.loads_object(raw, "reply", PROTOCOL)
        env = obj.get("envelope")
        message = obj.get("message")
        if not isinstance(env, dict) or not isinstance(message, str):
            raise ProtocolError("reply needs a message and an envelope")
        try:
            return cls(
                message=message,
                requestid=str(env["requestid"]),
                senderid=str(env["senderid"]),
                agent=str(env["agent"]),
                time=int(env.get("time", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"reply envelope is incomplete: {exc}") from None
