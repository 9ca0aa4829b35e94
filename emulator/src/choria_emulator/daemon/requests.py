"""Decode each request once per process, however many instances receive it.

A broadcast reaches every instance of a worker with the same bytes; the full v1 decode costs
~32 µs in CPython (DESIGN.md), so the decoded request, its security verdict and any reply
body that does not depend on the instance are cached by payload in a small LRU.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..protocol import ProtocolError, Request, RPCRequest, SecureRequest, Transport, gojson
from ..protocol.errors import SecurityError

if TYPE_CHECKING:
    from ..protocol.security import RequestVerifier

log = logging.getLogger(__name__)

OK, MALFORMED, UNVALIDATED = 0, 1, 2


class DecodedRequest:
    __slots__ = (
        "status",
        "error",
        "transport",
        "request",
        "payload",
        "reply_to",
        "federation_json",
        "filter_all",
        "rpc",
        "rpc_error",
        "shared",
        "templates",
    )

    def __init__(self) -> None:
        self.status = OK
        self.error = ""
        self.transport: Transport | None = None
        self.request: Request | None = None
        self.payload = b""
        self.reply_to: bytes | None = None
        self.federation_json = ""  # ',"federation":{...}}' to close the reply headers of a federated request
        self.filter_all: bool | None = None  # filter verdict when it is the same for every instance
        self.rpc: RPCRequest | None = None
        self.rpc_error = ""
        self.shared: dict[str, Any] = {}  # instance-independent reply bodies, by agent
        self.templates: dict[str, Any] = {}  # reply templates of the shared bodies, by body

    def rpc_body(self) -> RPCRequest | None:
        """The RPC body, parsed on first use (discovery requests never need it)."""
        if self.rpc is None and not self.rpc_error:
            try:
                self.rpc = RPCRequest.decode(self.payload)
            except ProtocolError as exc:
                self.rpc_error = str(exc)
        return self.rpc


def decode(raw: bytes, verifier: RequestVerifier | None) -> DecodedRequest:
    decoded = DecodedRequest()
    try:
        transport = Transport.decode(raw)
        secure = SecureRequest.decode(transport.data)
        request = Request.decode(secure.message)
    except ProtocolError as exc:
        decoded.status, decoded.error = MALFORMED, str(exc)
        return decoded
    decoded.transport, decoded.request = transport, request
    decoded.reply_to = transport.reply_to.encode() if transport.reply_to else None
    if transport.federation is not None:
        # go-choria copies the federation header into every reply (protocol.CopyFederationData):
        # the Federation Broker relays a reply by its req and reply-to.
        decoded.federation_json = ',"federation":%s}' % gojson.dumps(transport.federation.to_dict())
    decoded.payload = request.payload
    if verifier is not None:
        try:
            verifier.verify(secure, request)
        except SecurityError as exc:
            decoded.status, decoded.error = UNVALIDATED, str(exc)
    return decoded


class RequestCache:
    """An LRU of recent decodes keyed by the raw payload bytes, bounded in entries and in bytes.

    The byte bound keeps a stream of distinct near-max_payload requests from pinning
    hundreds of MiB per worker.
    """

    __slots__ = ("_items", "_limit", "_max_bytes", "_bytes", "_verifier")

    def __init__(self, verifier: RequestVerifier | None, limit: int = 256, max_bytes: int = 32 * 1024 * 1024):
        self._items: dict[bytes, DecodedRequest] = {}
        self._limit = limit
        self._max_bytes = max_bytes
        self._bytes = 0
        self._verifier = verifier

    def get(self, raw: bytes) -> DecodedRequest:
        items = self._items
        decoded = items.get(raw)
        if decoded is None:
            decoded = decode(raw, self._verifier)
            if decoded.status == MALFORMED:
                return decoded  # never cache garbage: a fuzzer must not evict real requests
            self._store(raw, decoded)
        return decoded

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
    def size_bytes(self) -> int:
        return self._bytes
