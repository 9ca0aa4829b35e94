"""Decode each request once per process, however many instances receive it.

A broadcast reaches every instance of a worker with the same bytes; the full v1 decode costs
~32 µs in CPython (docs/architecture.md, "The hot path of a request"), so the decoded request,
its security verdict and any reply body that does not depend on the instance are cached by
payload in a small LRU.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..natsproto.subjects import valid_subject
from ..protocol import ProtocolError, Request, RPCRequest, SecureRequest, Transport, gojson
from ..protocol.errors import SecurityError
from ..protocol.prepared import FilterRefused, PreparedFilter
from .replies import ReplyTemplate

if TYPE_CHECKING:
    from ..protocol.security import RequestVerifier
    from .instance import Instance, NodeKinds
    from .registry import Agent, AgentContext, Reply

log = logging.getLogger(__name__)

OK, MALFORMED, UNVALIDATED = 0, 1, 2


_UNSET: Any = object()


class DecodedRequest:
    """One request as every instance of a worker sees it: decoded, verified, and what it
    shares across instances (the filter verdict when it does not depend on the instance, the
    reply and its encoding template when they do not either). Only its own methods write it."""

    __slots__ = (
        "status",
        "error",
        "transport",
        "request",
        "payload",
        "reply_to",
        "federation_json",
        "rpc_error",
        "_rpc",
        "_verdict",
        "_plan",
        "_kinds",
        "_shared",
        "_template",
    )

    def __init__(self) -> None:
        self.status = OK
        self.error = ""
        self.transport: Transport | None = None
        self.request: Request | None = None
        self.payload = b""
        self.reply_to: bytes | None = None
        self.federation_json = ""  # ',"federation":{...}}' to close the reply headers of a federated request
        self.rpc_error = ""
        self._rpc: RPCRequest | None = None
        self._verdict: bool | None = None  # filter verdict when it is the same for every instance
        self._plan: PreparedFilter | None = None  # the filter, prepared at the first instance
        self._kinds: bytearray | None = None  # verdicts per node kind (facts, classes)
        self._shared: Reply = _UNSET  # the reply when it is the same for every instance
        self._template: ReplyTemplate | None = None  # the encoding template of that shared reply

    # ---- what handlers read (registry.RequestView) ---------------------------------------------
    def rpc_body(self) -> RPCRequest | None:
        """The RPC body, parsed on first use (discovery requests never need it)."""
        if self._rpc is None and not self.rpc_error:
            try:
                self._rpc = RPCRequest.decode(self.payload)
            except ProtocolError as exc:
                self.rpc_error = str(exc)
        return self._rpc

    @property
    def action(self) -> str:
        body = self.rpc_body()
        return body.action if body is not None else ""

    @property
    def data(self) -> dict[str, Any]:
        body = self.rpc_body()
        return body.data if body is not None else {}

    # ---- per instance ----------------------------------------------------------------------------
    def matches(self, node: Instance, kinds: NodeKinds) -> bool:
        """The request filter's verdict for ``node``, at a cost bounded per worker, not per instance.

        The filter is prepared once (:class:`~..protocol.prepared.PreparedFilter`); what does not
        depend on the instance is decided once, classes/facts/compound once per node kind, and
        only the identity test runs per instance. A filter over the limits or over this worker's
        work budget raises :class:`FilterRefused` (the worker drops and counts it).
        """
        verdict = self._verdict
        if verdict is not None:
            return verdict
        plan = self._plan
        if plan is None:
            plan = self._prepare(node, kinds)
            if self._verdict is not None:
                return self._verdict
        if plan.has_identity and not plan.identity_matches(node.identity):
            return False
        memo = self._kinds
        if memo is None:
            return True
        kind = kinds.kind_of[node.slot]
        known = memo[kind]
        if not known:
            known = memo[kind] = 2 if plan.kind_matches(node) else 1
        return known == 2

    def _prepare(self, node: Instance, kinds: NodeKinds) -> PreparedFilter:
        request = self.request
        assert request is not None  # only requests that decoded are matched
        plan = PreparedFilter(request.filter)
        if plan.empty:
            self._verdict = True
        elif not plan.agents_match(node.agents):  # the instances of a worker share their agents
            self._verdict = False
        elif not (plan.has_identity or plan.has_kind):
            self._verdict = True
        else:
            cost = plan.prepare_cost + len(kinds.kind_of) * plan.identity_cost
            if plan.has_kind:
                cost += kinds.count * plan.kind_cost + kinds.class_sets * plan.class_cost
            if cost > kinds.budget:
                raise FilterRefused(f"filter would cost {cost} work units in this worker; its budget is {kinds.budget}")
            if plan.has_kind:
                self._kinds = bytearray(kinds.count)  # 0 unknown, 1 no, 2 yes, per node kind
        self._plan = plan
        return plan

    def respond(self, agent: Agent, ctx: AgentContext) -> Reply:
        """``ctx``'s reply from ``agent``; a reply that the agent shared is reused as it is."""
        shared = self._shared
        if shared is not _UNSET:
            return shared
        return agent.respond(ctx, self)

    def share(self, reply: Reply) -> Reply:
        """Called by an agent: ``reply`` is every instance's reply to this request."""
        self._shared = reply
        return reply

    def encode_reply(self, message: str, identity_json: str, headers_json: str, now: int) -> bytes:
        """The transport bytes of one instance's reply; a shared message is templated once."""
        request = self.request
        assert request is not None
        if message is self._shared:
            template = self._template
            if template is None:
                template = self._template = ReplyTemplate(message, request.requestid, request.agent)
        else:
            template = ReplyTemplate(message, request.requestid, request.agent)
        if self.federation_json:
            headers_json = headers_json[:-1] + self.federation_json
        return template.encode(identity_json, headers_json, now)


def decode(raw: bytes, verifier: RequestVerifier | None) -> DecodedRequest:
    decoded = DecodedRequest()
    try:
        transport = Transport.decode(raw)
        secure = SecureRequest.decode(transport.data)
        request = Request.decode(secure.message)
    except ProtocolError as exc:
        decoded.status, decoded.error = MALFORMED, str(exc)
        return decoded
    reply_to = transport.reply_to
    if reply_to and not valid_subject(reply_to):
        # it goes into a PUB line: a CR/LF, space or 5,000 bytes there would speak NATS protocol
        # for every instance (issue 12); the header is outside the signature, so also in --secure
        decoded.status, decoded.error = MALFORMED, f"reply-to {reply_to[:64]!r} is not a NATS subject"
        return decoded
    decoded.transport, decoded.request = transport, request
    decoded.reply_to = reply_to.encode() if reply_to else None
    if transport.federation is not None:
        # go-choria copies the federation header into every reply (protocol.CopyFederationData):
        # the Federation Broker relays a reply by its req and reply-to.
        decoded.federation_json = ',"federation":' + gojson.dumps(transport.federation.to_dict()) + "}"
    decoded.payload = request.payload
    if verifier is not None:
        try:
            verifier.verify(secure, request)
        except SecurityError as exc:
            decoded.status, decoded.error = UNVALIDATED, str(exc)
    return decoded


class RequestCache:
    """Recent decodes keyed by the raw payload bytes, bounded in entries and in bytes, and a
    negative cache of recent garbage keyed by the payload's hash.

    A broadcast reaches every instance of a worker with the same bytes, so whatever it is, it
    is decoded once per worker: requests (valid or unvalidated) are kept whole, up to ``limit``
    entries and ``max_bytes`` (a stream of distinct near-max_payload requests must not pin
    hundreds of MiB); garbage only by its hash, ``garbage_limit`` of them in a ring, so a flood
    of distinct garbage costs no memory and never evicts real requests (issue 12: garbage was
    decoded again by every instance, at 9-111 us per delivery). ``hash(raw)`` is free there: the
    lookup in the request dict has just computed and cached it. Python salts bytes hashes per
    process, so nobody can make a valid request collide with garbage they sent before.
    """

    __slots__ = ("_items", "_limit", "_max_bytes", "_bytes", "_verifier", "_bad", "_ring", "_next", "decodes")

    def __init__(
        self,
        verifier: RequestVerifier | None,
        limit: int = 256,
        max_bytes: int = 32 * 1024 * 1024,
        garbage_limit: int = 16384,
    ):
        self._items: dict[bytes, DecodedRequest] = {}
        self._limit = limit
        self._max_bytes = max_bytes
        self._bytes = 0
        self._verifier = verifier
        self._bad: set[int] = set()
        self._ring: list[int | None] = [None] * garbage_limit
        self._next = 0
        self.decodes = 0  # full decodes done: what the caches saved is deliveries minus this

    def get(self, raw: bytes) -> DecodedRequest:
        decoded = self._items.get(raw)
        if decoded is not None:
            return decoded
        key = hash(raw)
        if key in self._bad:
            return _GARBAGE
        self.decodes += 1
        decoded = decode(raw, self._verifier)
        if decoded.status == MALFORMED:
            self._remember_garbage(key)
            return decoded
        self._store(raw, decoded)
        return decoded

    def _remember_garbage(self, key: int) -> None:
        ring, index = self._ring, self._next
        old = ring[index]
        if old is not None:
            self._bad.discard(old)
        ring[index] = key
        self._bad.add(key)
        self._next = (index + 1) % len(ring)

    def poison(self, raw: bytes) -> bool:
        """Mark a request that raised while being handled as malformed for every instance.

        Returns True when it had decoded fine (so the caller had counted it as validated).
        """
        decoded = self._items.get(raw)
        if decoded is None:
            decoded = DecodedRequest()
            self._store(raw, decoded)
            decoded.status = MALFORMED
        was_ok = decoded.status == OK
        decoded.status, decoded.error = MALFORMED, "request raised while being handled"
        return was_ok

    def _store(self, raw: bytes, decoded: DecodedRequest) -> None:
        items = self._items
        while items and (len(items) >= self._limit or self._bytes + len(raw) > self._max_bytes):
            oldest = next(iter(items))
            del items[oldest]
            self._bytes -= len(oldest)
        items[raw] = decoded
        self._bytes += len(raw)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def garbage(self) -> int:
        """Distinct garbage payloads remembered."""
        return len(self._bad)

    @property
    def size_bytes(self) -> int:
        return self._bytes


_GARBAGE = DecodedRequest()
_GARBAGE.status, _GARBAGE.error = MALFORMED, "garbage seen before"
