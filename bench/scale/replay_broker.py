#!/usr/bin/env python3
"""A stand-in NATS server that answers a discovery broadcast with N ready-made replies at once.

usage: replay_broker.py N [--port 0]

Prints one JSON line when it listens: its port, the replies and their bytes.

Issue 16 asks whether the project's client, not the broker, limits a 1,000,000-node ping. On a
machine too small to run a million emulated nodes (or one broker cluster that can deliver their
replies fast enough) this isolates the client: it speaks just enough of the NATS client protocol for
nats-py and the client's inbox (INFO, CONNECT, PING/PONG, SUB with queue groups, UNSUB, PUB, HPUB),
and when a request is published while a reply subject (``<collective>.reply.<hash>.<id>``) is
subscribed, it writes N reply frames to that subscription's connections (dealt out in turn among
the members of a queue group, as nats-server does), as fast as the sockets take them.

The replies are real reply transports (``daemon/replies.ReplyTemplate``, what emulated nodes send)
from ``node-0`` ... ``node-N-1``, made once at start. Their request id is a fixed one: ``ping`` and
``discover`` read only the sender of a reply (the reply subject carries the request id), so they
take these replies exactly as they take real ones; ``rpc`` would refuse them (full decode checks
the id), so only discovery is replayed. Not a broker: no routing beyond this, no other subjects.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from choria_emulator.daemon.replies import ReplyTemplate, go_string, sender_headers

CHUNK = 4096  # frames joined into one write


def make_payloads(n: int) -> list[bytes]:
    """N discovery replies (``pong``), one per identity, as emulated nodes encode them."""
    template = ReplyTemplate("pong", "0" * 32, "discovery")
    now = int(time.time())
    return [template.encode(go_string(f"node-{i}"), sender_headers(f"node-{i}", None), now) for i in range(n)]


class Subscription:
    __slots__ = ("conn", "sid", "subject", "queue")

    def __init__(self, conn: Client, sid: bytes, subject: bytes, queue: bytes | None):
        self.conn, self.sid, self.subject, self.queue = conn, sid, subject, queue


class Replay:
    """What every connection shares: the payloads and the live subscriptions."""

    def __init__(self, payloads: list[bytes]):
        self.payloads = payloads
        self.subs: dict[tuple[int, bytes], Subscription] = {}

    def reply_groups(self) -> list[list[Subscription]]:
        """The subscribers of reply subjects, grouped as the server would deal to them."""
        groups: dict[tuple[bytes, bytes | None, int], list[Subscription]] = {}
        for sub in self.subs.values():
            if b".reply." in sub.subject:
                key = (sub.subject, sub.queue, 0 if sub.queue else id(sub))
                groups.setdefault(key, []).append(sub)
        return list(groups.values())

    def blast(self) -> None:
        """Deal every payload to each reply subject: in turn among a queue group's members."""
        for members in self.reply_groups():
            heads = [b"MSG %s %s " % (m.subject, m.sid) for m in members]
            for start in range(0, len(self.payloads), CHUNK):
                turn = (start // CHUNK) % len(members)
                head = heads[turn]
                frames = b"".join(b"%s%d\r\n%s\r\n" % (head, len(p), p) for p in self.payloads[start : start + CHUNK])
                members[turn].conn.transport.write(frames)


class Client(asyncio.Protocol):
    """One client connection: line protocol in, PONGs and reply frames out."""

    def __init__(self, replay: Replay, port: int):
        self.replay, self.port = replay, port
        self.buffer = bytearray()
        self.transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        info = {
            "server_id": "REPLAY",
            "server_name": "replay",
            "version": "2.10.0",
            "proto": 1,
            "go": "none",
            "host": "127.0.0.1",
            "port": self.port,
            "headers": True,
            "max_payload": 1048576,
            "client_id": id(self) & 0xFFFF,
        }
        transport.write(b"INFO " + json.dumps(info).encode() + b"\r\n")

    def connection_lost(self, exc: Exception | None) -> None:
        for key in [key for key in self.replay.subs if key[0] == id(self)]:
            del self.replay.subs[key]

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        while True:
            end = buf.find(b"\r\n")
            if end < 0:
                return
            words = bytes(buf[:end]).split()
            op = words[0].upper() if words else b""
            if op in (b"PUB", b"HPUB"):
                size = int(words[-1])
                if len(buf) < end + 2 + size + 2:
                    return  # the payload is not all here yet
                del buf[: end + 2 + size + 2]
                if b".reply." not in words[1]:
                    self.replay.blast()
                continue
            del buf[: end + 2]
            if op == b"PING":
                self.transport.write(b"PONG\r\n")
            elif op == b"SUB":
                queue = words[2] if len(words) == 4 else None
                self.replay.subs[(id(self), words[-1])] = Subscription(self, words[-1], words[1], queue)
            elif op == b"UNSUB":
                self.replay.subs.pop((id(self), words[1]), None)


async def serve(n: int, port: int) -> None:
    started = time.monotonic()
    replay = Replay(make_payloads(n))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Client(replay, bound), "127.0.0.1", port)
    bound = server.sockets[0].getsockname()[1]
    size = sum(len(p) for p in replay.payloads)
    print(
        json.dumps({"port": bound, "replies": n, "bytes": size, "ready_s": round(time.monotonic() - started, 2)}),
        flush=True,
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.n, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
