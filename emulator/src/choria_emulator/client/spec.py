"""What one request is, as a value: what to send, to whom, and when to stop collecting replies.

``ChoriaClient.request(spec)`` takes one :class:`RequestSpec` instead of a dozen keywords that
``discover``, ``ping``, ``rpc`` and ``measure`` would each pass on. A spec is frozen and never
changes what it was given: the filter that goes on the wire is derived (:meth:`RequestSpec.wire_filter`),
so a caller's :class:`~choria_emulator.protocol.Filter` stays as the caller built it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from ..protocol import Filter

DISCOVERY_AGENT = "discovery"
PING_MESSAGE = "cGluZw=="  # base64("ping"), what Go discovery sends


def with_agent(filt: Filter, agent: str) -> Filter:
    """``filt`` with ``agent`` in its agent list: a new Filter, ``filt`` itself when it is already there."""
    if not agent or agent in filt.agent:
        return filt
    return dataclasses.replace(filt, agent=[*filt.agent, agent])


@dataclass(frozen=True)
class RequestSpec:
    """One request: the message, its addressing, and the rules that end the reply collection.

    * ``targets``: the nodes expected to answer (collection stops once all did); required for
      ``directed`` requests, which publish once per target to ``<collective>.node.<id>``;
      without it, replies are counted until ``expect`` or the timeout.
    * ``expect``: stop after this many replies; ``sliding_window``: stop 300 ms after the last
      reply (go-choria's dynamic discovery timeout); ``timeout``: stop in any case.
    * ``batch_size``/``batch_sleep``: directed publishing in batches.
    * ``federation``: publish through the Federation Broker(s) of this network (comma list).
    * ``decode``: what to read from each reply: ``"full"`` (the whole v1 reply, checked) or
      ``"sender"`` (only who answered; what discovery and ping need, see :mod:`.collect`).
    """

    agent: str
    message: str
    collective: str | None = None
    filter: Filter = field(default_factory=Filter)
    targets: tuple[str, ...] | None = None
    directed: bool = False
    timeout: float = 10.0
    expect: int | None = None
    sliding_window: bool = False
    batch_size: int | None = None
    batch_sleep: float = 0.0
    federation: str | None = None
    decode: str = "full"

    def __post_init__(self) -> None:
        if self.filter is None:
            object.__setattr__(self, "filter", Filter())
        if self.targets is not None and not isinstance(self.targets, tuple):
            object.__setattr__(self, "targets", tuple(self.targets))
        # NaN or an infinite number of seconds would wait forever; a negative timeout means nothing
        if not (isinstance(self.timeout, (int, float)) and math.isfinite(self.timeout) and self.timeout >= 0):
            raise ValueError(f"request timeout must be a finite number of seconds >= 0, got {self.timeout!r}")
        if not (isinstance(self.batch_sleep, (int, float)) and math.isfinite(self.batch_sleep)):
            raise ValueError(f"request batch_sleep must be a finite number of seconds, got {self.batch_sleep!r}")
        if self.decode not in ("full", "sender"):
            raise ValueError(f"request decode must be 'full' or 'sender', got {self.decode!r}")

    @classmethod
    def discovery(
        cls,
        filter: Filter | None = None,
        *,
        timeout: float,
        collective: str | None = None,
        expect: int | None = None,
        sliding_window: bool = False,
        federation: str | None = None,
    ) -> RequestSpec:
        """The discovery ``ping`` carrying ``filter`` that ``discover`` and ``ping`` send."""
        return cls(
            DISCOVERY_AGENT,
            PING_MESSAGE,
            collective=collective,
            filter=filter or Filter(),
            timeout=timeout,
            expect=expect,
            sliding_window=sliding_window,
            federation=federation,
            decode="sender",
        )

    def replace(self, **changes: Any) -> RequestSpec:
        """A copy with ``changes`` (the spec itself never changes)."""
        return dataclasses.replace(self, **changes)

    def wire_filter(self) -> Filter:
        """The filter as sent: requests to known targets carry their agent, as the Go RPC client's do."""
        if (self.directed or self.targets is not None) and self.agent != DISCOVERY_AGENT:
            return with_agent(self.filter, self.agent)
        return self.filter
