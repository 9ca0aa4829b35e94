"""Malformed Choria messages of mixed kinds, for the flood benchmark and its functional test (issue 12).

Every message is distinct (a random salt in each), so nothing is answered from a cache of
earlier messages; within one message, every instance that receives it sees the same bytes, as
it would from a real broker. Kinds, from cheap to expensive to reject:

  random bytes, JSON that is not an object, a transport with bad base64, a transport whose data
  is not JSON, a secure layer with wrong types, a request missing a field, a request with a
  reply-to that is not a subject (CR/LF injection), a valid request cut short, deeply nested
  JSON, and a big base64 blob of garbage.

Sizes are drawn per kind (most below 2 KB, a few up to ``max_size``).
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Iterator

KINDS = (
    "random-bytes",
    "not-an-object",
    "bad-base64",
    "data-not-json",
    "secure-wrong-types",
    "request-missing-field",
    "reply-to-injection",
    "truncated-request",
    "deep-nesting",
    "big-garbage",
)


def _b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def _transport(data: object, headers: dict[str, object] | None = None) -> bytes:
    return json.dumps(
        {"protocol": "choria:transport:1", "data": data, "headers": headers or {"mc_sender": "flood"}}
    ).encode()


def _request(salt: str, **overrides: object) -> str:
    envelope: dict[str, object] = {
        "requestid": salt[:32].ljust(32, "0"),
        "senderid": "flood",
        "callerid": "choria=flood.mcollective",
        "collective": "mcollective",
        "agent": "discovery",
        "ttl": 60,
        "time": int(time.time()),
        "filter": {"fact": [], "cf_class": [], "agent": [], "identity": [], "compound": []},
    }
    for key, value in overrides.items():
        if value is None:
            envelope.pop(key, None)
        else:
            envelope[key] = value
    return json.dumps({"protocol": "choria:request:1", "message": "cGluZw==", "envelope": envelope})


def _secure(message: object, signature: object = "insecure", pubcert: object = "insecure") -> str:
    return json.dumps(
        {"protocol": "choria:secure:request:1", "message": message, "signature": signature, "pubcert": pubcert}
    )


def message(kind: str, rng: random.Random, max_size: int = 64 * 1024) -> bytes:
    """One malformed message of ``kind``."""
    salt = rng.getrandbits(128).to_bytes(16, "big").hex()
    if kind == "random-bytes":
        return salt.encode() + rng.randbytes(rng.choice([16, 64, 256, 1024, 4096]))
    if kind == "not-an-object":
        return json.dumps(rng.choice([[salt], salt, [salt, 1, None], 12])).encode()
    if kind == "bad-base64":
        return _transport("!!" + salt + "!!")
    if kind == "data-not-json":
        return _transport(_b64(salt + " not json " * rng.randint(1, 50)))
    if kind == "secure-wrong-types":
        return _transport(_b64(_secure(rng.choice([None, 5, [salt], {"x": salt}]))))
    if kind == "request-missing-field":
        field = rng.choice(["requestid", "senderid", "callerid", "collective", "agent", "ttl", "time", "filter"])
        return _transport(_b64(_secure(_request(salt, **{field: None}))))
    if kind == "reply-to-injection":
        reply_to = f"flood.{salt} 0\r\n\r\nPUB flood.injected 5\r\nhello\r\nPUB flood.tail"
        return _transport(_b64(_secure(_request(salt))), {"mc_sender": "flood", "reply-to": reply_to})
    if kind == "truncated-request":
        whole = _transport(_b64(_secure(_request(salt))), {"mc_sender": "flood", "reply-to": f"flood.{salt}"})
        return whole[: rng.randrange(16, len(whole) - 1)]
    if kind == "deep-nesting":
        depth = rng.choice([100, 1000, 5000])
        return (salt + "[" * depth + "]" * depth).encode()
    if kind == "big-garbage":
        size = rng.choice([8 * 1024, 32 * 1024, max_size])
        return _transport(_b64(salt.encode() + rng.randbytes(size * 3 // 4 - 400)))
    raise ValueError(f"unknown kind {kind}")


def flood(
    count: int, nodes: list[str], seed: int = 12, broadcast_share: float = 0.2, max_size: int = 64 * 1024
) -> Iterator[tuple[str, bytes, str]]:
    """``count`` (subject, payload, kind): ``broadcast_share`` of them to a broadcast subject (every
    node gets them), the rest to one node each; the kinds in turn, so each is 1/10 of the flood."""
    rng = random.Random(seed)
    broadcast = [f"mcollective.broadcast.agent.{a}" for a in ("discovery", "rpcutil", "emulated0")]
    for number in range(count):
        kind = KINDS[number % len(KINDS)]
        if rng.random() < broadcast_share:
            subject = rng.choice(broadcast)
        else:
            subject = f"mcollective.node.{rng.choice(nodes)}"
        yield subject, message(kind, rng, max_size), kind
