"""``--registration-interval``: instances publish registration messages like real daemons.

Each instance publishes a ``registration`` request (no reply-to) to
``<main collective>.broadcast.agent.registration`` every interval, with a body of
``{"Size": n, "Data": "0123…"}`` like the unmerged registration branch of the original.
Publishes are spread evenly across the interval in ticks of 100 ms, not sent in one burst.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING

from ..protocol import Request, gojson
from ..protocol.messages import broadcast_subject
from ..protocol.secure import SecureRequest
from ..protocol.transport import Transport
from .agents import generate

if TYPE_CHECKING:
    from .worker import Worker

TICK = 0.1


class Registrar:
    def __init__(self, worker: Worker):
        self.worker = worker
        config = worker.config
        self.subject = broadcast_subject(worker.layout.collectives[0], "registration").encode()
        self.body = gojson.dumps({"Size": config.registration_size, "Data": generate(config.registration_size)})
        ticks = max(1, int(config.registration_interval / TICK))
        self.per_tick = max(1, -(-len(worker.instances) // ticks))
        self._cycle = itertools.cycle(worker.instances)
        self._handle: asyncio.TimerHandle | None = None
        self.published = 0

    def start(self) -> None:
        self._handle = asyncio.get_running_loop().call_later(TICK, self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    def message(self, identity: str) -> bytes:
        request = Request(
            message=self.body,
            senderid=identity,
            callerid=f"choria={identity}",
            collective=self.worker.layout.collectives[0],
            agent="registration",
        )
        secure = SecureRequest(request.encode(), "insecure registration", "insecure registration")
        return Transport(secure.encode(), sender=identity).encode()

    def _tick(self) -> None:
        for instance in itertools.islice(self._cycle, self.per_tick):
            conn = instance.connection
            if conn is not None and conn.publish(self.subject, self.message(instance.identity)):
                self.published += 1
                self.worker.counters.registrations[instance.slot] += 1
        self.start()

