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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

import nats
from nats.errors import Error as NatsError

from ..errors import ChoriaEmulatorError
from ..protocol import Filter, ProtocolError, Request
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


@dataclass(slots=True)
class ReplyRecord:
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


def batches(items: list[str], size: int | None) -> Iterable[list[str]]:
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

    def new_request(self, agent: str, message: str, collective: str | None, filt: Filter | None) -> Request:
        return Request(
            message=message,
            senderid=self.config.identity,
            callerid=self.config.callerid,
            collective=self.config.collective(collective),
            agent=agent,
            ttl=self.config.ttl,
            filter=filt or Filter(),
        )

    async def request(
        self,
        agent: str,
        message: str,
        *,
        collective: str | None = None,
        filter: Filter | None = None,
        targets: list[str] | None = None,
        directed: bool = False,
        timeout: float = 10.0,
        expect: int | None = None,
        sliding_window: bool = False,
        batch_size: int | None = None,
        batch_sleep: float = 0.0,
        on_reply: Callable[[ReplyRecord], None] | None = None,
        federation: str | None = None,
    ) -> RequestOutcome:
        """Publish one request and collect its replies; see the module docstring for when it stops."""
        if self.nc is None:
            raise ClientError("client is not connected")
        if directed and not targets:
            raise ClientError("a directed request needs target nodes")
        request = self.new_request(agent, message, collective, filter)
        reply_to = reply_subject(request.collective, request.callerid, request.requestid)
        outcome = RequestOutcome(
            request.requestid, agent, request.collective, list(targets) if targets is not None else None
        )
        pending = set(targets) if targets is not None else None
        done = asyncio.Event()
        wake = asyncio.Event()  # the waiter re-checks when set: on done, and on every reply with a sliding window
        last_reply = [0.0]
        loop = asyncio.get_running_loop()
        start = [loop.time()]

        async def collect(msg: Any) -> None:
            now = loop.time()
            try:
                incoming = decode_reply(msg.data)
            except ProtocolError as exc:
                outcome.invalid += 1
                log.debug("dropping invalid reply: %s", exc)
                return
            if incoming.reply.requestid != request.requestid:
                outcome.invalid += 1
                return
            record = ReplyRecord(incoming.sender, incoming.reply.message, now - start[0], incoming)
            outcome.replies.append(record)
            last_reply[0] = now
            if on_reply is not None:
                on_reply(record)
            if pending is not None:
                pending.discard(record.sender)
                if not pending:
                    done.set()
            if expect is not None and len(outcome.replies) >= expect:
                done.set()
            if sliding_window or done.is_set():
                wake.set()

        try:
            sub = await self.nc.subscribe(
                reply_to, cb=collect, pending_msgs_limit=1_000_000, pending_bytes_limit=1024 * 1024 * 1024
            )
            if (directed or targets is not None) and agent != "discovery":
                request.filter.add_agent(agent)  # directed requests always carry their agent
            start[0] = loop.time()
            if federation:
                await self._publish_federated(request, reply_to, federation, targets if directed else None)
            elif directed:
                assert targets is not None
                data = encode_request(request, reply_to, self.config.identity, self.signer, self.connected_url)
                for number, batch in enumerate(batches(targets, batch_size)):
                    if number and batch_sleep:
                        await asyncio.sleep(batch_sleep)
                    for target in batch:
                        await self.nc.publish(node_subject(request.collective, target), data)
                    await self.nc.flush()
            else:
                data = encode_request(request, reply_to, self.config.identity, self.signer, self.connected_url)
                await self.nc.publish(broadcast_subject(request.collective, agent), data)
                await self.nc.flush()
            outcome.publish_duration = loop.time() - start[0]
            if pending is not None and not pending:
                done.set()
            await self._wait(done, wake, timeout, sliding_window, last_reply, start[0])
            outcome.request_duration = loop.time() - start[0]
            await sub.unsubscribe()
        except NatsError as exc:
            raise ClientError(f"request to {agent} failed: {exc}") from None
        return outcome

    async def _publish_federated(
        self, request: Request, reply_to: str, network: str, targets: list[str] | None
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

    @staticmethod
    async def _wait(
        done: asyncio.Event, wake: asyncio.Event, timeout: float, sliding: bool, last_reply: list[float], start: float
    ) -> None:
        """Until ``done``, the timeout, or (sliding window) SLIDING_WINDOW s after the last reply."""
        loop = asyncio.get_running_loop()
        deadline = start + timeout
        while not done.is_set():
            now = loop.time()
            remaining = deadline - now
            if sliding and last_reply[0]:
                remaining = min(remaining, last_reply[0] + SLIDING_WINDOW - now)
            if remaining <= 0:
                return
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), remaining)
            except asyncio.TimeoutError:
                continue  # recompute: the window or the deadline may have passed
