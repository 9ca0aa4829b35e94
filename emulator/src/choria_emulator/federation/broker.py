"""A Choria Federation Broker: joins a federation network to one or more collective networks.

go-choria's broker (``broker/federation``) runs two chains, each ingest → transformer → egest:

* requests: queue-subscribe ``choria.federation.<NET>.federation`` (group ``<NET>_federation``)
  on the federation side, rewrite (see :mod:`.transform`), publish to every target subject on
  the collective side;
* replies: queue-subscribe ``choria.federation.<NET>.collective`` (group ``<NET>_collective``)
  on the collective side, publish each reply to the client's original ``reply-to`` on the
  federation side.

The queue groups let several brokers of one network share the load, as in Choria. Counters
carry go-choria's names (``choria_federation_received_msgs`` ...) on ``/metrics``; ``/debug/vars``
shows the same as JSON. One broker may bridge several collective networks (one connection
each); go-choria bridges one, which is the same thing with a single ``--collective-server``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.errors import Error as NatsError

from ..client.config import ClientConfig
from .transform import (
    FederationError,
    collective_subject,
    federation_subject,
    reply_for_federation,
    request_for_collective,
    valid_subject,
)

log = logging.getLogger("choria_emulator.federation")

RECONNECT_WAIT = 2.0
PENDING_MSGS = 1_000_000
PENDING_BYTES = 1024 * 1024 * 1024


@dataclass
class ChainStats:
    """The counters go-choria keeps per chain worker."""

    received: int = 0
    published: int = 0
    errors: int = 0
    time_sum: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "published": self.published,
            "errors": self.errors,
            "time_sum": round(self.time_sum, 6),
        }


@dataclass
class Side:
    """One NATS connection of the broker and the servers it may use."""

    label: str
    config: ClientConfig
    nc: Any = None
    reconnects: int = 0

    @property
    def connected_url(self) -> str:
        url = getattr(self.nc, "connected_url", None)
        return f"{url.scheme}://{url.hostname}:{url.port}" if url else "unknown"


@dataclass
class FederationBroker:
    name: str
    federation: ClientConfig
    collectives: list[ClientConfig]
    identity: str = field(default_factory=socket.gethostname)
    requests: ChainStats = field(default_factory=ChainStats)
    replies: ChainStats = field(default_factory=ChainStats)
    started: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if not valid_subject(self.name):
            raise ValueError(f"--name {self.name!r} is not usable in a NATS subject (no spaces or wildcards)")
        if not self.collectives:
            raise ValueError("a federation broker needs at least one collective network (--collective-server)")
        self.fed_side = Side("federation", self.federation)
        self.collective_sides = [
            Side(f"collective{i}" if len(self.collectives) > 1 else "collective", c)
            for i, c in enumerate(self.collectives)
        ]
        self.connected = asyncio.Event()
        self.stopping = False

    # ---- connections -----------------------------------------------------------------------
    async def _connect(self, side: Side, stop: asyncio.Event) -> bool:
        """Connect ``side``, retrying until it works or ``stop`` is set (go-choria retries forever)."""
        config = side.config
        options: dict[str, Any] = config.nats_options()
        options.update(
            name=f"choria federation {self.name} {side.label} {self.identity}",
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=RECONNECT_WAIT,
            pending_size=64 * 1024 * 1024,
            connect_timeout=5,
        )

        async def on_error(exc: Exception) -> None:
            log.warning("%s side: %s", side.label, exc)

        async def on_reconnect() -> None:
            side.reconnects += 1
            log.warning("%s side reconnected to %s", side.label, side.connected_url)

        async def on_disconnect() -> None:
            if not self.stopping:
                log.warning("%s side disconnected", side.label)

        options.update(error_cb=on_error, reconnected_cb=on_reconnect, disconnected_cb=on_disconnect)
        attempt = 0
        while not stop.is_set():
            attempt += 1
            try:
                side.nc = await nats.connect(**options)
                log.info("%s side connected to %s", side.label, side.connected_url)
                return True
            except (OSError, NatsError, asyncio.TimeoutError) as exc:
                if attempt in (1, 10) or attempt % 100 == 0:
                    log.warning(
                        "%s side: cannot connect to %s (attempt %d): %s",
                        side.label,
                        ", ".join(config.servers),
                        attempt,
                        str(exc) or type(exc).__name__,
                    )
            try:
                await asyncio.wait_for(stop.wait(), RECONNECT_WAIT)
            except asyncio.TimeoutError:
                pass
        return False

    async def run(self, stop: asyncio.Event) -> None:
        """Connect both sides, relay until ``stop`` is set, then drain."""
        sides = [self.fed_side, *self.collective_sides]
        try:
            results = await asyncio.gather(*(self._connect(side, stop) for side in sides))
            if not all(results):
                return
            await self.fed_side.nc.subscribe(
                federation_subject(self.name),
                queue=f"{self.name}_federation",
                cb=self._on_request,
                pending_msgs_limit=PENDING_MSGS,
                pending_bytes_limit=PENDING_BYTES,
            )
            for side in self.collective_sides:
                await side.nc.subscribe(
                    collective_subject(self.name),
                    queue=f"{self.name}_collective",
                    cb=self._reply_handler(side),
                    pending_msgs_limit=PENDING_MSGS,
                    pending_bytes_limit=PENDING_BYTES,
                )
            for side in sides:
                await side.nc.flush()
            log.info(
                "federation broker %s relaying %s (federation side) <-> %s",
                self.name,
                self.fed_side.connected_url,
                ", ".join(s.connected_url for s in self.collective_sides),
            )
            self.connected.set()
            await stop.wait()
        finally:
            self.stopping = True
            await self._close(sides)

    @staticmethod
    async def _close(sides: list[Side]) -> None:
        for side in sides:
            if side.nc is not None and not side.nc.is_closed:
                try:
                    await asyncio.wait_for(side.nc.drain(), 5)
                except (NatsError, asyncio.TimeoutError, OSError):
                    await side.nc.close()

    # ---- the two chains --------------------------------------------------------------------
    async def _on_request(self, msg: Any) -> None:
        started = time.perf_counter()
        stats = self.requests
        stats.received += 1
        hop = (
            self.fed_side.connected_url,
            f"{self.name}:choria_request_transformer",
            ",".join(s.connected_url for s in self.collective_sides),
        )
        try:
            request_id, targets, data = request_for_collective(msg.data, self.name, hop)
        except FederationError as exc:
            stats.errors += 1
            log.warning("dropping request from the federation side: %s", exc)
            return
        try:
            for side in self.collective_sides:
                for target in targets:
                    await side.nc.publish(target, data)
                    stats.published += 1
        except NatsError as exc:
            stats.errors += 1
            log.warning("could not publish request %s: %s", request_id, exc)
        log.debug("request %s relayed to %d target(s)", request_id, len(targets))
        stats.time_sum += time.perf_counter() - started

    def _reply_handler(self, side: Side) -> Any:
        async def on_reply(msg: Any) -> None:
            started = time.perf_counter()
            stats = self.replies
            stats.received += 1
            hop = (side.connected_url, f"{self.name}:choria_reply_transformer", self.fed_side.connected_url)
            try:
                request_id, reply_to, data = reply_for_federation(msg.data, hop)
            except FederationError as exc:
                stats.errors += 1
                log.warning("dropping reply from the %s side: %s", side.label, exc)
                return
            try:
                await self.fed_side.nc.publish(reply_to, data)
                stats.published += 1
            except NatsError as exc:
                stats.errors += 1
                log.warning("could not relay a reply to request %s: %s", request_id, exc)
            stats.time_sum += time.perf_counter() - started

        return on_reply

    # ---- status ----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "identity": self.identity,
            "pid": os.getpid(),
            "uptime": round(time.time() - self.started, 3),
            "connected": self.connected.is_set(),
            "federation": {
                "servers": self.fed_side.config.servers,
                "connected_url": self.fed_side.connected_url,
                "reconnects": self.fed_side.reconnects,
            },
            "collectives": [
                {"servers": s.config.servers, "connected_url": s.connected_url, "reconnects": s.reconnects}
                for s in self.collective_sides
            ],
            "requests": self.requests.as_dict(),
            "replies": self.replies.as_dict(),
        }

    def metrics(self) -> str:
        """Prometheus text with go-choria's metric names and labels."""
        lines: list[str] = []
        help_text = {
            "choria_federation_received_msgs": ("counter", "Number of messages received by a Federation Broker worker"),
            "choria_federation_published_msgs": (
                "counter",
                "Number of messages published by a Federation Broker worker",
            ),
            "choria_federation_errors": ("counter", "Messages that could not be handled"),
            "choria_federation_time_sum": ("counter", "Seconds spent processing messages"),
        }
        values = {
            "choria_federation_received_msgs": lambda s: s.received,
            "choria_federation_published_msgs": lambda s: s.published,
            "choria_federation_errors": lambda s: s.errors,
            "choria_federation_time_sum": lambda s: round(s.time_sum, 6),
        }
        for metric, (kind, text) in help_text.items():
            lines.append(f"# HELP {metric} {text}")
            lines.append(f"# TYPE {metric} {kind}")
            for worker, stats in (
                ("choria_request_transformer", self.requests),
                ("choria_reply_transformer", self.replies),
            ):
                labels = (
                    f'name="{worker}",worker="0",connected_to="unconnected",'
                    f'cluster="{self.name}",identity="{self.identity}"'
                )
                lines.append(f"{metric}{{{labels}}} {values[metric](stats)}")
        return "\n".join(lines) + "\n"

    def debug_vars(self) -> bytes:
        return json.dumps(self.status()).encode()
