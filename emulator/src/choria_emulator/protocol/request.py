"""``choria:request:1``: the envelope that says who asks whom for what (protocol.md §2.4)."""

from __future__ import annotations

import re
import time as _time
import uuid
from dataclasses import field
from typing import Any

from ..compat import slotted_dataclass
from . import gobase64, gojson
from .errors import ProtocolError
from .filter import Filter

PROTOCOL = "choria:request:1"
DEFAULT_TTL = 60
MIN_TTL = 30  # the schema minimum go-choria daemons enforce
REQUIRED_FILTER_KEYS = {"fact", "cf_class", "identity", "compound"}
# go-choria CallerIdentity: Go's \w is ASCII, so the certname is too
_CALLERID_CERTNAME = re.compile(r"^[a-z]+=([\w\.\-]+)", re.ASCII)


def new_request_id() -> str:
    """32 lowercase hex characters, as go-choria makes them (uuid4 without dashes)."""
    return uuid.uuid4().hex


def decode_payload(message: str) -> bytes:
    """The agent payload as a Go daemon reads it: base64 if it decodes, else the raw text.

    Go discovery sends ``cGluZw==`` (base64 of ``ping``); JSON bodies never decode and pass through.
    """
    try:
        return gobase64.decode_std(message)
    except ValueError:
        return message.encode()


@slotted_dataclass
class Request:
    message: str
    senderid: str
    callerid: str
    collective: str
    agent: str
    requestid: str = field(default_factory=new_request_id)
    ttl: int = DEFAULT_TTL
    time: int = field(default_factory=lambda: int(_time.time()))
    filter: Filter = field(default_factory=Filter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": PROTOCOL,
            "message": self.message,
            "envelope": {
                "requestid": self.requestid,
                "senderid": self.senderid,
                "callerid": self.callerid,
                "collective": self.collective,
                "agent": self.agent,
                "ttl": self.ttl,
                "time": self.time,
                "filter": self.filter.to_dict(),
            },
        }

    def encode(self) -> str:
        """The JSON text that a secure request embeds as its ``message``."""
        return gojson.dumps(self.to_dict())

    @property
    def payload(self) -> bytes:
        return decode_payload(self.message)

    @property
    def certname(self) -> str | None:
        """The certname in ``callerid`` (``choria=rip.mcollective`` → ``rip.mcollective``)."""
        match = _CALLERID_CERTNAME.match(self.callerid)
        return match.group(1) if match else None

    def ttl_valid(self, now: float | None = None) -> bool:
        """go-choria's window: keep only if ``now - ttl < time < now + ttl``."""
        now = _time.time() if now is None else now
        return now - self.ttl < self.time < now + self.ttl

    @classmethod
    def decode(cls, raw: bytes | str) -> Request:
        """Decode and validate like a go-choria daemon: the checks of ``request.json`` (the copy
        go-choria embeds), then the types its Go structs need, so every request Go would drop is
        refused here with a :class:`ProtocolError` naming the field."""
        obj = gojson.loads_object(raw, "request", PROTOCOL)
        message = obj.get("message")
        if not isinstance(message, str) or not message:
            raise ProtocolError("request message is missing")
        env = obj.get("envelope")
        if not isinstance(env, dict):
            raise ProtocolError("request envelope is missing")
        strings = {}
        for key in ("requestid", "senderid", "callerid", "collective", "agent"):
            value = env.get(key)
            if not isinstance(value, str) or (not value and key != "senderid"):
                raise ProtocolError(f"request envelope {key} is missing")
            strings[key] = value
        if len(strings["requestid"]) != 32:
            raise ProtocolError("request envelope requestid must be 32 characters")
        ttl, sent = _int64(env.get("ttl")), _int64(env.get("time"))
        if ttl is None or ttl < MIN_TTL:
            raise ProtocolError(f"request envelope ttl must be an integer >= {MIN_TTL}")
        if sent is None:
            raise ProtocolError("request envelope time must be an integer")
        raw_filter = env.get("filter")
        if not isinstance(raw_filter, dict) or not REQUIRED_FILTER_KEYS <= raw_filter.keys():
            raise ProtocolError("request envelope filter needs fact, cf_class, identity and compound")
        return cls(
            message=message,
            ttl=ttl,
            time=sent,
            filter=Filter.from_dict(raw_filter, strict=True),
            **strings,
        )


def _int64(value: object) -> int | None:
    """The JSON integer a Go ``int``/``int64`` field accepts (no bools, no floats, in range), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None
