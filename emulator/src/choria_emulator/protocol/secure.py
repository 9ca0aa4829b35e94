"""``choria:secure:request:1`` and ``choria:secure:reply:1`` (protocol.md §2.2, §2.3).

Both carry the inner message as JSON *text* (not base64, whatever the schema says).
Requests carry a signature and the caller's certificate, or ``insecure`` in both;
replies are never signed, only hashed with SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from ..compat import slotted_dataclass
from . import gojson
from .errors import ProtocolError

REQUEST_PROTOCOL = "choria:secure:request:1"
REPLY_PROTOCOL = "choria:secure:reply:1"
INSECURE = "insecure"
INSECURE_REGISTRATION = "insecure registration"


def message_hash(message: str) -> str:
    """``base64(sha256(message))``: the integrity hash of a secure reply."""
    return base64.b64encode(hashlib.sha256(message.encode()).digest()).decode("ascii")


@slotted_dataclass
class SecureRequest:
    message: str
    signature: str = INSECURE
    pubcert: str = INSECURE

    @property
    def insecure(self) -> bool:
        return self.signature == INSECURE or self.pubcert == INSECURE

    def to_dict(self) -> dict[str, str]:
        return {
            "protocol": REQUEST_PROTOCOL,
            "message": self.message,
            "signature": self.signature,
            "pubcert": self.pubcert,
        }

    def encode(self) -> bytes:
        return gojson.dumps(self.to_dict()).encode()

    @classmethod
    def decode(cls, raw: bytes | str) -> SecureRequest:
        obj = gojson.loads_object(raw, "secure request", REQUEST_PROTOCOL)
        message, signature, pubcert = obj.get("message"), obj.get("signature"), obj.get("pubcert")
        if not isinstance(message, str) or not message:
            raise ProtocolError("secure request message is missing")
        if not isinstance(signature, str) or not signature or not isinstance(pubcert, str) or not pubcert:
            raise ProtocolError("secure request signature and pubcert must be non-empty strings")
        return cls(message, signature, pubcert)


def insecure_registration(message: str) -> SecureRequest:
    """What go-choria sends to ``registration`` when it has no certificate to sign with."""
    return SecureRequest(message, base64.b64encode(INSECURE_REGISTRATION.encode()).decode(), INSECURE_REGISTRATION)


@slotted_dataclass
class SecureReply:
    message: str
    hash: str

    @classmethod
    def for_message(cls, message: str) -> SecureReply:
        return cls(message, message_hash(message))

    def verify(self) -> bool:
        return hmac.compare_digest(self.hash, message_hash(self.message))

    def to_dict(self) -> dict[str, str]:
        return {"protocol": REPLY_PROTOCOL, "message": self.message, "hash": self.hash}

    def encode(self) -> bytes:
        return gojson.dumps(self.to_dict()).encode()

    @classmethod
    def decode(cls, raw: bytes | str) -> SecureReply:
        obj = gojson.loads_object(raw, "secure reply", REPLY_PROTOCOL)
        message, digest = obj.get("message"), obj.get("hash")
        if not isinstance(message, str) or not isinstance(digest, str):
            raise ProtocolError("secure reply message and hash must be strings")
        return cls(message, digest)
