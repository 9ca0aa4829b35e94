"""``choria:transport:1``: the outermost layer, the bytes published on NATS (protocol.md §2.1)."""

from __future__ import annotations

import base64
from dataclasses import field
from typing import Any

from ..compat import slotted_dataclass
from . import gobase64, gojson
from .errors import ProtocolError

PROTOCOL = "choria:transport:1"


@slotted_dataclass
class Federation:
    """The ``federation`` header of federated networks.

    go-choria writes the targets under ``target``; the published schema says ``targets``
    (protocol.md §6). We write ``target`` like the code and read either.
    """

    request_id: str
    reply_to: str
    targets: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}  # Go: every field omitempty, in this order
        if self.request_id:
            data["req"] = self.request_id
        if self.reply_to:
            data["reply-to"] = self.reply_to
        if self.targets:
            data["target"] = list(self.targets)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Federation:
        if not isinstance(data, dict):
            raise ProtocolError("transport federation header is not an object")
        targets = data.get("target", data.get("targets")) or []
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise ProtocolError("transport federation targets must be a list of strings")
        return cls(str(data.get("req", "")), str(data.get("reply-to", "")), list(targets))


@slotted_dataclass
class Transport:
    """A transport message; ``data`` holds the raw JSON bytes of the secure request or reply."""

    data: bytes
    reply_to: str | None = None
    sender: str | None = None
    seen_by: list[list[str]] = field(default_factory=list)
    federation: Federation | None = None

    def headers(self) -> dict[str, Any]:
        headers: dict[str, Any] = {}
        if self.reply_to:
            headers["reply-to"] = self.reply_to
        if self.sender:
            headers["mc_sender"] = self.sender
        if self.seen_by:
            headers["seen-by"] = self.seen_by
        if self.federation is not None:
            headers["federation"] = self.federation.to_dict()
        return headers

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": PROTOCOL,
            "data": base64.b64encode(self.data).decode("ascii"),
            "headers": self.headers(),
        }

    def encode(self) -> bytes:
        return gojson.dumps(self.to_dict()).encode()

    def record_hop(self, connected_url: str, identity: str) -> None:
        """Append this publisher to ``seen-by`` the way go-choria does on every publish."""
        self.seen_by.append([connected_url, identity, connected_url])

    @classmethod
    def decode(cls, raw: bytes | str) -> Transport:
        obj = gojson.loads_object(raw, "transport", PROTOCOL)
        data = obj.get("data")
        if not isinstance(data, str) or not data:
            raise ProtocolError("transport data is missing")
        try:
            payload = gobase64.decode_std(data)  # Ruby wraps at 60 columns
        except ValueError:
            raise ProtocolError("transport data is not valid base64") from None
        headers = obj.get("headers") or {}
        if not isinstance(headers, dict):
            raise ProtocolError("transport headers is not an object")
        reply_to = headers.get("reply-to")
        sender = headers.get("mc_sender")
        seen_by = headers.get("seen-by") or []
        if reply_to is not None and not isinstance(reply_to, str):
            raise ProtocolError("transport reply-to is not a string")
        if sender is not None and not isinstance(sender, str):
            raise ProtocolError("transport mc_sender is not a string")
        if not isinstance(seen_by, list):
            raise ProtocolError("transport seen-by is not a list")
        federation = headers.get("federation")
        return cls(
            data=payload,
            reply_to=reply_to or None,
            sender=sender or None,
            seen_by=seen_by,
            federation=Federation.from_dict(federation) if federation is not None else None,
        )
