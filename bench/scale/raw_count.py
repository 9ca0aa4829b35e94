#!/usr/bin/env python3
"""The broker's delivery limit as one connection sees it: time a broadcast discovery ping until N MSG frames arrived.

usage: raw_count.py NATS_URL N [--rounds 3] [--timeout 30] [--collective mcollective]

One blocking socket, no NATS library and no decoding: subscribe to the round's reply subject, wait
for the PONG, publish the same Go-dialect discovery request as ping_all.py, then only walk the
``MSG`` frames (their length prefix) and count them. A client that decodes replies cannot be
faster than this; issue 16 asks the project's ``ping`` to stay within 1.3 × of it. Prints one JSON
line: rounds of (seconds, frames), the median, and the counter's own CPU seconds.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import socket
import statistics
import time
import uuid
from urllib.parse import urlsplit


def request(collective: str, reply_to: str, rid: str) -> bytes:
    req = {
        "protocol": "choria:request:1",
        "message": "cGluZw==",
        "envelope": {
            "requestid": rid,
            "senderid": "raw_count",
            "callerid": "choria=raw.mcollective",
            "collective": collective,
            "agent": "discovery",
            "ttl": 60,
            "time": int(time.time()),
            "filter": {"fact": [], "cf_class": [], "agent": [], "identity": [], "compound": []},
        },
    }
    sec = {
        "protocol": "choria:secure:request:1",
        "message": json.dumps(req, separators=(",", ":")),
        "signature": "insecure",
        "pubcert": "insecure",
    }
    tr = {
        "protocol": "choria:transport:1",
        "data": base64.b64encode(json.dumps(sec, separators=(",", ":")).encode()).decode(),
        "headers": {"reply-to": reply_to, "mc_sender": "raw_count"},
    }
    return json.dumps(tr, separators=(",", ":")).encode()


class Wire:
    def __init__(self, url: str):
        parts = urlsplit(url if "://" in url else f"nats://{url}")
        self.sock = socket.create_connection((parts.hostname, parts.port or 4222))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        self.buf = bytearray(16 * 1024 * 1024)
        self.view = memoryview(self.buf)
        self.fill = 0
        self._line()  # INFO
        self.sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,"name":"raw_count","protocol":1}\r\n')

    def _recv(self) -> None:
        if self.fill == len(self.buf):
            raise RuntimeError("a frame larger than the buffer")
        n = self.sock.recv_into(self.view[self.fill :])
        if not n:
            raise ConnectionError("the broker closed the connection")
        self.fill += n

    def _line(self) -> bytes:
        while True:
            end = self.buf.find(b"\r\n", 0, self.fill)
            if end >= 0:
                line = bytes(self.buf[:end])
                self._consume(end + 2)
                return line
            self._recv()

    def _consume(self, used: int) -> None:
        self.buf[: self.fill - used] = self.buf[used : self.fill]
        self.fill -= used

    def pong(self) -> None:
        self.sock.sendall(b"PING\r\n")
        while True:
            line = self._line()
            if line == b"PONG":
                return
            if line == b"PING":
                self.sock.sendall(b"PONG\r\n")

    def count(self, n: int, deadline: float) -> int:
        """Walk MSG frames until ``n`` or the deadline; PING is answered, anything else skipped."""
        frames, buf, pos = 0, self.buf, 0
        self.sock.settimeout(0.2)
        while frames < n and time.perf_counter() < deadline:
            end = buf.find(b"\r\n", pos, self.fill)
            if end < 0:
                self._consume(pos)
                pos = 0
                try:
                    self._recv()
                except TimeoutError:
                    pass
                continue
            if buf.startswith(b"MSG ", pos):
                stop = end + 2 + int(buf[buf.rfind(b" ", pos, end) + 1 : end])
                if stop + 2 > self.fill:
                    self._consume(pos)
                    pos = 0
                    try:
                        self._recv()
                    except TimeoutError:
                        pass
                    continue
                frames += 1
                pos = stop + 2
            else:
                if buf.startswith(b"PING", pos):
                    self.sock.sendall(b"PONG\r\n")
                pos = end + 2
        self._consume(pos)
        self.sock.settimeout(None)
        return frames


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("n", type=int)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--collective", default="mcollective")
    a = ap.parse_args()
    wire = Wire(a.url)
    md5 = hashlib.md5(b"choria=raw.mcollective").hexdigest()
    rounds = []
    cpu0 = time.process_time()
    for number in range(a.rounds):
        rid = uuid.uuid4().hex
        subject = f"{a.collective}.reply.{md5}.{rid}"
        wire.sock.sendall(f"SUB {subject} {number + 1}\r\n".encode())
        wire.pong()
        payload = request(a.collective, subject, rid)
        t0 = time.perf_counter()
        wire.sock.sendall(
            b"PUB %s.broadcast.agent.discovery %d\r\n%s\r\n" % (a.collective.encode(), len(payload), payload)
        )
        frames = wire.count(a.n, t0 + a.timeout)
        rounds.append((round(time.perf_counter() - t0, 3), frames))
        wire.sock.sendall(f"UNSUB {number + 1}\r\n".encode())
        time.sleep(0.5)
        wire.pong()
        wire.fill = 0  # late frames of this round
    ok = [s for s, c in rounds if c >= a.n]
    print(
        json.dumps(
            {
                "n": a.n,
                "rounds": rounds,
                "median_s": statistics.median(ok) if ok else None,
                "all_complete": len(ok) == len(rounds),
                "cpu_s": round(time.process_time() - cpu0, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
