"""Broadcast discovery: who answers a ``ping`` that carries the filter (protocol.md §3)."""

from __future__ import annotations

from typing import Callable

from ..protocol import Filter
from ..protocol.matching import is_regex
from .core import ChoriaClient, ReplyRecord
from .spec import PING_MESSAGE, RequestSpec, with_agent

__all__ = ["PING_MESSAGE", "discover", "discovery_spec"]


def discovery_spec(
    client: ChoriaClient,
    filter: Filter | None = None,
    *,
    collective: str | None = None,
    timeout: float | None = None,
    expect: int | None = None,
    sliding_window: bool = False,
    federation: str | None = None,
) -> RequestSpec:
    """The one discovery ``ping`` that discover and ping send; ``timeout`` defaults to discovery_timeout."""
    return RequestSpec.discovery(
        filter,
        collective=collective,
        timeout=client.config.discovery_timeout if timeout is None else timeout,
        expect=expect,
        sliding_window=sliding_window,
        federation=federation,
    )


async def discover(
    client: ChoriaClient,
    filter: Filter | None = None,
    *,
    agent: str | None = None,
    collective: str | None = None,
    timeout: float | None = None,
    sliding_window: bool = False,
    expect: int | None = None,
    federation: str | None = None,
    on_reply: Callable[[ReplyRecord], None] | None = None,
) -> list[str]:
    """Identities of the nodes matching ``filter``, in the order they answered, without duplicates.

    ``agent`` is added to the filter (a copy: ``filter`` is not changed) like the RPC client does
    before it discovers. A filter with only exact identities (no ``/regex/``, nothing else)
    skips the network like go-choria.
    """
    filt = with_agent(filter or Filter(), agent or "")
    if filt.identity and not any(is_regex(i) for i in filt.identity) and _identity_only(filt):
        return list(dict.fromkeys(filt.identity))
    spec = discovery_spec(
        client,
        filt,
        collective=collective,
        timeout=timeout,
        sliding_window=sliding_window,
        expect=expect,
        federation=federation,
    )
    outcome = await client.request(spec, on_reply)
    return list(dict.fromkeys(outcome.senders))


def _identity_only(filt: Filter) -> bool:
    return not (filt.fact or filt.cf_class or filt.agent or filt.compound)
