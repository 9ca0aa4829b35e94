"""Helpers for tests that speak the wire protocol directly: craft requests, publish raw bytes, collect replies."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from typing import Any, Callable

from choria_emulator.protocol import Filter, Request, RPCReply
from choria_emulator.protocol.messages import decode_reply, encode_request, reply_subject

CLI = [sys.executable, "-m", "choria_emulator"]


def run_cli(*args: str, timeout: float = 120.0, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run ``choria-emulator ARGS`` as a subprocess (the real console entry point's module)."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, **kwargs)


def make_request(
    agent: str,
    message: str,
    *,
    collective: str = "mcollective",
    filter: Filter | None = None,
    ttl: int = 60,
    sent: int | None = None,
) -> Request:
    kwargs: dict[str, Any] = {"ttl": ttl}
    if sent is not None:
        kwargs["time"] = sent
    return Request(
        message, "wire-test", "choria=wire.mcollective", collective, agent, filter=filter or Filter(), **kwargs
    )


def rpc_message(agent: str, action: str, data: dict | None = None) -> str:
    return json.dumps({"agent": agent, "action": action, "data": data or {}})


async def collect(
    nc: Any, subject: str, payload: bytes, reply_to: str, *, expect: int | None = None, timeout: float = 5.0
) -> list[Any]:
    """Publish ``payload`` to ``subject`` and return the decoded replies that reach ``reply_to``."""
    replies: list[Any] = []
    done = asyncio.Event()

    async def on_reply(msg: Any) -> None:
        replies.append(decode_reply(msg.data))
        if expect is not None and len(replies) >= expect:
            done.set()

    sub = await nc.subscribe(reply_to, cb=on_reply)
    await nc.publish(subject, payload)
    await nc.flush()
    try:
        await asyncio.wait_for(done.wait(), timeout)
    except asyncio.TimeoutError:
        pass
    await sub.unsubscribe()
    return replies


async def request(nc: Any, subject: str, req: Request, *, reply: bool = True, **kwargs: Any) -> list[Any]:
    reply_to = reply_subject(req.collective, req.callerid, req.requestid)
    payload = encode_request(req, reply_to if reply else None, "wire-test")
    return await collect(nc, subject, payload, reply_to, **kwargs)


def rpc_bodies(replies: list[Any]) -> dict[str, RPCReply]:
    return {r.sender: RPCReply.decode(r.reply.message) for r in replies}


def poll(condition: Callable[[], Any], timeout: float = 60.0, interval: float = 0.1, what: str = "condition") -> Any:
    """Wait until ``condition()`` is truthy (exceptions count as not yet); return its value."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except (OSError, ValueError, KeyError, IndexError, TypeError, AssertionError) as exc:  # not yet
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout} s (last error: {last_error})")


async def apoll(
    condition: Callable[[], Any], timeout: float = 60.0, interval: float = 0.1, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout} s")


def http_text(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # local test URLs
        return response.read().decode()


def stable_counters(emulator: Any, quiet: float = 2.5, timeout: float = 60.0) -> dict[str, int]:
    """The emulator's counters once they stopped changing for ``quiet`` s (workers report every second)."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        current = emulator.debug_vars()["counters"]
        if current != last:
            last, since = current, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return current
        time.sleep(0.2)
    raise AssertionError(f"counters still changing after {timeout} s")
