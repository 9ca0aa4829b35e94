"""One timer heap per worker: every delayed reply, state change and churn event waits here.

An asyncio task or ``call_later`` handle per delayed reply would cost ~1 KiB each and, at
10,000 nodes answering one broadcast with latency, 10,000 handles; the heap holds a tuple per
pending event and keeps exactly one loop timer armed, for the earliest of them.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from typing import Any, Callable

log = logging.getLogger("choria_emulator.scenario")

EARLY = 0.0005  # run what is due within half a millisecond in the same wake-up


class Scheduler:
    __slots__ = ("_loop", "_heap", "_seq", "_handle", "_armed_at", "errors", "ran")

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None):
        self._loop = loop
        self._heap: list[tuple[float, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._handle: asyncio.TimerHandle | None = None
        self._armed_at = float("inf")
        self.errors = 0
        self.ran = 0

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def time(self) -> float:
        return self.loop.time()

    def later(self, delay: float, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback(*args)`` in ``delay`` seconds."""
        self.at(self.loop.time() + max(0.0, delay), callback, *args)

    def at(self, when: float, callback: Callable[..., Any], *args: Any) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), callback, args))
        if when < self._armed_at:
            self._arm(when)

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_at = when
        self._handle = self.loop.call_at(when, self._run)

    def _run(self) -> None:
        self._handle = None
        self._armed_at = float("inf")
        heap = self._heap
        loop = self.loop
        limit = loop.time() + EARLY
        while heap and heap[0][0] <= limit:
            _, _, callback, args = heapq.heappop(heap)
            try:
                callback(*args)
            except Exception:  # noqa: BLE001 - one broken event must not stop the others
                self.errors += 1
                if self.errors in (1, 10, 100) or self.errors % 10000 == 0:
                    log.exception("scenario event failed (%d so far)", self.errors)
            self.ran += 1
        if heap:
            self._arm(heap[0][0])

    def close(self) -> None:
        """Drop everything pending (the worker is stopping)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._armed_at = float("inf")
        self._heap.clear()

    def __len__(self) -> int:
        return len(self._heap)
