"""Reply collectors: a request's replies shared among several processes by a NATS queue group.

One Python process takes about 600,000 replies a second when it reads only the sender (ping,
discovery) but about 60,000 when it decodes every reply fully (rpc, measure: three JSON layers
and the hash check). ``collectors=N`` starts N-1 helper processes next to the client, each with
its own inbox connection to the client's server; for every request all N inboxes (the client's
own included) subscribe to the reply subject in one queue group, so the broker deals each reply
to one of them: the decoding is spread over N cores and each connection holds 1/N of the bytes
the broker has to buffer (its ``max_pending``). A helper reads its share, and sends it to the
client in batches (sender, arrival time, message); the client's :class:`~.collect.Collection`
counts them like its own. Arrival times are ``time.monotonic()``, one clock for all processes.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..natsproto.connection import ConnectOptions, ServerAddress
from ..protocol import ProtocolError
from .collect import READERS, Reader
from .inbox import Inbox, InboxClosed

if TYPE_CHECKING:  # imported at run time only by clients with collectors (CollectorPool.start)
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

log = logging.getLogger(__name__)
BATCH = 4096  # replies per message to the client (a batch also leaves at the end of every read)
MAX_COLLECTORS = 64
# What goes through a pipe: ("ready" | "error" | "failed" | "subscribed" | ..., detail) from a collector,
# ("sub", subject, queue, decode, requestid) / ("unsub",) / ("stop",) to it.
Message = tuple[Any, ...]


@dataclass
class Batch:
    """Replies one collector read: parallel columns; ``arrived`` in ``time.monotonic()`` seconds."""

    senders: list[str]
    arrived: list[float]
    messages: list[str]
    invalid: int = 0


def _collector_main(
    number: int, server: ServerAddress, options: ConnectOptions, name: str, channel: Connection
) -> None:
    """A collector process: one inbox; per order, subscribe in the queue group and stream what arrives."""
    try:
        asyncio.run(_collect_loop(number, server, options, name, channel))
    except (KeyboardInterrupt, EOFError, OSError):
        pass


async def _collect_loop(
    number: int, server: ServerAddress, options: ConnectOptions, name: str, channel: Connection
) -> None:
    loop = asyncio.get_running_loop()
    inbox = Inbox(f"{name} collector {number}", server, options)
    try:
        await inbox.connect()
    except (OSError, asyncio.TimeoutError, ConnectionError) as exc:
        channel.send(("error", f"collector {number} cannot connect to {server}: {exc or type(exc).__name__}"))
        return
    orders: asyncio.Queue[Message | None] = asyncio.Queue()
    loop.add_reader(channel.fileno(), lambda: orders.put_nowait(_receive(channel)))
    channel.send(("ready", None))
    state: dict[str, Any] = {}

    def flush() -> None:
        batch: Batch | None = state.get("batch")
        if batch is not None and (batch.senders or batch.invalid):
            channel.send_bytes(pickle.dumps(("batch", batch), pickle.HIGHEST_PROTOCOL))
            state["batch"] = Batch([], [], [])

    def failed(reason: str) -> None:
        flush()
        channel.send(("failed", reason))

    inbox.on_failure = failed
    while True:
        order = await orders.get()
        if order is None or order[0] == "stop":
            break
        if order[0] == "sub":
            _kind, subject, queue, decode, requestid = order
            state["batch"] = Batch([], [], [])
            take = _taker(state, READERS[decode](requestid), flush)
            inbox.after_read = flush
            try:
                sid = await inbox.subscribe(subject, take, queue=queue)
            except InboxClosed as exc:
                channel.send(("failed", str(exc)))
                continue
            state["sid"] = sid
            channel.send(("subscribed", None))
        elif order[0] == "unsub":
            if "sid" in state:
                inbox.unsubscribe(state.pop("sid"))
            try:
                await inbox.flush()  # what the server sent before the UNSUB is in
            except InboxClosed:
                pass
            flush()
            inbox.after_read = None
            channel.send(("unsubscribed", None))
    inbox.close()


def _taker(state: dict[str, Any], read: Reader, flush: Callable[[], None]) -> Callable[[bytes, int, int, float], None]:
    """The inbox callback of one subscription: decode each reply with ``read`` into ``state["batch"]``."""
    texts: dict[str, str] = {}  # one object per distinct message, so a batch pickles each text once

    def take(buf: bytes, start: int, stop: int, now: float) -> None:
        batch = state["batch"]
        try:
            sender, message, _decoded = read(buf, start, stop)
        except ProtocolError:
            batch.invalid += 1
            return
        batch.senders.append(sender)
        batch.arrived.append(now)
        batch.messages.append(texts.setdefault(message, message))
        if len(batch.senders) >= BATCH:
            flush()

    return take


def _receive(channel: Connection) -> Message | None:
    try:
        message: Message = channel.recv()
        return message
    except (EOFError, OSError):
        return None


class CollectorPool:
    """The helper processes of one client; ``async with`` or ``start()``/``close()``."""

    def __init__(self, count: int, server: ServerAddress, options: ConnectOptions, name: str):
        self.count = count
        self.server = server
        self.options = options
        self.name = name
        self.processes: list[tuple[BaseProcess, Connection]] = []
        self.on_batch: Callable[[Batch], None] | None = None
        self.on_failure: Callable[[str], None] | None = None
        self._replies: dict[int, asyncio.Queue[Message]] = {}

    async def start(self) -> None:
        import multiprocessing  # only clients with collectors pay for importing it

        context = multiprocessing.get_context("spawn")  # never fork a process that runs an event loop
        loop = asyncio.get_running_loop()
        for number in range(1, self.count + 1):
            parent, child = context.Pipe()
            process = context.Process(
                target=_collector_main,
                args=(number, self.server, self.options, self.name, child),
                name="choria-emulator-collector",
                daemon=True,
            )
            process.start()
            child.close()
            self.processes.append((process, parent))
            queue: asyncio.Queue[Message] = asyncio.Queue()
            self._replies[parent.fileno()] = queue
            loop.add_reader(parent.fileno(), self._readable, parent)
        for kind, detail in await asyncio.gather(*(self._answer(parent) for _process, parent in self.processes)):
            if kind != "ready":
                self.close()
                raise InboxClosed(detail)

    def _readable(self, parent: Connection) -> None:
        try:
            message: Message = pickle.loads(parent.recv_bytes())
        except (EOFError, OSError):
            message = ("failed", "a reply collector process exited")
            asyncio.get_running_loop().remove_reader(parent.fileno())
        kind = message[0]
        if kind == "batch":
            if self.on_batch is not None:
                self.on_batch(message[1])
        elif kind == "failed" and self.on_failure is not None:
            self.on_failure(message[1])
        if kind != "batch":
            self._replies[parent.fileno()].put_nowait(message)

    async def _answer(self, parent: Connection, timeout: float = 30.0) -> Message:
        try:
            return await asyncio.wait_for(self._replies[parent.fileno()].get(), timeout)
        except asyncio.TimeoutError:
            return ("error", "a reply collector did not answer")

    async def _all(self, order: Message, expect: str) -> None:
        for _process, parent in self.processes:
            parent.send(order)
        for kind, detail in await asyncio.gather(*(self._answer(parent) for _process, parent in self.processes)):
            if kind != expect:
                raise InboxClosed(detail or f"a reply collector answered {kind}")

    async def subscribe(self, subject: str, queue: str, decode: str, requestid: str) -> None:
        await self._all(("sub", subject, queue, decode, requestid), "subscribed")

    async def unsubscribe(self) -> None:
        await self._all(("unsub",), "unsubscribed")

    def _detach(self) -> list[tuple[BaseProcess, Connection]]:
        """Stop reading the pipes and tell every collector to stop (in the event loop's thread)."""
        loop = asyncio.get_running_loop()
        processes, self.processes = self.processes, []
        for _process, parent in processes:
            try:
                loop.remove_reader(parent.fileno())
                parent.send(("stop",))
            except (OSError, ValueError):
                pass
        return processes

    @staticmethod
    def _join(processes: list[tuple[BaseProcess, Connection]]) -> None:
        deadline = time.monotonic() + 5
        for process, parent in processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1)
            parent.close()

    def close(self) -> None:
        self._join(self._detach())

    async def aclose(self) -> None:
        processes = self._detach()
        await asyncio.get_running_loop().run_in_executor(None, self._join, processes)
