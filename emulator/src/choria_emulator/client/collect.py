"""The replies of one request as they arrive: what is read from each, and when to stop waiting.

A request reads from each reply only what its command needs (``RequestSpec.decode``):

* ``"sender"`` (discovery and ping): who answered. The transport's ``mc_sender`` header is found in
  the raw bytes (``"mc_sender":"<identity>"``, about 0.4 µs); a reply without it, or one that is
  not a ``choria:transport:1`` message, is decoded fully like below. The reply subject carries the
  request id, so only replies to this request arrive here.
* ``"full"`` (rpc, measure): the whole v1 reply (transport → secure reply with its SHA-256 hash
  check → reply), whose request id must be ours (about 12 µs).

Collection stops once every target answered, ``expect`` replies are in, the sliding window
closes (300 ms after the last reply, go-choria's dynamic discovery timeout), or the timeout
expires (protocol.md §5).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

from ..protocol import ProtocolError, Request
from ..protocol.messages import IncomingReply, decode_reply
from .spec import RequestSpec

if TYPE_CHECKING:
    from .collectors import Batch

log = logging.getLogger(__name__)
SLIDING_WINDOW = 0.3  # go-choria: finish 300 ms after the last reply

_SENDER = re.compile(rb'"mc_sender":"([^"\\]{1,255})"')
_TRANSPORT = b'"protocol":"choria:transport:1"'

# (sender, message, decoded reply or None) from payload[start:stop]
Read = tuple[str, str, Optional[IncomingReply]]
Reader = Callable[[bytes, int, int], Read]


@dataclass
class ReplyRecord:
    __slots__ = ("sender", "message", "elapsed", "reply")  # dataclass(slots=True) needs Python 3.10
    sender: str
    message: str  # the reply's message ("" when the request read only senders)
    elapsed: float  # seconds since the first publish
    reply: IncomingReply | None  # the decoded reply, for ``on_reply`` (outcomes do not keep it: None there)


@dataclass
class RequestOutcome:
    """What came back, one entry per reply in arrival order (duplicates included)."""

    requestid: str
    agent: str
    collective: str
    targets: list[str] | None
    senders: list[str] = field(default_factory=list)
    elapsed: list[float] = field(default_factory=list)  # seconds since the first publish
    messages: list[str] = field(default_factory=list)  # "" where only the sender was read
    publish_duration: float = 0.0
    request_duration: float = 0.0
    invalid: int = 0
    by_collectors: int = 0  # replies read by collector processes (client/collectors.py)
    backlog: int = 0  # the most reply bytes seen waiting unread in the client's socket: it fell behind

    @property
    def replies(self) -> list[ReplyRecord]:
        return [ReplyRecord(s, m, e, None) for s, m, e in zip(self.senders, self.messages, self.elapsed)]

    @property
    def unexpected(self) -> list[str]:
        if self.targets is None:
            return []
        wanted = set(self.targets)
        return [s for s in self.senders if s not in wanted]

    @property
    def missing(self) -> list[str]:
        if self.targets is None:
            return []
        got = set(self.senders)
        return [t for t in self.targets if t not in got]


def full_reader(requestid: str) -> Reader:
    def read(buf: bytes, start: int, stop: int) -> Read:
        incoming = decode_reply(buf[start:stop] if start or stop != len(buf) else buf)
        if incoming.reply.requestid != requestid:
            raise ProtocolError(f"reply to another request {incoming.reply.requestid!r}")
        return incoming.sender, incoming.reply.message, incoming

    return read


def sender_reader(requestid: str) -> Reader:
    full = full_reader(requestid)
    search = _SENDER.search

    def read(buf: bytes, start: int, stop: int) -> Read:
        found = search(buf, start, stop)
        if found is not None and buf.find(_TRANSPORT, start, stop) >= 0:
            try:
                return found.group(1).decode(), "", None
            except UnicodeDecodeError:
                pass
        return full(buf, start, stop)

    return read


READERS = {"full": full_reader, "sender": sender_reader}


class Collection:
    """Takes a request's replies (``take`` is the inbox handler) and says when to stop waiting."""

    def __init__(self, spec: RequestSpec, request: Request, on_reply: Callable[[ReplyRecord], None] | None):
        self.spec = spec
        self.read = READERS[spec.decode](request.requestid)
        self.on_reply = on_reply
        targets = list(spec.targets) if spec.targets is not None else None
        self.outcome = RequestOutcome(request.requestid, spec.agent, request.collective, targets)
        self.pending = set(targets) if targets is not None else None
        self.expect = spec.expect
        self.sliding = spec.sliding_window
        self.done = asyncio.Event()
        self.wake = asyncio.Event()  # the waiter re-checks when set: on done, and on every reply with a sliding window
        self.last_reply = 0.0
        self.failure: str | None = None
        self.loop = asyncio.get_running_loop()
        self.start = self.loop.time()
        self.start_monotonic = time.monotonic()  # the clock of reply collector processes
        if self.pending is not None and not self.pending:
            self.done.set()

    def begin(self) -> None:
        """The first publish is about to go out: elapsed times count from here."""
        self.start = self.loop.time()
        self.start_monotonic = time.monotonic()

    def take(self, buf: bytes, start: int, stop: int, now: float) -> None:
        """One reply's bytes, ``buf[start:stop]``, arrived at ``now`` (loop time)."""
        outcome = self.outcome
        try:
            sender, message, incoming = self.read(buf, start, stop)
        except ProtocolError as exc:
            outcome.invalid += 1
            log.debug("dropping invalid reply: %s", exc)
            return
        elapsed = now - self.start
        outcome.senders.append(sender)
        outcome.elapsed.append(elapsed)
        outcome.messages.append(message)
        self.last_reply = now
        if self.on_reply is not None:
            self.on_reply(ReplyRecord(sender, message, elapsed, incoming))
        pending = self.pending
        if pending is not None:
            pending.discard(sender)
            if not pending:
                self.done.set()
        if self.expect is not None and len(outcome.senders) >= self.expect:
            self.done.set()
        if self.sliding or self.done.is_set():
            self.wake.set()

    def take_batch(self, batch: Batch) -> None:
        """Replies a collector process read, counted like our own."""
        outcome = self.outcome
        outcome.invalid += batch.invalid
        if not batch.senders:
            return
        base = self.start_monotonic
        elapsed = [t - base for t in batch.arrived]
        outcome.by_collectors += len(elapsed)
        outcome.senders.extend(batch.senders)
        outcome.elapsed.extend(elapsed)
        outcome.messages.extend(batch.messages)
        self.last_reply = self.loop.time()
        if self.on_reply is not None:
            for sender, message, seconds in zip(batch.senders, batch.messages, elapsed):
                self.on_reply(ReplyRecord(sender, message, seconds, None))
        pending = self.pending
        if pending is not None:
            pending.difference_update(batch.senders)
            if not pending:
                self.done.set()
        if self.expect is not None and len(outcome.senders) >= self.expect:
            self.done.set()
        if self.sliding or self.done.is_set():
            self.wake.set()

    def fail(self, reason: str) -> None:
        """The reply connection ended: stop waiting, the request reports ``reason``."""
        self.failure = reason
        self.done.set()
        self.wake.set()

    async def wait(self) -> None:
        """Until done, the timeout, or (sliding window) SLIDING_WINDOW s after the last reply."""
        deadline = self.start + self.spec.timeout
        while not self.done.is_set():
            now = self.loop.time()
            remaining = deadline - now
            if self.sliding and self.last_reply:
                remaining = min(remaining, self.last_reply + SLIDING_WINDOW - now)
            if remaining <= 0:
                return
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), remaining)
            except asyncio.TimeoutError:
                continue  # recompute: the window or the deadline may have passed
