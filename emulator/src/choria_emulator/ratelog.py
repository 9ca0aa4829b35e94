"""Log lines that a stream of requests can trigger, at a bounded rate.

One hostile request can make thousands of instances hit the same warning, and a stream of
distinct hostile requests makes a warning per request (issue 12: 1,100,000 lines for 1,100
compound queries). :class:`RateLimitedLog` writes at most ``burst`` lines per ``interval``
seconds and counts the rest; the next line it writes says how many it held back.
"""

from __future__ import annotations

import logging
import time
from typing import Any


class RateLimitedLog:
    __slots__ = ("_log", "_burst", "_interval", "_window_start", "_written", "suppressed")

    def __init__(self, log: logging.Logger, burst: int = 5, interval: float = 60.0):
        self._log = log
        self._burst = burst
        self._interval = interval
        self._window_start = 0.0
        self._written = 0
        self.suppressed = 0  # lines held back since the last line written

    def warning(self, message: str, *args: Any) -> bool:
        """Log ``message % args`` unless the budget of this interval is spent; True when written."""
        now = time.monotonic()
        if now - self._window_start >= self._interval:
            self._window_start, self._written = now, 0
        if self._written >= self._burst:
            self.suppressed += 1
            return False
        self._written += 1
        if self.suppressed:
            message += " (%d similar lines suppressed)"
            args = (*args, self.suppressed)
            self.suppressed = 0
        self._log.warning(message, *args)
        return True
