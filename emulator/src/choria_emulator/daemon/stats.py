"""Per-instance message counters, kept in flat arrays so 50,000 instances cost 8 bytes per counter each,
and the process figures a worker reports (RSS).

Names follow go-choria's daemon stats (``rpcutil#daemon_stats``, Prometheus ``choria_server_*``),
plus ``malformed`` (not Choria protocol at all: dropped before security checks, which Go
only logs) and ``registrations`` (registration messages published).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from array import array
from typing import Any

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
    """One ``array("Q")`` per counter of ``COUNTERS``, indexed by an instance's slot."""

    __slots__ = ("size", *COUNTERS)
    # the arrays by name, for the type checker (tests/emulator/test_daemon_observability.py holds them to COUNTERS)
    total: array[int]
    validated: array[int]
    unvalidated: array[int]
    passed: array[int]
    filtered: array[int]
    replies: array[int]
    ttlexpired: array[int]
    malformed: array[int]
    events: array[int]
    registrations: array[int]

    def __init__(self, size: int):
        self.size = size
        for name in COUNTERS:
            setattr(self, name, array("Q", bytes(8 * size)))

    def totals(self) -> dict[str, int]:
        return {name: sum(getattr(self, name)) for name in COUNTERS}

    def instance(self, slot: int) -> dict[str, int]:
        return {name: getattr(self, name)[slot] for name in COUNTERS}


def rss_bytes() -> int:
    """This process's resident set size, from /proc (0 where there is none)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


_malloc_trim: Any = None


def release_memory() -> bool:
    """Give the heap that a burst freed back to the system (glibc ``malloc_trim``), so RSS comes
    back after a flood instead of staying at its peak; False where there is no glibc."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if not _malloc_trim:
        return False
    _malloc_trim(0)
    return True
