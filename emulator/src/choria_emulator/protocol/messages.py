"""Whole messages: the nesting of transport, secure and inner layers in both directions.

The constructors the client and the daemon share (go-choria ``protocol/v1/constructors.go``).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from ..compat import slotted_dataclass
from .errors import ProtocolError
from .reply import Reply
from .request import Request
from .secure import SecureReply, SecureRequest
from .transport import Federation, Transport

if TYPE_CHECKING:
    from .security import Signer


def reply_subject(collective: str, callerid: str, requestid: str) -> str:
    """The modern Go client's reply subject: ``<c>.reply.<md5hex(callerid)>.<requestid>``."""
    return f"{collective}.reply.{hashlib.md5(callerid.encode()).hexdigest()}.{requestid}"


def broadcast_subject(collective: str, agent: str) -> str:
    return f"{collective}.broadcast.agent.{agent}"


def node_subject(collective: str, identity: str) -> str:
    return f"{collective}.node.{identity}"


def encode_request(
    request: Request,
    reply_to: str | None,
    sender: str,
    signer: Signer | None = None,
    seen_by_url: str | None = None,
    federation: Federation | None = None,
) -> bytes:
    """Request → secure request (signed or insecure) → transport bytes."""
    message = request.encode()
    secure = signer.secure(message, request.agent) if signer is not None else SecureRequest(message)
    return _published(
        Transport(secure.encode(), reply_to=reply_to, sender=sender, federation=federation), sender, seen_by_url
    )


@slotted_dataclass
class IncomingRequest:
    transport: Transport
    secure: SecureRequest
    request: Request


def decode_request(raw: bytes | str) -> IncomingRequest:
    transport = Transport.decode(raw)
    secure = SecureRequest.decode(transport.data)
    return IncomingRequest(transport, secure, Request.decode(secure.message))


def encode_reply(reply: Reply, sender: str, seen_by_url: str | None = None) -> bytes:
    """Reply → hashed secure reply → transport bytes (no ``reply-to`` on replies)."""
    return _published(Transport(SecureReply.for_message(reply.encode()).encode(), sender=sender), sender, seen_by_url)


def _published(transport: Transport, sender: str, seen_by_url: str | None) -> bytes:
    """The transport's bytes, with the sender's hop in ``seen-by`` when its connection is known."""
    if seen_by_url:
        transport.record_hop(seen_by_url, sender)
    return transport.encode()


@slotted_dataclass
class IncomingReply:
    transport: Transport
    secure: SecureReply
    reply: Reply

    @property
    def sender(self) -> str:
        """Who answered: ``mc_sender`` like Go discovery, else the envelope sender."""
        return self.transport.sender or self.reply.senderid


def decode_reply(raw: bytes | str, verify_hash: bool = True) -> IncomingReply:
    transport = Transport.decode(raw)
    secure = SecureReply.decode(transport.data)
    if verify_hash and not secure.verify():
        raise ProtocolError("secure reply hash does not match its message")
    return IncomingReply(transport, secure, Reply.decode(secure.message))
