"""``choria ping``: every node that answers discovery, with its round-trip time."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Callable

from ..protocol import Filter
from .core import ChoriaClient, ReplyRecord
from .discovery import discovery_spec


@dataclass
class PingResult:
    times: dict[str, float] = field(default_factory=dict)  # identity -> milliseconds
    duration: float = 0.0
    publish_duration: float = 0.0
    invalid: int = 0

    @property
    def count(self) -> int:
        return len(self.times)

    def summary(self) -> dict[str, float]:
        values = list(self.times.values())
        if not values:
            return {"replies": 0, "min": 0.0, "max": 0.0, "avg": 0.0, "median": 0.0}
        return {
            "replies": len(values),
            "min": min(values),
            "max": max(values),
            "avg": statistics.fmean(values),
            "median": statistics.median(values),
        }


async def ping(
    client: ChoriaClient,
    filter: Filter | None = None,
    *,
    collective: str | None = None,
    timeout: float | None = None,
    expect: int | None = None,
    on_reply: Callable[[ReplyRecord], None] | None = None,
    federation: str | None = None,
) -> PingResult:
    spec = discovery_spec(client, filter, collective=collective, timeout=timeout, expect=expect, federation=federation)
    outcome = await client.request(spec, on_reply)
    result = PingResult(
        duration=outcome.request_duration, publish_duration=outcome.publish_duration, invalid=outcome.invalid
    )
    times = result.times
    for sender, elapsed in zip(outcome.senders, outcome.elapsed):
        if sender not in times:
            times[sender] = elapsed * 1000
    return result
