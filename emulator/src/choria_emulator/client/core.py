"""One request, its replies, and how long they took: the mechanism under discovery, ping and RPC.

Like the Go client: subscribe to the reply subject first, publish (once to the broadcast
subject, or once per node to ``<c>.node.<id>`` for directed requests, in batches if asked),
flush, then collect until every expected node answered, an ``expect`` count is reached, the
sliding window closes, or the timeout expires (protocol.md §5). Requests are published on the
client's nats-py connection; replies arrive on its :class:`~.inbox.Inbox` and are read by a
:class:`~.collect.Collection`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Iterable, Sequence
from typing import Any, Callable
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError

from ..errors import ChoriaEmulatorError
from ..natsproto.auth import Credentials, CredentialsError
from ..natsproto.connection import ConnectOptions, PermanentConnectError, ServerAddress
from ..protocol import Request
from ..protocol.messages import broadcast_subject, encode_request, node_subject, reply_subject
from ..protocol.transport import Federation
from .collect import Collection, ReplyRecord, RequestOutcome
from .collectors import CollectorPool
from .config import ClientConfig, ClientConfigError
from .inbox import Inbox, InboxClosed
from .spec import RequestSpec

log = logging.getLogger(__name__)
FEDERATION_BATCH = 200  # go-choria: node subjects per federated directed request
BACKLOG_WARNING = 4 * 1024 * 1024  # bytes waiting unread in the reply socket that mean "falling behind"
COLLECTOR_QUEUE = "choria_emulator_collectors"  # the queue group that shares replies among collector processes


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
        self.nc: NatsClient | None = None
        self.inbox: Inbox | None = None
        self.collectors: CollectorPool | None = None
        self.warned_backlog = False
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
        await self._drop_inbox()
        if self.nc is not None and not self.nc.is_closed:
            try:
                await self.nc.drain()
            except (NatsError, asyncio.TimeoutError, OSError):
                await self.nc.close()
        self.nc = None

    @property
    def connection(self) -> NatsClient:
        """The nats-py connection; :class:`ClientError` before ``connect()`` and after ``close()``."""
        if self.nc is None:
            raise ClientError("client is not connected")
        return self.nc

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
        inbox = await self._open_inbox()
        pool = self.collectors
        collection = Collection(spec, request, on_reply)
        inbox.on_failure = collection.fail
        inbox.backlog = 0
        try:
            sid = await inbox.subscribe(reply_to, collection.take, queue=COLLECTOR_QUEUE if pool else None)
            if pool is not None:
                pool.on_batch, pool.on_failure = collection.take_batch, collection.fail
                await pool.subscribe(reply_to, COLLECTOR_QUEUE, spec.decode, request.requestid)
        except InboxClosed as exc:
            await self._drop_inbox()
            raise ClientError(f"request to {spec.agent} failed: the reply connection closed: {exc}") from None
        loop = asyncio.get_running_loop()
        outcome = collection.outcome
        try:
            collection.begin()
            await self._publish(spec, request, reply_to)
            outcome.publish_duration = loop.time() - collection.start
            await collection.wait()
            outcome.request_duration = loop.time() - collection.start
        except NatsError as exc:
            raise ClientError(f"request to {spec.agent} failed: {exc}") from None
        finally:
            inbox.unsubscribe(sid)
            inbox.on_failure = None
            outcome.backlog = inbox.backlog
            if inbox.backlog >= BACKLOG_WARNING and not self.warned_backlog:
                self.warned_backlog = True
                log.warning(
                    "replies arrived faster than this client read them: up to %.0f MiB waited unread in its socket "
                    "and the broker buffers more (it drops a client past max_pending, 64 MiB by default); "
                    "spread them with --collectors N (collectors=N)",
                    inbox.backlog / 1048576,
                )
            if pool is not None and not collection.failure:
                try:
                    await pool.unsubscribe()
                except InboxClosed as exc:
                    collection.fail(str(exc))
        if collection.failure:
            await self._drop_inbox()
            raise ClientError(
                f"request to {spec.agent} failed after {len(outcome.senders)} replies: {collection.failure}"
            )
        return outcome

    async def _open_inbox(self) -> Inbox:
        """The reply connection, opened on first use next to ``nc`` (same server, same credentials)."""
        if self.inbox is not None and self.inbox.connected:
            return self.inbox
        await self._drop_inbox()
        url = getattr(self.nc, "connected_url", None)
        if url is None:
            raise ClientError("client is not connected")
        config = self.config
        server = ServerAddress(
            url.hostname, url.port or 4222, url.scheme == "tls" or config.tls, url.username, url.password
        )
        try:
            credentials = Credentials.load(config.credentials) if config.credentials else None
            options = ConnectOptions(
                tls=config.ssl_context(),
                credentials=credentials,
                user=config.user,
                password=config.password,
                connect_timeout=5.0,
            )
        except (CredentialsError, ClientConfigError) as exc:
            raise ClientError(str(exc)) from None
        name = f"choria-emulator-client {config.identity}"
        inbox = Inbox(f"{name} replies", server, options)
        try:
            await inbox.connect()
            if config.collectors > 1:
                pool = CollectorPool(config.collectors - 1, server, options, name)
                await pool.start()
                self.collectors = pool
        except (OSError, asyncio.TimeoutError, PermanentConnectError) as exc:
            inbox.close()
            raise ClientError(f"cannot open the reply connection to {server}: {describe_error(exc)}") from None
        self.inbox = inbox
        return inbox

    async def _drop_inbox(self) -> None:
        """After a failed request: the next one opens fresh reply connections."""
        if self.inbox is not None:
            self.inbox.close()
            self.inbox = None
        if self.collectors is not None:
            pool, self.collectors = self.collectors, None
            await pool.aclose()

    async def _publish(self, spec: RequestSpec, request: Request, reply_to: str) -> None:
        """Publish ``request``: through a federation, once per target (directed), or once to the broadcast subject."""
        if spec.federation:
            await self._publish_federated(request, reply_to, spec.federation, spec.targets if spec.directed else None)
            return
        nc = self.connection
        data = encode_request(request, reply_to, self.config.identity, self.signer, self.connected_url)
        if spec.directed:
            assert spec.targets is not None
            for number, batch in enumerate(batches(spec.targets, spec.batch_size)):
                if number and spec.batch_sleep:
                    await asyncio.sleep(spec.batch_sleep)
                for target in batch:
                    await nc.publish(node_subject(request.collective, target), data)
                await nc.flush()
        else:
            await nc.publish(broadcast_subject(request.collective, spec.agent), data)
            await nc.flush()

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
        nc = self.connection
        for group in groups:
            federation = Federation(request.requestid, "", group)
            data = encode_request(
                request, reply_to, self.config.identity, self.signer, self.connected_url, federation=federation
            )
            for name in networks:
                await nc.publish(f"choria.federation.{name}.federation", data)
        await nc.flush()
