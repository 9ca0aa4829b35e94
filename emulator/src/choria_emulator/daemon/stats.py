"""Per-instance message counters, kept in flat arrays so 50,000 instances cost 8 bytes per counter each.

Names follow go-choria's daemon stats (``rpcutil#daemon_stats``, Prometheus ``choria_server_*``),
plus ``malformed`` (not Choria protocol at all: dropped before security checks, which Go
only logs) and ``registrations`` (registration messages published).
"""

from __future__ import annotations

from array import array

COUNTERS = (
    "total",
    "validated",
    "unvalidated",
    "passed",
    "filtered",
    "replies",
    "ttlexpired",
    "malformed",
    "events",
    "registrations",
)


class Counters:
    __slots__ = ("size", *COUNTERS)

    def __init__(self, size: int):
        self.size = size
        for name in COUNTERS:
            setattr(self, name, array("Q", bytes(8 * size)))

    def totals(self) -> dict[str, int]:
        return {name: sum(getattr(self, name)) for name in COUNTERS}

    def instance(self, slot: int) -> dict[str, int]:
        return {name: getattr(self, name)[slot] for name in COUNTERS}
