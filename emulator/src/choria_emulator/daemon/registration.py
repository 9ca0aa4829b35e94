"""``--registration-interval``: instances publish registration messages like real daemons.

Each instance publishes a ``registration`` request (no reply-to) to
``<main collective>.broadcast.agent.registration`` every interval, with a body of
``{"Size": n, "Data": "0123…"}`` like the unmerged registration branch of the original.
Publishes are spread evenly across the interval by :class:`.pacing.SpreadTicker`, not sent in
one burst.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..protocol import Request, gojson
from ..protocol.messages import broadcast_subject
from ..protocol.secure import insecure_registration
from ..protocol.transport import Transport
from .agents import generate
from .pacing import SpreadTicker

if TYPE_CHECKING:
    from .instance import Instance
    from .stats import Counters


class Registrar:
    """Registration publishes of a worker's ``instances`` to ``collective``, counted in ``counters``."""

    def __init__(self, instances: Sequence[Instance], collective: str, size: int, interval: float, counters: Counters):
        self.instances = instances
        self.collective = collective
        self.counters = counters
        self.subject = broadcast_subject(collective, "registration").encode()
        self.body = gojson.dumps({"Size": size, "Data": generate(size)})
        self._ticker = SpreadTicker(instances, interval, self._publish)
        self.published = 0

    def start(self) -> None:
        self._ticker.start()

    def stop(self) -> None:
        self._ticker.stop()

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

    def _publish(self, instance: Instance) -> None:
        conn = instance.connection
        if conn is not None and conn.publish(self.subject, self.message(instance.identity)):
            self.published += 1
            self.counters.registrations[instance.slot] += 1
