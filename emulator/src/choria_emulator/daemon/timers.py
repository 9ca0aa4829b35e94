"""One timer heap per worker: delayed work of any number of instances on one event-loop timer.

A scripted agent that answers 10,000 instances after a drawn latency must not create 10,000
asyncio timer handles (each ~200 bytes and a heap entry in the loop); this heap keeps
``(when, seq, callback, args)`` tuples and arms a single loop timer for the earliest one.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from typing import Any, Callable

log = logging.getLogger(__name__)


class TimerHeap:
    __slots__ = ("_heap", "_seq", "_handle", "_armed_for", "_loop")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback(*args)`` in ``delay`` seconds (on the running loop)."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        when = loop.time() + max(0.0, delay)
        heapq.heappush(self._heap, (when, next(self._seq), callback, args))
        if self._handle is None or when < self._armed_for:
            self._arm(when)

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        assert self._loop is not None
        self._armed_for = when
        self._handle = self._loop.call_at(when, self._run)

    def _run(self) -> None:
        self._handle = None
        loop = self._loop
        assert loop is not None
        heap = self._heap
        now = loop.time()
        while heap and heap[0][0] <= now:
            _when, _seq, callback, args = heapq.heappop(heap)
            try:
                callback(*args)
            except Exception:  # one faulty callback must not stop the others
                log.exception("timer callback %r failed", callback)
        if heap:
            self._arm(heap[0][0])

    def __len__(self) -> int:
        return len(self._heap)

    def cancel_all(self) -> None:
        self._heap.clear()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
