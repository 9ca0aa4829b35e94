"""``--registration-interval``: instances publish registration messages like real daemons.

Each instance publishes a ``registration`` request (no reply-to) to
``<main collective>.broadcast.agent.registration`` every interval, with a body of
``{"Size": n, "Data": "0123…"}`` like the unmerged registration branch of the original.
Publishes are spread evenly across the interval in ticks of 100 ms, not sent in one burst: each
tick publishes as many as the elapsed time is worth (``instances / interval`` per second), so
the rate holds with any number of instances and when ticks run late.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..protocol import Request, gojson
from ..protocol.messages import broadcast_subject
from ..protocol.secure import insecure_registration
from ..protocol.transport import Transport
from .agents import generate

if TYPE_CHECKING:
    from .instance import Instance
    from .stats import Counters

TICK = 0.1


class Registrar:
    """Registration publishes of a worker's ``instances`` to ``collective``, counted in ``counters``."""

    def __init__(self, instances: Sequence[Instance], collective: str, size: int, interval: float, counters: Counters):
        self.instances = instances
        self.collective = collective
        self.counters = counters
        self.subject = broadcast_subject(collective, "registration").encode()
        self.body = gojson.dumps({"Size": size, "Data": generate(size)})
        self.rate = len(instances) / interval  # publishes per second
        self._cycle = itertools.cycle(instances)
        self._handle: asyncio.TimerHandle | None = None
        self._credit = 0.0
        self._last = 0.0
        self.published = 0

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._last = loop.time()
        self._handle = loop.call_later(TICK, self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    def message(self, identity: str) -> bytes:
        request = Request(
            message=self.body,
            senderid=identity,
            callerid=f"choria={identity}",
            collective=self.collective,
            agent="registration",
        )
        secure = insecure_registration(request.encode())
        return Transport(secure.encode(), sender=identity).encode()

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._credit = min(self._credit + (now - self._last) * self.rate, float(len(self.instances)))
        self._last = now
        due = int(self._credit)
        self._credit -= due
        for instance in itertools.islice(self._cycle, due):
            conn = instance.connection
            if conn is not None and conn.publish(self.subject, self.message(instance.identity)):
                self.published += 1
                self.counters.registrations[instance.slot] += 1
        self._handle = loop.call_later(TICK, self._tick)
