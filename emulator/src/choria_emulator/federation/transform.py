"""How a Federation Broker rewrites messages (go-choria ``broker/federation``), without I/O.

Request, federation side → collective side (``choria_request_transformer``): the client's
transport carries ``reply-to`` = its reply subject and ``federation`` = ``{req, target}``. The
broker keeps ``req``, moves the client's ``reply-to`` into ``federation.reply-to``, empties the
targets, sets ``reply-to`` to ``choria.federation.<NET>.collective`` and publishes the same bytes
to every target subject.

Reply, collective side → federation side (``choria_reply_transformer``): daemons copy the
``federation`` header into their replies, so the broker publishes each reply to
``federation.reply-to`` with the header removed (``SetUnfederated``).

Only the transport JSON is touched: ``data`` (the base64 secure request or reply) passes
through as the same string, so signatures and hashes stay valid and no base64 is decoded.
"""

from __future__ import annotations

from typing import Any

from ..protocol import ProtocolError, gojson
from ..protocol.transport import PROTOCOL, Federation

HEADER_ORDER = ("reply-to", "mc_sender", "seen-by", "federation")  # go-choria transportHeader field order


class FederationError(ProtocolError):
    """A message the broker cannot relay; the text says why (it is logged and counted)."""


def federation_subject(network: str) -> str:
    """Where clients publish requests for ``network``."""
    return f"choria.federation.{network}.federation"


def collective_subject(network: str) -> str:
    """Where daemons on the collective side publish their replies for ``network``."""
    return f"choria.federation.{network}.collective"


def valid_subject(subject: Any) -> bool:
    """A publishable NATS subject: non-empty tokens, no whitespace, no wildcards."""
    if not isinstance(subject, str) or not subject or len(subject) > 1024:
        return False
    if any(c.isspace() for c in subject):
        return False
    return all(token and token not in ("*", ">") for token in subject.split("."))


def _parse(raw: bytes) -> tuple[dict[str, Any], dict[str, Any], Federation]:
    try:
        obj = gojson.loads_object(raw, "transport")
    except ProtocolError as exc:
        raise FederationError(str(exc)) from None
    if obj.get("protocol") != PROTOCOL:
        raise FederationError(f"not a {PROTOCOL} message (protocol {obj.get('protocol')!r})")
    if not isinstance(obj.get("data"), str) or not obj["data"]:
        raise FederationError("transport data is missing")
    headers = obj.get("headers")
    if not isinstance(headers, dict):
        raise FederationError("transport headers are missing")
    raw_federation = headers.get("federation")
    if raw_federation is None:
        raise FederationError("message is not federated (no federation header)")
    try:
        federation = Federation.from_dict(raw_federation)
    except ProtocolError as exc:
        raise FederationError(str(exc)) from None
    if not federation.request_id:
        raise FederationError("message is not federated (no federation request id)")
    return obj, headers, federation


def _encode(obj: dict[str, Any], headers: dict[str, Any]) -> bytes:
    ordered = {key: headers[key] for key in HEADER_ORDER if key in headers}
    return gojson.dumps({"protocol": obj["protocol"], "data": obj["data"], "headers": ordered}).encode()


def _add_hop(headers: dict[str, Any], hop: tuple[str, str, str] | None) -> None:
    if hop is None:
        return
    seen = headers.get("seen-by")
    if not isinstance(seen, list):
        seen = []
    headers["seen-by"] = [*seen, list(hop)]


def request_for_collective(
    raw: bytes, network: str, hop: tuple[str, str, str] | None = None
) -> tuple[str, list[str], bytes]:
    """A federated request → (request id, target subjects, bytes to publish to each target)."""
    obj, headers, federation = _parse(raw)
    if not federation.targets:
        raise FederationError(f"request {federation.request_id} has no targets")
    bad = [t for t in federation.targets if not valid_subject(t)]
    if bad:
        raise FederationError(f"request {federation.request_id} has invalid target subject {bad[0]!r}")
    reply_to = headers.get("reply-to")
    if not reply_to:
        raise FederationError(f"request {federation.request_id} has no reply-to")
    if not valid_subject(reply_to):
        raise FederationError(f"request {federation.request_id} has an invalid reply-to {reply_to!r}")
    headers["reply-to"] = collective_subject(network)
    headers["federation"] = Federation(federation.request_id, reply_to, []).to_dict()
    _add_hop(headers, hop)
    return federation.request_id, federation.targets, _encode(obj, headers)


def reply_for_federation(raw: bytes, hop: tuple[str, str, str] | None = None) -> tuple[str, str, bytes]:
    """A daemon's reply → (request id, the client's reply subject, unfederated bytes)."""
    obj, headers, federation = _parse(raw)
    if not federation.reply_to:
        raise FederationError(f"reply to request {federation.request_id} has no federation reply-to")
    if not valid_subject(federation.reply_to):
        raise FederationError(
            f"reply to request {federation.request_id} has an invalid reply-to {federation.reply_to!r}"
        )
    del headers["federation"]
    _add_hop(headers, hop)
    return federation.request_id, federation.reply_to, _encode(obj, headers)
