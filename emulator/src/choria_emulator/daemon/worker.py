"""A worker process: a slice of the instances on one event loop.

The worker connects its instances through a bounded pool of connector tasks, reconnects them
with backoff and jitter when the broker goes away, dispatches every message (decode once,
filter, TTL, agent, reply) and reports its counters to the supervisor.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
import signal
import ssl
import time
from typing import TYPE_CHECKING, Any, Callable

from .. import __version__
from ..natsproto import NatsConnection, NatsProtocolError, PermanentConnectError
from ..natsproto.auth import CredentialsError
from ..protocol import ProtocolError
from . import audit as audit_log
from .agents import build_registry
from .config import RECONNECT_MAX, RECONNECT_MIN, EmulatorConfig
from .facts import FactsTemplate
from .instance import Instance, Layout, NodeKinds
from .lifecycle import Lifecycle
from .registration import Registrar
from .registry import Later, NodeSettings
from .requests import MALFORMED, DecodedRequest, RequestCache
from .stats import Counters, release_memory, rss_bytes
from .timers import TimerHeap

if TYPE_CHECKING:
    import socket
    from multiprocessing.connection import Connection

    from .registry import AgentContext

Report = Callable[[dict[str, Any]], None]  # hands a snapshot to the supervisor
log = logging.getLogger("choria_emulator.worker")

STATS_EVERY = 1.0
TRIM_AFTER = 100_000  # messages handled since the last release_memory() ...
QUIET_BELOW = 1_000  # ... and fewer than this in the last second: the burst is over
LOG_EVERY = 10.0  # seconds between two "cannot connect" summaries of a worker
# What a bad request can raise from the decoders, filters and agents; counted as malformed, never fatal.
REQUEST_ERRORS = (ProtocolError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError, re.error)
CONNECT_ERRORS = (OSError, asyncio.TimeoutError, ConnectionError, NatsProtocolError, CredentialsError, ssl.SSLError)


class Worker:
    def __init__(self, config: EmulatorConfig, indexes: range, suffix: str = "", worker_id: int = 0):
        self.config = config
        self.worker_id = worker_id
        self.registry = build_registry(config.agents, config.plugins)
        self.layout = Layout(config.collective_list, self.registry)
        self.counters = Counters(len(indexes))
        self.started = time.time()
        self.settings = NodeSettings(
            servers=[str(s) for s in config.servers],
            server_urls=[s.url for s in config.servers],
            secure=config.secure,
            tls=config.tls is not None,
            registration_interval=config.registration_interval,
            started=self.started,
            instances=len(indexes),
        )
        self.timers = TimerHeap()  # delayed replies and plug-in timers of every instance
        verifier = None
        if config.secure and config.ca:
            from ..protocol.security import RequestVerifier  # cryptography only when requests are signed

            verifier = (
                RequestVerifier(config.ca, allowed=config.allowed_callers)
                if config.allowed_callers
                else RequestVerifier(config.ca)
            )
        self.cache = RequestCache(verifier)
        self.options = config.connect_options()
        self.connected = 0
        self.server_errors = 0
        self.reconnects = 0
        self.stopping = False
        self.ever_connected = False
        self.fatal: str | None = None  # a permanent connect error before any instance connected
        self.request_errors = 0
        self._connect_failures = 0
        self._last_failure_log = 0.0
        self._stop: asyncio.Event | None = None
        self.audit = audit_log.AuditLog(config.audit, self.registry) if config.audit else None
        template = FactsTemplate.load(config.facts)
        self.instances = [
            Instance(
                self, slot, index, ident, template.facts_for(index, ident, config.name), template.classes_for(index)
            )
            for slot, index in enumerate(indexes)
            for ident in (config.identity(index, suffix),)
        ]
        self.kinds = NodeKinds(self.instances)  # what filters on facts and classes are evaluated per
        self._queue: asyncio.Queue[Instance] | None = None
        self._registrar: Registrar | None = None
        self._report_now: Report | None = None
        self._when_running: list[Callable[[], Any]] = []  # plug-in callbacks for when the loop runs
        self._held: dict[int, float] = {}  # slot -> seconds before a late starter first connects
        self.lifecycle: Lifecycle | None = None
        if config.lifecycle:
            self.lifecycle = Lifecycle(
                self.instances,
                __version__,
                self._publish_event,
                fmt=config.lifecycle_format,
                interval=config.lifecycle_interval,
                started=self.started,
                process_key=f"{suffix}:{worker_id}",
            )
        for agent in self.registry:
            if agent.setup is not None:
                agent.setup(self)

    # ---- registry.WorkerServices ---------------------------------------------------------------
    @property
    def size(self) -> int:
        return len(self.instances)

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> None:
        self.timers.call_later(delay, callback, *args)

    @property
    def nodes(self) -> list[Instance]:
        return self.instances

    def when_running(self, callback: Callable[[], Any]) -> None:
        self._when_running.append(callback)

    def connect_later(self, node: AgentContext, delay: float) -> None:
        """A late starter: the instance first connects ``delay`` seconds after the worker starts."""
        self._held[node.slot] = max(0.0, delay)

    def disconnect(self, node: AgentContext, down: float) -> bool:
        """Drop an instance's connection on purpose (churn) and reconnect it ``down`` seconds later."""
        instance = self.instances[node.slot]
        conn = instance.connection
        if conn is None or self.stopping:
            return False
        conn.close()  # a close of ours: on_disconnect is not called, so no backoff retry is scheduled
        instance.connection = None
        self.connected -= 1
        self.reconnects += 1
        instance.reconnects += 1
        self.timers.call_later(down, self._requeue, instance)
        return True

    def _publish_event(self, node: AgentContext, subject: bytes, payload: bytes) -> bool:
        conn = self.instances[node.slot].connection
        if conn is not None and conn.publish(subject, payload):
            self.counters.events[node.slot] += 1
            return True
        return False

    # ---- connecting ------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, report: Report | None = None) -> None:
        loop = asyncio.get_running_loop()
        self._stop = stop
        self._queue = asyncio.Queue()
        for instance in self.instances:
            held = self._held.get(instance.slot)
            if held is None:
                self._queue.put_nowait(instance)
            else:
                self.timers.call_later(held, self._requeue, instance)
        workers = [loop.create_task(self._connector()) for _slot in range(max(1, self.config.connect_concurrency))]
        self._report_now = report
        reporter = loop.create_task(self._report(report)) if report is not None else None
        if self.config.registration_interval > 0:
            self._registrar = Registrar(
                self.instances,
                self.layout.collectives[0],
                self.config.registration_size,
                self.config.registration_interval,
                self.counters,
            )
            self._registrar.start()
        for callback in self._when_running:
            callback()
        if self.lifecycle is not None:
            self.lifecycle.start_alive()
        try:
            await stop.wait()
        finally:
            self.stopping = True
            self.timers.cancel_all()
            for task in workers + ([reporter] if reporter else []):
                task.cancel()
            if self._registrar:
                self._registrar.stop()
            if self.lifecycle is not None:
                self.lifecycle.stop()
                self.lifecycle.shutdown([i for i in self.instances if i.connection is not None])
            self.close()
            if self.lifecycle is not None:
                await asyncio.sleep(0.2)  # let the closing connections write the shutdown events
            if report is not None:
                report(self.snapshot())

    async def _connector(self) -> None:
        assert self._queue is not None
        servers = self.config.servers
        while True:
            instance = await self._queue.get()
            if self.stopping:
                continue
            server = servers[instance.server_index % len(servers)]
            try:
                conn = await NatsConnection.connect(instance, server, self.options)
            except CONNECT_ERRORS as exc:
                instance.server_index += 1
                instance.attempts += 1
                self._connect_failed(instance, server, exc)
                continue
            if self.stopping:
                conn.close()
                continue
            instance.connected_to(conn)
            self.connected += 1
            self.ever_connected = True
            if self.lifecycle is not None:
                self.lifecycle.connected(instance)
            if self.connected == len(self.instances) and self._report_now is not None:
                self._report_now(self.snapshot())  # tell the supervisor at once, not at the next tick

    def _connect_failed(self, instance: Instance, server: object, exc: BaseException) -> None:
        """Retry later; log a summary at most every LOG_EVERY s; give up on permanent errors at start."""
        reason = str(exc) or type(exc).__name__
        if (
            isinstance(exc, (PermanentConnectError, CredentialsError))
            and not self.ever_connected
            and instance.attempts >= len(self.config.servers)
        ):
            self.fatal = f"cannot connect to {server}: {reason}"
            if self._stop is not None:
                self._stop.set()
            return
        self._connect_failures += 1
        now = time.monotonic()
        if now - self._last_failure_log >= LOG_EVERY:
            log.warning(
                "worker %d: %d failed connects (e.g. %s to %s: %s); retrying",
                self.worker_id,
                self._connect_failures,
                instance.identity,
                server,
                reason,
            )
            self._connect_failures, self._last_failure_log = 0, now
        self._retry_later(instance)

    def _retry_later(self, instance: Instance) -> None:
        delay = min(RECONNECT_MAX, RECONNECT_MIN * 2 ** min(instance.attempts, 5)) * random.uniform(0.5, 1.5)
        asyncio.get_running_loop().call_later(delay, self._requeue, instance)

    def _requeue(self, instance: Instance) -> None:
        if not self.stopping and self._queue is not None:
            self._queue.put_nowait(instance)

    def instance_lost(self, instance: Instance, exc: Exception | None) -> None:
        if instance.connection is not None:
            instance.connection = None
            self.connected -= 1
        if self.stopping:
            return
        if isinstance(exc, NatsProtocolError):  # the server sent something that is not NATS: say so
            self.server_error(instance, f"protocol error, reconnecting: {exc}")
        self.reconnects += 1
        instance.reconnects += 1
        instance.server_index += 1 if len(self.config.servers) > 1 else 0
        self._retry_later(instance)

    def server_error(self, instance: Instance, message: str) -> None:
        self.server_errors += 1
        if self.server_errors in (1, 10) or self.server_errors % 1000 == 0:
            log.warning("%s: server error: %s (%d so far)", instance.identity, message, self.server_errors)

    def close(self) -> None:
        for instance in self.instances:
            if instance.connection is not None:
                instance.connection.close()
                instance.connection = None
        self.connected = 0

    # ---- the hot path ------------------------------------------------------------------------
    def dispatch(self, instance: Instance, sid: int, payload: bytes) -> None:
        """Process one message for one instance; a request that breaks a decoder or filter is counted, not fatal."""
        try:
            self._dispatch(instance, payload)
        except REQUEST_ERRORS as exc:
            self._request_failed(instance, payload, exc)

    def _request_failed(self, instance: Instance, payload: bytes, exc: BaseException) -> None:
        counters, slot = self.counters, instance.slot
        counters.malformed[slot] += 1
        if self.cache.poison(payload):  # the other instances now drop it without raising again
            counters.validated[slot] -= 1  # counted as validated before it raised
        self._log_request_error(exc)

    def _log_request_error(self, exc: BaseException) -> None:
        self.request_errors += 1
        if self.request_errors in (1, 10, 100) or self.request_errors % 10000 == 0:
            log.warning(
                "worker %d: dropped a request that raised %s: %s (%d so far)",
                self.worker_id,
                type(exc).__name__,
                exc,
                self.request_errors,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )

    def _dispatch(self, instance: Instance, payload: bytes) -> None:
        slot = instance.slot
        counters = self.counters
        counters.total[slot] += 1
        decoded = self.cache.get(payload)
        if decoded.status:
            if decoded.status == MALFORMED:
                counters.malformed[slot] += 1
            else:
                counters.unvalidated[slot] += 1
            return
        counters.validated[slot] += 1
        if not decoded.matches(instance, self.kinds):
            counters.filtered[slot] += 1
            return
        counters.passed[slot] += 1
        request = decoded.request
        assert request is not None
        now = time.time()
        if not (now - request.ttl < request.time < now + request.ttl):
            counters.ttlexpired[slot] += 1
            return
        agent = self.layout.agent_for.get(request.agent)
        if agent is None:
            return
        if self.audit is not None and agent.actions:
            self.audit.record(instance, decoded)
        if decoded.reply_to is None:
            return
        reply = decoded.respond(agent, instance)
        if reply is None:
            return
        if isinstance(reply, Later):
            self.timers.call_later(reply.delay, self._reply_later, instance, decoded, reply)
            return
        self._send(instance, decoded, reply, int(now))

    def _send(self, instance: Instance, decoded: DecodedRequest, message: str, now: int) -> None:
        conn, reply_to = instance.connection, decoded.reply_to
        if conn is None or reply_to is None:
            return
        if conn.publish(reply_to, decoded.encode_reply(message, instance.identity_json, instance.headers_json, now)):
            self.counters.replies[instance.slot] += 1

    def _reply_later(self, instance: Instance, decoded: DecodedRequest, later: Later) -> None:
        """A :class:`Later` reply is due; a handler error then is counted like one at request time."""
        try:
            message = later.resolve()
            if message is not None:
                self._send(instance, decoded, message, int(time.time()))
        except REQUEST_ERRORS as exc:
            counters, slot = self.counters, instance.slot
            counters.validated[slot] -= 1  # as a request that raises at once: malformed, not validated
            counters.malformed[slot] += 1
            self._log_request_error(exc)

    # ---- reporting ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "worker": self.worker_id,
            "pid": os.getpid(),
            "instances": len(self.instances),
            "connected": self.connected,
            "reconnects": self.reconnects,
            "server_errors": self.server_errors,
            "request_errors": self.request_errors,
            "decodes": self.cache.decodes,
            "tasks": len(asyncio.all_tasks()) if self._stop is not None else 0,
            "fatal": self.fatal,
            "rss": rss_bytes(),
            "counters": self.counters.totals(),
        }

    async def _report(self, report: Report) -> None:
        parent = os.getppid()
        busy = previous = 0  # messages since memory was last given back; the total a second ago
        while True:
            if os.getppid() != parent and self._stop is not None:
                log.warning("worker %d: the supervisor is gone; stopping", self.worker_id)
                self._stop.set()  # never linger as an orphan
            total = sum(self.counters.total)
            busy, previous, delta = busy + total - previous, total, total - previous
            if busy >= TRIM_AFTER and delta < QUIET_BELOW:
                release_memory()  # a burst (a flood) is over: the buffers it freed go back to the system
                busy = 0
            report(self.snapshot())
            await asyncio.sleep(STATS_EVERY)


def worker_main(
    config: EmulatorConfig,
    indexes: range,
    suffix: str,
    worker_id: int,
    channel: Connection,
    inherited: list[Connection | socket.socket] | None = None,
) -> None:
    """Entry point of a forked worker process; ``channel`` is its pipe to the supervisor.

    ``inherited`` are objects with a ``close()`` (pipe ends, the HTTP socket) that the fork
    copied and the worker must not keep open.
    """
    for item in inherited or ():
        item.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    loop = _new_loop(config.loop)
    asyncio.set_event_loop(loop)
    worker = Worker(config, indexes, suffix, worker_id)
    stop = asyncio.Event()

    def on_command() -> None:
        try:
            command = channel.recv()
        except (EOFError, OSError):
            command = "stop"  # the supervisor is gone: never linger as an orphan
        if command == "stop":
            loop.remove_reader(channel.fileno())
            stop.set()

    def report(snapshot: dict[str, Any]) -> None:
        try:
            channel.send(json.dumps(snapshot))
        except (OSError, ValueError):
            stop.set()

    loop.add_reader(channel.fileno(), on_command)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        loop.run_until_complete(worker.run(stop, report))
    finally:
        loop.close()


def _new_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind in ("auto", "uvloop"):
        try:
            import uvloop

            return uvloop.new_event_loop()
        except ImportError:
            if kind == "uvloop":
                raise
    return asyncio.new_event_loop()
