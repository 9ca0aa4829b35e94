"""Blocking wrappers for callers without an event loop (Ansible action and inventory plugins)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Callable, TypeVar

from ..protocol import Filter
from .config import ClientConfig
from .core import ChoriaClient
from .discovery import discover as _discover
from .ping import PingResult
from .ping import ping as _ping
from .rpc import RPCResult
from .rpc import rpc as _rpc

T = TypeVar("T")


def _run(config: ClientConfig, call: Callable[[ChoriaClient], Awaitable[T]]) -> T:
    async def main() -> T:
        async with ChoriaClient(config) as client:
            return await call(client)

    return asyncio.run(main())


def discover(config: ClientConfig, filter: Filter | None = None, **kwargs: Any) -> list[str]:
    return _run(config, lambda client: _discover(client, filter, **kwargs))


def ping(config: ClientConfig, filter: Filter | None = None, **kwargs: Any) -> PingResult:
    return _run(config, lambda client: _ping(client, filter, **kwargs))


def rpc(config: ClientConfig, agent: str, action: str, data: dict[str, Any] | None = None, **kwargs: Any) -> RPCResult:
    return _run(config, lambda client: _rpc(client, agent, action, data, **kwargs))
