"""One request, its replies, and how long they took: the mechanism under discovery, ping and RPC.

Like the Go client: subscribe to the reply subject first, publish (once to the broadcast
subject, or once per node to ``<c>.node.<id>`` for directed requests, in batches if asked),
flush, then collect until every expected node answered, an ``expect`` count is reached, the
sliding window closes, or the timeout expires (protocol.md §5).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

import nats
from nats.errors import Error as NatsError

from ..errors import ChoriaEmulatorError
from ..protocol import ProtocolError, Request
from ..protocol.messages import (
    IncomingReply,
    broadcast_subject,
    decode_reply,
    encode_request,
    node_subject,
    reply_subject,
)
from ..protocol.transport import Federation
from .config import ClientConfig
from .spec import RequestSpec

log = logging.getLogger(__name__)
SLIDING_WINDOW = 0.3  # go-choria: finish 300 ms after the last reply
FEDERATION_BATCH = 200  # go-choria: node subjects per federated directed request


class ClientError(ChoriaEmulatorError):
    """A client operation failed in a way the user can act on (one clear line)."""


def describe_error(exc: BaseException) -> str:
    """A short reason for a failed connect: nats-py errors often have empty or generic texts."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {exc.verify_message or exc}"
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = str(exc).strip()
    return text or type(exc).__name__


def redact(url: str) -> str:
    """``nats://user:secret@host:port`` → ``nats://user:***@host:port`` for messages."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


@dataclass
class ReplyRecord:
    __slots__ = ("sender", "message", "elapsed", "reply")  # dataclass(slots=True) needs Python 3.10
    sender: str
    message: str
    elapsed: float  # seconds since the first publish
    reply: IncomingReply


@dataclass
class RequestOutcome:
    requestid: str
    agent: str
    collective: str
    targets: list[str] | None
    replies: list[ReplyRecord] = field(default_factory=list)
    publish_duration: float = 0.0
    request_duration: float = 0.0
    invalid: int = 0

    @property
    def senders(self) -> list[str]:
        return [r.sender for r in self.replies]

    @property
    def unexpected(self) -> list[str]:
        if self.targets is None:
            return []
        wanted = set(self.targets)
        return [s for s in self.senders if s not in wanted]

    @property
    def missing(self) -> list[str]:
        if self.targets is None:
            return []
        got = set(self.senders)
        return [t for t in self.targets if t not in got]


def batches(items: Sequence[str], size: int | None) -> Iterable[Sequence[str]]:
    if not size or size <= 0:
        yield items
        return
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ChoriaClient:
    """A connected Choria client. Use ``async with ChoriaClient(config) as client``."""

    def __init__(self, config: ClientConfig | None = None):
        self.config = config or ClientConfig.load()
        self.nc: Any = None
        self.signer = self.config.signer()

    async def __aenter__(self) -> ChoriaClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self, timeout: float = 5.0) -> None:
        """Connect once to the first broker that answers; fail with one line naming the reason.

        nats-py retries forever inside ``connect()`` when ``max_reconnect_attempts`` is 0, so
        every server gets two quick attempts and the last error it raised is reported.
        """
        config = self.config
        errors: list[BaseException] = []

        async def remember(exc: Exception) -> None:
            errors.append(exc)

        options: dict[str, Any] = {
            **config.nats_options(),
            "name": f"choria-emulator-client {config.identity}",
            "connect_timeout": timeout,
            "allow_reconnect": False,
            "max_reconnect_attempts": 1,
            "reconnect_time_wait": 0.1,
            "dont_randomize": True,
            "pending_size": 64 * 1024 * 1024,
            "error_cb": remember,
        }
        try:
            self.nc = await nats.connect(**options)
        except (OSError, NatsError, asyncio.TimeoutError) as exc:
            cause = errors[-1] if errors else exc
            raise ClientError(
                f"cannot connect to {', '.join(redact(s) for s in config.servers)}: {describe_error(cause)}"
            ) from None

    async def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            try:
                await self.nc.drain()
            except (NatsError, asyncio.TimeoutError, OSError):
                await self.nc.close()
        self.nc = None

    @property
    def connected_url(self) -> str:
        url = getattr(self.nc, "connected_url", None)
        return f"{url.scheme}://{url.hostname}:{url.port}" if url else ""

    def new_request(self, spec: RequestSpec) -> Request:
        """The protocol request for ``spec``, from this client's identity and settings."""
        return Request(
            message=spec.message,
            senderid=self.config.identity,
            callerid=self.config.callerid,
            collective=self.config.collective(spec.collective),
            agent=spec.agent,
            ttl=self.config.ttl,
            filter=spec.wire_filter(),
        )

    async def request(self, spec: RequestSpec, on_reply: Callable[[ReplyRecord], None] | None = None) -> RequestOutcome:
        """Publish one request and collect its replies; see the module docstring for when it stops."""
        if self.nc is None:
            raise ClientError("client is not connected")
        if spec.directed and not spec.targets:
            raise ClientError("a directed request needs target nodes")
        request = self.new_request(spec)
        reply_to = reply_subject(request.collective, request.callerid, request.requestid)
        collection = _Collection(spec, request, on_reply)
        loop = asyncio.get_running_loop()
        try:
            sub = await self.nc.subscribe(
                reply_to, cb=collection.on_message, pending_msgs_limit=1_000_000, pending_bytes_limit=1024 * 1024 * 1024
            )
            collection.start = loop.time()
            await self._publish(spec, request, reply_to)
            collection.outcome.publish_duration = loop.time() - collection.start
            await collection.wait()
            collection.outcome.request_duration = loop.time() - collection.start
            await sub.unsubscribe()
        except NatsError as exc:
            raise ClientError(f"request to {spec.agent} failed: {exc}") from None
        return collection.outcome

    async def _publish(self, spec: RequestSpec, request: Request, reply_to: str) -> None:
        """Publish ``request``: through a federation, once per target (directed), or once to the broadcast subject."""
        if spec.federation:
            await self._publish_federated(request, reply_to, spec.federation, spec.targets if spec.directed else None)
            return
        data = encode_request(request, reply_to, self.config.identity, self.signer, self.connected_url)
        if spec.directed:
            assert spec.targets is not None
            for number, batch in enumerate(batches(spec.targets, spec.batch_size)):
                if number and spec.batch_sleep:
                    await asyncio.sleep(spec.batch_sleep)
                for target in batch:
                    await self.nc.publish(node_subject(request.collective, target), data)
                await self.nc.flush()
        else:
            await self.nc.publish(broadcast_subject(request.collective, spec.agent), data)
            await self.nc.flush()

    async def _publish_federated(
        self, request: Request, reply_to: str, network: str, targets: Sequence[str] | None
    ) -> None:
        """Publish through the Federation Broker(s) of ``network`` (a comma list), like go-choria.

        The transport keeps our ``reply-to``; the ``federation`` header carries the request id
        and the subjects the broker publishes to on the collective side: the broadcast subject,
        or the node subjects of a directed request in groups of 200.
        """
        if targets:
            subjects = [node_subject(request.collective, t) for t in targets]
            groups = [subjects[i : i + FEDERATION_BATCH] for i in range(0, len(subjects), FEDERATION_BATCH)]
        else:
            groups = [[broadcast_subject(request.collective, request.agent)]]
        networks = [n.strip() for n in network.split(",") if n.strip()]  # go-choria: every federation in the list
        for group in groups:
            federation = Federation(request.requestid, "", group)
            data = encode_request(
                request, reply_to, self.config.identity, self.signer, self.connected_url, federation=federation
            )
            for name in networks:
                await self.nc.publish(f"choria.federation.{name}.federation", data)
        await self.nc.flush()


class _Collection:
    """The replies of one request as they arrive, and the rules that end the wait for more."""

    def __init__(self, spec: RequestSpec, request: Request, on_reply: Callable[[ReplyRecord], None] | None):
        self.spec = spec
        self.requestid = request.requestid
        self.on_reply = on_reply
        self.outcome = RequestOutcome(
            request.requestid, spec.agent, request.collective, list(spec.targets) if spec.targets is not None else None
        )
        self.pending = set(spec.targets) if spec.targets is not None else None
        self.done = asyncio.Event()
        self.wake = asyncio.Event()  # the waiter re-checks when set: on done, and on every reply with a sliding window
        self.last_reply = 0.0
        self.loop = asyncio.get_running_loop()
        self.start = self.loop.time()
        if self.pending is not None and not self.pending:
            self.done.set()

    async def on_message(self, msg: Any) -> None:
        now = self.loop.time()
        try:
            incoming = decode_reply(msg.data)
        except ProtocolError as exc:
            self.outcome.invalid += 1
            log.debug("dropping invalid reply: %s", exc)
            return
        if incoming.reply.requestid != self.requestid:
            self.outcome.invalid += 1
            return
        record = ReplyRecord(incoming.sender, incoming.reply.message, now - self.start, incoming)
        self.outcome.replies.append(record)
        self.last_reply = now
        if self.on_reply is not None:
            self.on_reply(record)
        if self.pending is not None:
            self.pending.discard(record.sender)
            if not self.pending:
                self.done.set()
        if self.spec.expect is not None and len(self.outcome.replies) >= self.spec.expect:
            self.done.set()
        if self.spec.sliding_window or self.done.is_set():
            self.wake.set()

    async def wait(self) -> None:
        """Until done, the timeout, or (sliding window) SLIDING_WINDOW s after the last reply."""
        deadline = self.start + self.spec.timeout
        while not self.done.is_set():
            now = self.loop.time()
            remaining = deadline - now
            if self.spec.sliding_window and self.last_reply:
                remaining = min(remaining, self.last_reply + SLIDING_WINDOW - now)
            if remaining <= 0:
                return
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), remaining)
            except asyncio.TimeoutError:
                continue  # recompute: the window or the deadline may have passed
