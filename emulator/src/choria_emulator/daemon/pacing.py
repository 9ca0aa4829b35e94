"""Spread one action per item over an interval, as a real fleet's periodic publishes are spread.

Registration messages and lifecycle ``alive`` events both come from every node once per
interval. Sent in one burst they would measure a thundering herd no real fleet makes, so each
100 ms tick does as many as the elapsed time is worth (``len(items) / interval`` per second),
carrying the fraction over: the rate holds with any number of items and when ticks run late.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from typing import Callable, Generic, TypeVar

TICK = 0.1

Item = TypeVar("Item")


class SpreadTicker(Generic[Item]):
    """Calls ``emit(item)`` for every item once per ``interval`` seconds, in ticks of :data:`TICK`."""

    def __init__(self, items: Sequence[Item], interval: float, emit: Callable[[Item], object]):
        self.items = items
        self.rate = len(items) / interval  # calls per second
        self.emit = emit
        self._cycle = itertools.cycle(items)
        self._credit = 0.0
        self._last = 0.0
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._last = loop.time()
        self._handle = loop.call_later(TICK, self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._credit = min(self._credit + (now - self._last) * self.rate, float(len(self.items)))
        self._last = now
        due = int(self._credit)
        self._credit -= due
        for item in itertools.islice(self._cycle, due):
            self.emit(item)
        self._handle = loop.call_later(TICK, self._tick)
