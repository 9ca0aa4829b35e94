"""One background event loop per playbook run, for the async clients the engine uses.

The engine is sequential and blocking like upstream (tasks, sleeps, shell commands). The
Choria client and NATS JetStream KV are asyncio, and a connection should outlive one call:
the lock renewals of ``nats_kv`` run while tasks run, and every ``mcollective`` task reuses
one broker connection. So they live on a loop in a daemon thread and the engine calls in.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable
from typing import Any, Callable, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class LoopThread:
    """An asyncio loop in a daemon thread; :meth:`call` runs a coroutine there and waits for it."""

    def __init__(self, name: str = "choria-playbook"):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._closers: list[Callable[[], Awaitable[Any]]] = []

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Awaitable[T], timeout: float | None = None) -> T:
        # callers pass coroutine objects (what run_coroutine_threadsafe takes), typed as Awaitable
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        return future.result(timeout)

    def on_close(self, closer: Callable[[], Awaitable[Any]]) -> None:
        """Run ``closer()`` on the loop when the run ends (close connections, stop renewals)."""
        self._closers.append(closer)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        closers, self._closers = self._closers, []
        for closer in reversed(closers):
            try:
                self.call(closer(), timeout=10)
            except Exception as exc:  # shutdown must finish; the failure is logged
                log.warning("closing %s failed: %s", getattr(closer, "__qualname__", closer), exc)
        try:
            self.call(_cancel_pending(), timeout=5)
        except (RuntimeError, concurrent.futures.TimeoutError) as exc:
            log.warning("cancelling pending tasks failed: %s", exc)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


async def _cancel_pending() -> None:
    """Cancel what is still running (subscriptions, renewals) so nothing outlives the loop."""
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
