"""Broadcast discovery: who answers a ``ping`` that carries the filter (protocol.md §3)."""

from __future__ import annotations

from typing import Callable

from ..protocol import Filter
from ..protocol.matching import is_regex
from .core import ChoriaClient, ReplyRecord, RequestOutcome

PING_MESSAGE = "cGluZw=="  # base64("ping"), what Go discovery sends


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

    ``agent`` is added to the filter like the RPC client does before it discovers. A filter with
    only exact identities (no ``/regex/``, nothing else) skips the network like go-choria.
    """
    filt = filter or Filter()
    if agent:
        filt.add_agent(agent)
    if filt.identity and not any(is_regex(i) for i in filt.identity) and _identity_only(filt):
        return list(dict.fromkeys(filt.identity))
    outcome = await ping_request(
        client,
        filt,
        collective=collective,
        timeout=timeout,
        sliding_window=sliding_window,
        expect=expect,
        federation=federation,
        on_reply=on_reply,
    )
    return list(dict.fromkeys(outcome.senders))


async def ping_request(
    client: ChoriaClient,
    filter: Filter | None,
    *,
    collective: str | None,
    timeout: float | None,
    expect: int | None,
    federation: str | None,
    on_reply: Callable[[ReplyRecord], None] | None,
    sliding_window: bool = False,
) -> RequestOutcome:
    """The one discovery ``ping`` carrying ``filter`` that discover and ping send; ``timeout`` defaults to discovery_timeout."""
    return await client.request(
        "discovery",
        PING_MESSAGE,
        collective=collective,
        filter=filter,
        timeout=client.config.discovery_timeout if timeout is None else timeout,
        sliding_window=sliding_window,
        expect=expect,
        federation=federation,
        on_reply=on_reply,
    )


def _identity_only(filt: Filter) -> bool:
    return not (filt.fact or filt.cf_class or filt.agent or filt.compound)
