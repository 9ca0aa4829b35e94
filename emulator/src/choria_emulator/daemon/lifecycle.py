"""Choria lifecycle events: what a go-choria server publishes at startup, while alive, at shutdown.

go-choria (``lifecycle/`` and ``server/lifecycle.go``) publishes, raw on NATS (not inside a
Choria transport), to ``choria.lifecycle.event.<type>.<component>`` with component ``server``:

* ``startup`` once the server is connected, with its version;
* ``alive`` first after a random delay below an hour, then hourly; the event is made once, so
  every alive event of a server repeats the same ``id`` and ``timestamp``;
* ``shutdown`` when it stops (no version).

The body is the event in the Choria format (``{"protocol":"io.choria.lifecycle.v1.startup",
"id","identity","component","timestamp","version"}``, the schemas in
``choria/lifecycle/v1/``), by default wrapped in a CloudEvents 1.0 envelope, which is what
go-choria sends unless ``LegacyLifeCycleFormat`` is set (``--lifecycle-format choria``).

:class:`.pacing.SpreadTicker` spreads the alive events as it does registration: a node's first
one comes at a random point of the first interval, so N nodes publish N / interval a second.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from ..protocol import gojson
from .pacing import SpreadTicker

if TYPE_CHECKING:
    from .registry import AgentContext

EVENT_TYPES = ("startup", "alive", "shutdown")
FORMATS = ("cloudevent", "choria")
COMPONENT = "server"


def subject(kind: str, component: str = COMPONENT) -> str:
    return f"choria.lifecycle.event.{kind}.{component}"


def event(
    kind: str,
    identity: str,
    version: str,
    *,
    component: str = COMPONENT,
    timestamp: int | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The Choria-format event, fields in go-choria's struct order (``version`` not on shutdown)."""
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown lifecycle event type {kind!r} (types: {', '.join(EVENT_TYPES)})")
    body: dict[str, Any] = {
        "protocol": f"io.choria.lifecycle.v1.{kind}",
        "id": event_id or str(uuid.uuid4()),
        "identity": identity,
        "component": component,
        "timestamp": int(time.time()) if timestamp is None else int(timestamp),
    }
    if kind != "shutdown":
        body["version"] = version
    return body


def cloudevent(body: dict[str, Any]) -> dict[str, Any]:
    """The CloudEvents 1.0 envelope go-choria's ``ToCloudEventV1`` builds (sdk-go's field order)."""
    moment = datetime.fromtimestamp(body["timestamp"], tz=timezone.utc)
    return {
        "specversion": "1.0",
        "id": body["id"],
        "source": "io.choria.lifecycle",
        "type": body["protocol"],
        "subject": body["identity"],
        "datacontenttype": "application/json",
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": body,
    }


def encode(body: dict[str, Any], fmt: str = "cloudevent") -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"unknown lifecycle format {fmt!r} (formats: {', '.join(FORMATS)})")
    return gojson.dumps(cloudevent(body) if fmt == "cloudevent" else body).encode()


def stable_id(*parts: str) -> str:
    """A version-4-shaped UUID derived from ``parts``: a node's alive events repeat one id, stored nowhere."""
    return str(uuid.UUID(bytes=uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)).bytes, version=4))


Publish = Callable[["AgentContext", bytes, bytes], bool]  # (node, subject, payload) -> published


class Lifecycle:
    """A worker's lifecycle events: startup per node once, alive on a ticker, shutdown at stop."""

    def __init__(
        self,
        nodes: Sequence[AgentContext],
        version: str,
        publish: Publish,
        *,
        fmt: str = "cloudevent",
        interval: float = 3600.0,
        component: str = COMPONENT,
        started: float | None = None,
        process_key: str = "",
    ):
        if fmt not in FORMATS:
            raise ValueError(f"--lifecycle-format must be one of {', '.join(FORMATS)}")
        self.nodes = nodes
        self.version = version
        self.publish = publish
        self.fmt = fmt
        self.interval = interval
        self.component = component
        self.started = int(started if started is not None else time.time())
        self.process_key = process_key
        self.announced = bytearray(len(nodes))  # 1 once the node's startup event went out
        self.published = dict.fromkeys(EVENT_TYPES, 0)
        self._subjects = {kind: subject(kind, component).encode() for kind in EVENT_TYPES}
        self._ticker: SpreadTicker[AgentContext] | None = None

    def _send(self, node: AgentContext, kind: str, body: dict[str, Any]) -> bool:
        if self.publish(node, self._subjects[kind], encode(body, self.fmt)):
            self.published[kind] += 1
            return True
        return False

    def connected(self, node: AgentContext) -> None:
        """A node's connection is up: its startup event, the first time only (as a daemon's start)."""
        if self.announced[node.slot]:
            return
        if self._send(node, "startup", event("startup", node.identity, self.version, component=self.component)):
            self.announced[node.slot] = 1

    def alive(self, node: AgentContext) -> bool:
        body = event(
            "alive",
            node.identity,
            self.version,
            component=self.component,
            timestamp=self.started,
            event_id=stable_id(self.process_key, node.identity, "alive"),
        )
        return self._send(node, "alive", body)

    def shutdown(self, nodes: Iterable[AgentContext]) -> int:
        """Shutdown events of every connected node (call before closing the connections)."""
        sent = 0
        for node in nodes:
            if self._send(node, "shutdown", event("shutdown", node.identity, self.version, component=self.component)):
                sent += 1
        return sent

    def start_alive(self) -> None:
        if self.interval > 0 and self.nodes:
            self._ticker = SpreadTicker(self.nodes, self.interval, self.alive)
            self._ticker.start()

    def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
