"""Lifecycle events as go-choria builds them, checked against the lifecycle schemas."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass

import jsonschema
import pytest
from scenario_support import SCHEMAS

from choria_emulator.daemon import lifecycle

SCHEMA = {
    kind: json.loads((SCHEMAS / f"lifecycle-{kind}.json").read_text()) for kind in ("startup", "alive", "shutdown")
}


@pytest.mark.parametrize("kind", ["startup", "alive", "shutdown"])
@pytest.mark.parametrize("fmt", ["cloudevent", "choria"])
def test_events_validate_against_the_lifecycle_schemas(kind, fmt):
    body = lifecycle.event(kind, "emu-1", "0.1.0", timestamp=1535106973)
    raw = json.loads(lifecycle.encode(body, fmt))
    data = raw["data"] if fmt == "cloudevent" else raw
    jsonschema.validate(data, SCHEMA[kind])
    assert list(data)[:5] == ["protocol", "id", "identity", "component", "timestamp"]
    assert data["protocol"] == f"io.choria.lifecycle.v1.{kind}"
    assert ("version" in data) == (kind != "shutdown")
    uuid.UUID(data["id"])
    if fmt == "cloudevent":
        assert raw == {
            "specversion": "1.0",
            "id": data["id"],
            "source": "io.choria.lifecycle",
            "type": f"io.choria.lifecycle.v1.{kind}",
            "subject": "emu-1",
            "datacontenttype": "application/json",
            "time": "2018-08-24T10:36:13Z",
            "data": data,
        }
        assert list(raw) == list(lifecycle.cloudevent(data))
    assert lifecycle.subject(kind) == f"choria.lifecycle.event.{kind}.server"


def test_unknown_types_and_formats_are_refused():
    with pytest.raises(ValueError, match="unknown lifecycle event type 'provisioned'"):
        lifecycle.event("provisioned", "x", "1")
    with pytest.raises(ValueError, match="unknown lifecycle format 'xml'"):
        lifecycle.encode(lifecycle.event("startup", "x", "1"), "xml")


@dataclass
class Node:
    slot: int
    identity: str


async def test_startup_once_alive_spread_over_the_interval_shutdown_for_all():
    sent: list[tuple[str, str, dict]] = []

    def publish(node, subject, payload):
        sent.append((node.identity, subject.decode(), json.loads(payload)))
        return True

    fleet = [Node(i, f"emu-{i}") for i in range(40)]
    events = lifecycle.Lifecycle(fleet, "0.1.0", publish, fmt="choria", interval=0.4, process_key="k")
    events.connected(fleet[0])
    events.connected(fleet[0])  # a reconnect is not a restart: no second startup event
    assert [s[1] for s in sent] == ["choria.lifecycle.event.startup.server"]
    events.start_alive()
    await asyncio.sleep(0.55)
    events.stop()
    alive = [s for s in sent if s[1].endswith(".alive.server")]
    assert 40 <= len(alive) <= 60  # one per node per 0.4 s interval, spread, not a burst
    first = {}
    for identity, _, body in alive:
        jsonschema.validate(body, SCHEMA["alive"])
        first.setdefault(identity, body)
        assert body["id"] == first[identity]["id"] and body["timestamp"] == first[identity]["timestamp"]
    assert len({b["id"] for b in first.values()}) == len(first)
    assert events.shutdown(fleet[:3]) == 3
    assert [s[1] for s in sent[-3:]] == ["choria.lifecycle.event.shutdown.server"] * 3
    assert events.published["startup"] == 1 and events.published["shutdown"] == 3
